"""The ``mathscale`` grader: (completion, reference, expected) tables, known traps first."""

from __future__ import annotations

import pytest

from mathscale.eval.grader import GradeItem, grade, grade_all

TRAPS = [
    (r"So the probability is $\boxed{1-\frac{1}{e}}$.", r"1+\frac{1}{e}", False),
    (r"Thus $\boxed{2x+1}$.", "x+1", False),
    (r"Thus $\boxed{x^2+1}$.", "1+x^2", True),
    (r"The solutions are $\boxed{\{1,2\}}$.", r"\{2,1\}", True),
    (r"The domain is $\boxed{[-2,3)}$.", "[-2,3]", False),
    ("The answer is 7 and 8.", "8", False),
    (r"\boxed{10001}", "10000", False),  # integers are exact: no tolerance
    (r"\boxed{2\pi}", r"\pi", False),
    (r"\boxed{\frac{1}{3}}", r"\frac{1}{4}", False),
    (r"\boxed{(1,2)}", "[1,2]", False),
    (r"\boxed{(1,2)}", "(2,1)", False),  # tuples are ordered
    (r"\boxed{-5}", "5", False),
    (r"\boxed{seven}", "neves", False),  # words are not products of letters
    ("The answer is 0. 68.", "0. 98.", False),  # two numbers side by side are not a product
]

EXTRACTION = [
    (r"First $\boxed{3}$, then finally $\boxed{\frac{5}{2}}$.", r"\frac52", True),
    (r"nested $\boxed{\frac{\sqrt{3}}{2}}$", r"\frac{\sqrt3}{2}", True),
    (r"\fbox{42}", "42", True),
    (r"so \boxed 7.", "7", True),
    ("Natalia sold 48/2 = 24 clips in May.\n#### 72", "72", True),
    ("The answer is 18.", "18", True),
    ("Therefore, the final answer is: $\\frac{1}{2}$. I hope it is correct.", "0.5", True),
    ("She makes 9 * 2 = $18 every day.", "18", True),
    ("The final answer is **42**.", "42", True),
    ("**Final Answer:** $\\frac{1}{2}$", "0.5", True),
    ("The answer is: $\\boxed{5}$", "5", True),
    ("The correct answer is: (B) 10", "B", True),
    ("Answer: C", "C", True),
    ("no numbers here", "5", False),
    ("", "5", False),
]

NORMALISATION = [
    (r"\boxed{\left(\dfrac{1}{2}\right)}", r"\frac{1}{2}", True),
    (r"\boxed{\tfrac{3}{4}}", "0.75", True),
    (r"\boxed{90^\circ}", "90", True),
    (r"\boxed{90^{\circ}}", "90", True),
    (r"\boxed{50\%}", "0.5", True),
    (r"\boxed{0.5}", r"50\%", True),
    (r"\boxed{25\%}", "25", True),
    (r"\boxed{\$18.00}", "18", True),
    (r"\boxed{1{,}000}", "1000", True),
    ("#### 1,234,567", "1234567", True),
    (r"\boxed{12\text{ cm}}", "12", True),
    (r"\boxed{12 \text{ cm}^2}", "12", True),
    ("The answer is 18 dollars.", "18", True),
    (r"\boxed{x = 5}", "5", True),
    (r"\boxed{f(x) = 2x+3}", "3+2x", True),
    (r"\boxed{\text{Evelyn}}", "Evelyn", True),
    (r"\boxed{\text{(C)}}", r"\text{(C)}", True),
    (r"\boxed{\!1\,000}", "1000", True),
    (r"\boxed{Yes}", "yes", True),
    (r"\boxed{\mathrm{i} + 1}", r"$1+\mathrm{i}$", True),  # \mathrm{i} here is no unit
    (r"\boxed{-8 \mathrm{i}}", "-8", False),
    (r"\boxed{充分不必要}", "必要不充分", False),
]

NUMBERS = [
    (r"\boxed{0.33333}", r"\frac{1}{3}", True),
    (r"\boxed{0.3333}", r"\frac{1}{3}", True),
    (r"\boxed{0.33}", r"\frac{1}{3}", False),
    (r"\boxed{3.14159}", r"\pi", True),
    (r"\boxed{3.14}", r"\pi", False),
    (r"\boxed{0.7071}", r"\frac{\sqrt{2}}{2}", True),
    (r"\boxed{\frac{6}{8}}", r"\frac34", True),
    (r"\boxed{3/4}", "0.75", True),
    (r"\boxed{-\frac{1}{2}}", "-0.5", True),
    (r"\boxed{2.0}", "2", True),
    (r"\boxed{1e}", "e", True),  # 1 times e
    (r"\boxed{2e}", "e", False),
    (r"\boxed{12345.6}", "12345.7", False),  # two decimals to the same place must agree
    (r"\boxed{12345.65}", "12345.7", True),  # one rounds to the other
    (r"\boxed{3.14}", "3.14159", True),
    (r"\boxed{1.475773165}", "1.475773162", False),
    (r"\boxed{0.3333}", r"\frac{1}{3}", True),  # relative tolerance 1e-4 against an exact value
    (r"\boxed{1 + 5051 / 2^{100}}", "1 - 5051 / 2^{100}", False),  # exact fractions, not floats
    (r"t = \frac{\ln 2}{0.8} = 10 \ln 2", r"t = \frac{\ln 2}{0.1} = 10 \ln 2", False),  # chains side by side
    (r"\boxed{x = 2+3 = 5}", r"x = 1+4 = 5", True),
    (r"\boxed{0.05}", "0.1", False),  # half a unit off is not a rounding
    (r"\boxed{15\mbox{ cm}^3}", r"15\mbox{ cm}^2", False),  # the same unit to another power
    (r"\boxed{15\mbox{ cm}^2}", r"15\mbox{ cm}^2", True),
    (r"\boxed{15}", r"15\mbox{ cm}^2", True),
    ("The answer is 864 \\mbox{ inches}^3.", r"864 \mbox{ inches}^2", False),
    (r"\boxed{1, \pm 2}", "1, 2, -2", True),  # a list item with a sign of two values is two elements
    (r"\boxed{1, \{2, 3\}}", "1, 2, 3", False),  # a nested set is one element
    (r"\boxed{1,25}", r"\frac54", True),  # a decimal comma against one number however written
    ("The answer is No solution : $\\oslash$.", r"No solution : $\oslash$", True),  # a reference in prose, stated
    (r"\boxed{2^{10}}", "1024", True),
    (r"\boxed{5!}", "120", True),
    (r"\boxed{\binom{5}{2}}", "10", True),
]

SYMBOLIC = [
    (r"\boxed{(x+1)^2}", "x^2+2x+1", True),
    (r"\boxed{\frac{\sqrt{2}}{2}}", r"\frac{1}{\sqrt{2}}", True),
    (r"\boxed{2\sqrt{2}}", r"\sqrt{8}", True),
    (r"\boxed{\sin^2 x + \cos^2 x}", "1", True),
    (r"\boxed{\pi r^2}", r"r^2\pi", True),
    (r"\boxed{10-4n}", "$10-4 n$", True),
    (r"\boxed{\log_2 8}", "3", True),
    (r"\boxed{e^{i\pi}}", "-1", True),
    (r"\boxed{x^2 - 1}", "(x-1)(x+1)", True),
    (r"\boxed{x^2 + 1}", "(x-1)(x+1)", False),
    (r"\boxed{2x - y = 3}", "y = 2x - 3", True),
    (r"\boxed{2x - y = 4}", "y = 2x - 3", False),
    (r"\boxed{w_6 = 1}", "w_0 = 1", False),  # both are equations: names count
    (r"\boxed{y = 1 + 2x}", "y=2x+1", True),
]

STRUCTURES = [
    (r"\boxed{\{2, 1\}}", r"\{1,2\}", True),
    (r"\boxed{1, 2}", r"2,1", True),
    (r"\boxed{x=1 \text{ or } x=2}", "1, 2", True),
    (r"\boxed{\{1,2,3\}}", r"\{1,2\}", False),
    (r"\boxed{\left( 3, \frac{\pi}{2} \right)}", r"(3,\frac{\pi}{2})", True),
    (r"\boxed{(3, \pi/2)}", r"\left( 3, \frac{\pi}{2} \right)", True),
    (r"\boxed{(\frac{\pi}{2}, 3)}", r"\left( 3, \frac{\pi}{2} \right)", False),
    (r"\boxed{[-2,3)}", "[-2,3)", True),
    (r"\boxed{(-2,3]}", "[-2,3)", False),
    (r"\boxed{(-\infty, 1) \cup (2, \infty)}", r"(-\infty,1)\cup(2,\infty)", True),
    (r"\boxed{(2, \infty) \cup (-\infty, 1)}", r"(-\infty,1)\cup(2,\infty)", True),
    (r"\boxed{(-\infty, 1] \cup (2, \infty)}", r"(-\infty,1)\cup(2,\infty)", False),
    (r"\boxed{\begin{pmatrix} 1 \\ 2 \end{pmatrix}}", r"\begin{pmatrix} 1 \\ 2 \end{pmatrix}", True),
    (r"\boxed{\begin{pmatrix} 2 \\ 1 \end{pmatrix}}", r"\begin{pmatrix} 1 \\ 2 \end{pmatrix}", False),
    (r"\boxed{x \le 3}", r"x\leq 3", True),
    (r"\boxed{x < 3}", r"x\leq 3", False),
]

CHOICES = [
    ("The answer is (C).", "C", None, True),
    ("Thus the answer is C.", "C", None, True),
    ("So the correct choice is option C", "C", None, True),
    ("We try (A) first, but it fails.", "A", None, True),  # a named letter near the end counts
    ("Therefore option C is correct", "C", None, True),
    (r"$\boxed{D}$", "D", None, True),
    (r"$\boxed{\text{(B)}}$", "B", None, True),
    ("The answer is B) 4.", "B", None, True),
    ("Since x - 1 = 9, x = 10. The answer is 10.", "D", {"A": "2", "B": "4", "C": "9", "D": "10"}, True),
    ("The answer is 9.", "D", {"A": "2", "B": "4", "C": "9", "D": "10"}, False),
    ("The answer is (A).", "D", None, False),
    # found by bench/bench_grader.py on the real sets:
    ("The answer is $a$.", "B", {"A": r"$\frac{a}{4}$", "B": "$a$", "C": "$4 a$"}, True),  # "a" is not choice A
    ("The answer is 充分不必要.", "A", {"A": "充分不必要", "B": "必要不充分"}, True),  # CJK is not a product of variables
    ("The answer is -8.", "A", {"A": "-8", "B": "8", "C": r"$-8 \mathrm{i}$"}, True),
    ("The answer is r, t, s.", "B", {"A": "r, s, t", "B": "r, t, s", "C": "s, t, r"}, True),  # exact text first
]


@pytest.mark.parametrize("completion,reference,expected", TRAPS + EXTRACTION + NORMALISATION + NUMBERS + SYMBOLIC + STRUCTURES)
def test_mathscale_grader(completion: str, reference: str, expected: bool) -> None:
    assert grade(completion, reference).correct is expected


@pytest.mark.parametrize("completion,reference,options,expected", CHOICES)
def test_multiple_choice(completion: str, reference: str, options: dict | None, expected: bool) -> None:
    assert grade(completion, reference, options=options).correct is expected


def test_grade_all_agrees_with_grade_and_routes_sympy_to_workers() -> None:
    table = TRAPS + NUMBERS + SYMBOLIC + STRUCTURES
    report = grade_all([GradeItem(c, r) for c, r, _ in table], workers=1, timeout=20)
    assert [v.correct for v in report.verdicts] == [e for _, _, e in table]
    assert report.timeouts == 0


def test_unknown_mode_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown grader mode"):
        grade("1", "1", mode="strict")
