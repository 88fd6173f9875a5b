"""Grader cases by kind: (completion, reference, expected[, options]).

Written for this project from the solutions of the seed sets (MATH, GSM8K and CollegeMath
train), rewritten the ways models write their answers: prose without a box, several boxes,
relations, a reference that names the answer, sets and intervals, number formats, doubled
backslashes, and the forms the ``mathscale`` grader always read (choice letters, "####",
MWPBench units). Only short math answers are taken from the data; every sentence is ours.
Each kind has wrong answers too, close to the right one, so that a grader cannot pass by
saying yes. ``tests/eval/test_grader_forms.py`` checks every row; ``bench/bench_grader.py``
reports agreement per kind for our grader, math-verify and the official check.
"""

from __future__ import annotations

from typing import NamedTuple


class Case(NamedTuple):
    completion: str
    reference: str
    expected: bool
    options: dict[str, str] | None = None


def cases(*rows: tuple) -> list[Case]:
    return [Case(*row) for row in rows]


# The stated answer is prose: a reader takes the answer the sentence states, not its last number.
PROSE = cases(
    ("Since $7^4 = 2401 \\equiv 1 \\pmod{100}$, we need $7^{2010} = (7^4)^{502} \\cdot 7^2$.\nFinal Answer: The remainder is 49.", "49", True),
    ("Since $7^4 = 2401 \\equiv 1 \\pmod{100}$, we need $7^{2010} = (7^4)^{502} \\cdot 7^2$.\nFinal Answer: The remainder is 43.", "49", False),
    ("Each bush gives 8 containers and 5 containers buy 2 zucchinis, so 48 zucchinis need 120 containers.\nFinal Answer: Natalie must pick 15 bushes.", "15", True),
    ("Each bush gives 8 containers and 5 containers buy 2 zucchinis.\nFinal Answer: Natalie must pick 16 bushes.", "15", False),
    ("Solving $5 - 4x > 17$ gives $x < -3$.\nTherefore $x = -4$ is the largest integer that works.", "-4", True),
    ("Solving $5 - 4x > 17$ gives $x < -3$, so the largest integer value is $-3$.", "-4", False),
    ("Dividing both sides by $-4$ flips the sign. Therefore $x < -3$ is the solution set.", "(-\\infty, -3)", True),
    ("Dividing both sides by $-4$ flips the sign. Therefore $x > -3$ is the solution set.", "(-\\infty, -3)", False),
    ("There are 36 outcomes and 15 of them have a sum under 6. The probability is $\\frac{15}{36}$, which simplifies to $\\frac{5}{12}$.", "\\frac{5}{12}", True),
    ("There are 36 outcomes and 15 of them have a sum under 6. The probability is $\\frac{15}{36}$, which simplifies to $\\frac{5}{11}$.", "\\frac{5}{12}", False),
    ("The answer is $\\frac{5}{12}$, since 15 of the 36 outcomes work.", "\\frac{5}{12}", True),
    ("The answer is 24, since 6 of the 30 arrangements repeat.", "6", False),
    ("The answer is 24, since 6 of the 30 arrangements repeat.", "24", True),
    ("Expanding, $(723)(723) - (722)(724) = 723^2 - (723^2 - 1)$.\nFinal Answer: The final answer is $1$. I hope it is correct.", "1", True),
    ("Expanding, $(723)(723) - (722)(724) = 723^2 - (723^2 - 1)$.\nFinal Answer: The final answer is $-1$. I hope it is correct.", "1", False),
    ("We have $(2008 + x)^2 = x^2$, so $2008 + x = -x$. So the value of $x$ is $-1004$, and checking: $(2008-1004)^2 = 1004^2$.", "-1004", True),
    ("We have $(2008 + x)^2 = x^2$, so $2008 + x = -x$. So the value of $x$ is $-1004$, and checking: $(2008-1004)^2 = 1004^2$.", "2", False),
    ("The volume of the frustum is $\\frac{1}{3}\\pi h (R^2 + Rr + r^2)$ with $h = 6$.\n**Answer:** $224\\pi$ cubic centimeters", "224\\pi", True),
    ("The volume of the frustum is $\\frac{1}{3}\\pi h (R^2 + Rr + r^2)$ with $h = 6$.\n**Answer:** $228\\pi$ cubic centimeters", "224\\pi", False),
    ("The largest multiple of 9 below 1000 with digit sum 18 is found by trying 999, 990, ...\nThus the number we want is 990.", "990", True),
    ("Trying 999 first, its digit sum is 27, too big. So we get 3 cases of 4 each, giving 12 in total.", "12", True),
    ("Trying 999 first, its digit sum is 27, too big. So we get 3 cases of 4 each, giving 12 in total.", "4", False),
    ("The home runs are 6, 6, 7, 7, 7, 8 and 8 across the hitters. Thus the mean is 7 home runs per hitter.", "7", True),
    ("The home runs are 6, 6, 7, 7, 7, 8 and 8 across the hitters. Thus the mean is 8 home runs per hitter.", "7", False),
    ("The smallest solution of the equation comes from the quadratic formula.\nFinal Answer: The smallest $x$ is $3 - \\sqrt{3}$.", "3 - \\sqrt3", True),
    ("The smallest solution of the equation comes from the quadratic formula.\nFinal Answer: The smallest $x$ is $3 + \\sqrt{3}$.", "3 - \\sqrt3", False),
    ("Weng earns 12/60 = 0.2 dollars per minute, and 0.2 * 50 = 10.\nThe answer is: 10", "10", True),
    ("Weng earns 12/60 = 0.2 dollars per minute, and 0.2 * 50 = 10.\nThe answer is: 12", "10", False),
    ("The roots of $x^2 + x - 2$ are $1$ and $-2$.", "1, -2", True),
    ("The roots of $x^2 + x - 2$ are $1$ and $2$.", "1, -2", False),
    ("Completing the square gives the centre.\nTherefore, the centre of the hyperbola is $\\left(\\frac43, 1\\right)$.", "\\left(\\frac43, 1\\right)", True),
    ("Completing the square gives the centre.\nTherefore, the centre of the hyperbola is $\\left(1, \\frac43\\right)$.", "\\left(\\frac43, 1\\right)", False),
    ("For the function to be continuous we need $a = -3$ and $b = 3$. Therefore, $a + b = 0$.", "0", True),
    ("For the function to be continuous we need $a = -3$ and $b = 3$. Therefore, $a + b = -6$.", "0", False),
    ("In the end the answer is 7 and 8.", "8", False),
    ("The area of the rectangle is $5 \\cdot 10 = 50$ square units.", "50", True),
)

# Relations and equation chains: the relation read either way round, the chain's last side.
RELATIONS = cases(
    ("Adding 4 to both sides, $\\boxed{-4 \\geq x}$.", "x \\leq -4", True),
    ("Adding 4 to both sides, $\\boxed{-4 \\geq x}$.", "x < -4", False),
    ("Adding 4 to both sides, $\\boxed{-4 \\geq x}$.", "x \\geq -4", False),
    ("Taking square roots, $\\boxed{8r^2 \\ge s^2}$.", "s^2 \\le 8r^2", True),
    ("Taking square roots, $\\boxed{8r^2 \\ge s^2}$.", "s^2 \\ge 8r^2", False),
    ("Since $x$ must exceed 2, $\\boxed{2 < x}$.", "x > 2", True),
    ("Since $x$ must exceed 2, $\\boxed{2 > x}$.", "x > 2", False),
    ("The excluded value is $\\boxed{3 \\neq x}$.", "x \\neq 3", True),
    ("Applying $f$ four times, the range is $\\boxed{82 \\geq g(x) \\geq -80}$.", "-80\\leq g(x)\\leq 82", True),
    ("Applying $f$ four times, the range is $\\boxed{82 \\geq g(x) \\geq -81}$.", "-80\\leq g(x)\\leq 82", False),
    ("There are 3 rows of 4, so $\\boxed{n = 3 \\cdot 4 = 12}$.", "n = 12", True),
    ("There are 3 rows of 4, so $\\boxed{n = 3 \\cdot 4 = 12}$.", "12", True),
    ("There are 3 rows of 4, so $\\boxed{n = 3 \\cdot 4 = 12}$.", "n = 13", False),
    ("Dividing by 4, $x = \\frac{12}{4} = 3$.", "3", True),
    ("Dividing by 4, $x = \\frac{12}{4} = 3$.", "x = 4", False),
    ("So the total is $y = 4 + 4 = 8$.", "y = 8", True),
    ("So the total is $y = 4 + 4 = 9$.", "y = 8", False),
    ("The line through the point with slope $-2$ is $\\boxed{2x + y = 1}$.", "y=-2x+1", True),
    ("The line through the point with slope $-2$ is $\\boxed{2x + y = -1}$.", "y=-2x+1", False),
    ("The line is $\\boxed{y = 10x - 4}$.", "y=10x-4", True),
    ("The line is $\\boxed{y = 10x + 4}$.", "y=10x-4", False),
    ("Integrating, $\\boxed{y = \\frac{1}{2}\\sec^2 x + C}$.", "y = \\frac{1}{2}\\sec^2 x + C", True),
    ("Integrating, $\\boxed{y = \\frac{1}{2}\\sec^2 x - C}$.", "y = \\frac{1}{2}\\sec^2 x + C", False),
    ("So $\\boxed{x \\geq 7}$.", "7 \\leq x", True),
    ("So $\\boxed{x > 7}$.", "7 \\leq x", False),
)

# Several boxes in one completion: boxes joined by "and"/"or"/commas are one answer with parts.
BOXES = cases(
    ("Both points satisfy the system: $\\boxed{(2,-1)}$ and $\\boxed{(-1,2)}$.", "(2,-1), (-1,2)", True),
    ("Both points satisfy the system: $\\boxed{(2,-1)}$ and $\\boxed{(-1,2)}$.", "(-1,2), (2,-1)", True),
    ("Both points satisfy the system: $\\boxed{(2,-1)}$ and $\\boxed{(-1,2)}$.", "(-1,2)", False),
    ("Both points satisfy the system: $\\boxed{(2,-1)}$ and $\\boxed{(1,2)}$.", "(2,-1), (-1,2)", False),
    ("Factoring, $x = \\boxed{2}$ or $x = \\boxed{-3}$.", "2, -3", True),
    ("Factoring, $x = \\boxed{2}$ or $x = \\boxed{-3}$.", "-3, 2", True),
    ("Factoring, $x = \\boxed{2}$ or $x = \\boxed{-3}$.", "-3", False),
    ("Factoring, $x = \\boxed{2}$ or $x = \\boxed{3}$.", "2, -3", False),
    ("The values are $a = \\boxed{1}$, $\\boxed{2}$.", "1, 2", True),
    ("First $\\boxed{36}$ outcomes in all; then the favourable ones give $\\boxed{\\frac{5}{12}}$.", "\\frac{5}{12}", True),
    ("(a) The mean is $\\boxed{7}$.\n\n(b) Hence the median is also worth checking: it is $\\boxed{8}$.", "8", True),
    ("(a) The mean is $\\boxed{7}$.\n\n(b) Hence the median is also worth checking: it is $\\boxed{8}$.", "7", False),
    ("So $\\boxed{3}$, and again $\\boxed{3}$.", "3", True),
    ("The solutions are $\\boxed{1+\\sqrt{5}}$ and $\\boxed{1-\\sqrt{5}}$.", "1 \\pm \\sqrt{5}", True),
    ("The solutions are $\\boxed{1+\\sqrt{5}}$ and $\\boxed{-1-\\sqrt{5}}$.", "1 \\pm \\sqrt{5}", False),
)

# The reference names the answer: (a,b) = (5,1), x = 2, f(x) = 3x-1, AB = 13.
NAMED = cases(
    ("Solving the system, $\\boxed{(3,7)}$.", "(m, n) = (3, 7)", True),
    ("Solving the system, $\\boxed{(7,3)}$.", "(m, n) = (3, 7)", False),
    ("So the vertex is at $\\boxed{(-\\frac{1}{2}, 3, -\\frac{5}{2})}$.", "(a,b,c) = \\left(-\\frac{1}{2}, 3, -\\frac{5}{2}\\right)", True),
    ("So the vertex is at $\\boxed{(-\\frac{1}{2}, 3, \\frac{5}{2})}$.", "(a,b,c) = \\left(-\\frac{1}{2}, 3, -\\frac{5}{2}\\right)", False),
    ("Since $5^{x+4} = 5^{3x}$, $\\boxed{2}$.", "x = 2", True),
    ("Since $5^{x+4} = 5^{3x}$, $\\boxed{3}$.", "x = 2", False),
    ("Therefore the constant is $\\boxed{-16.5}$.", "k = \\frac{-33}{2}", True),
    ("Therefore the constant is $\\boxed{-15.5}$.", "k = \\frac{-33}{2}", False),
    ("So $\\boxed{b = \\frac{1}{49}}$.", "b=\\frac{1}{49}", True),
    ("So $\\boxed{\\frac{1}{49}}$.", "b=\\frac{1}{49}", True),
    ("So $\\boxed{\\frac{1}{7}}$.", "b=\\frac{1}{49}", False),
    ("By the Pythagorean theorem the hypotenuse is $\\boxed{13}$.", "AB = 13", True),
    ("By the Pythagorean theorem the hypotenuse is $\\boxed{12}$.", "AB = 13", False),
    ("The inverse is $\\boxed{3x - 1}$.", "f^{-1}(x) = 3x - 1", True),
    ("The inverse is $\\boxed{3x + 1}$.", "f^{-1}(x) = 3x - 1", False),
    ("The triple is $\\boxed{(1, -2, 3)}$.", "(x, y, z) = (1, -2, 3)", True),
    ("The triple is $\\boxed{(1, 2, 3)}$.", "(x, y, z) = (1, -2, 3)", False),
    ("So $\\boxed{y = 2x + 3}$.", "2x+3", True),
    ("So $\\boxed{m + n = 7}$.", "7", True),
    ("So $\\boxed{y = 5}$.", "x = 5", False),
)

# Sets and intervals: \pm, reordered sets, an interval for a relation and back.
SETS = cases(
    ("Taking square roots, $\\boxed{\\pm 3}$.", "-3, 3", True),
    ("Taking square roots, $\\boxed{\\pm 3}$.", "3", False),
    ("Taking square roots, $\\boxed{\\{-4, 4\\}}$.", "\\pm 4", True),
    ("Taking square roots, $\\boxed{\\{-4, 2\\}}$.", "\\pm 4", False),
    ("Hence $\\boxed{x = \\pm \\sqrt{2}}$.", "\\sqrt{2}, -\\sqrt{2}", True),
    ("Hence $\\boxed{x = \\pm 2}$.", "\\sqrt{2}, -\\sqrt{2}", False),
    ("By the quadratic formula, $\\boxed{1 \\pm \\sqrt{5}}$.", "1+\\sqrt{5}, 1-\\sqrt{5}", True),
    ("The set is $\\boxed{\\{7, 5, 4\\}}$.", "\\{4,5,7\\}", True),
    ("The set is $\\boxed{\\{4, 5\\}}$.", "\\{4,5,7\\}", False),
    ("The function is defined for $\\boxed{[0,3)}$.", "0 \\le x < 3", True),
    ("The function is defined for $\\boxed{(0,3]}$.", "0 \\le x < 3", False),
    ("Since $g$ is increasing, $\\boxed{(2,5)}$.", "2 < g(t) < 5", True),
    ("Since $g$ is increasing, $\\boxed{(2,6)}$.", "2 < g(t) < 5", False),
    ("The domain is $\\boxed{x > 2}$.", "(2, \\infty)", True),
    ("The domain is $\\boxed{x \\geq 2}$.", "(2, \\infty)", False),
    ("The range is $\\boxed{y \\geq 1}$.", "[1,\\infty)", True),
    ("The range is $\\boxed{[1, \\infty)}$.", "x \\geq 1", True),
    ("The range is $\\boxed{(1, \\infty)}$.", "x \\geq 1", False),
    ("The domain is $\\boxed{(-\\infty, -2) \\cup (2, \\infty)}$.", "x < -2 \\text{ or } x > 2", True),
    ("The domain is $\\boxed{(-\\infty, -2] \\cup (2, \\infty)}$.", "x < -2 \\text{ or } x > 2", False),
    ("The domain is $\\boxed{x < -27 \\text{ or } x > -27}$.", "(-\\infty,-27)\\cup(-27,\\infty)", True),
    ("The domain is $\\boxed{(4,\\infty)\\cup(-\\infty,-4)}$.", "(-\\infty,-4)\\cup (4,\\infty)", True),
    ("The domain is $\\boxed{(-\\infty,-4)\\cup (5,\\infty)}$.", "(-\\infty,-4)\\cup (4,\\infty)", False),
    ("The interval is $\\boxed{\\left[-\\frac{3}{2}, \\frac{2}{5}\\right]}$.", "[-1.5, 0.4]", True),
    ("The interval is $\\boxed{\\left(-\\frac{3}{2}, \\frac{2}{5}\\right)}$.", "[-1.5, 0.4]", False),
    ("Every real number works: $\\boxed{(-\\infty,\\infty)}$.", "\\mathbb{R}", True),
    ("The point is $\\boxed{(3, 5)}$.", "3 < x < 5", True),
)

# Number formats: thousands marks, a decimal comma, mixed numbers, scientific notation.
NUMBERS = cases(
    ("Counting the digits, $\\boxed{3,\\!281}$.", "3281", True),
    ("Counting the digits, $\\boxed{3,\\!281}$.", "3280", False),
    ("So the total is $\\boxed{98,\\!634}$.", "98634", True),
    ("So the total is $\\boxed{31\\,250}$.", "31250", True),
    ("So the total is $\\boxed{31{,}250}$.", "31250", True),
    ("The average age is $\\boxed{24{,}75}$.", "24.75", True),
    ("The average age is $\\boxed{24,75}$.", "24.75", True),
    ("The average age is $\\boxed{24,75}$.", "2475", False),
    ("The average is $\\boxed{2,5}$ years.", "2.5", True),
    ("The length is $\\boxed{10\\frac{1}{12}}$ feet.", "\\frac{121}{12}", True),
    ("The length is $\\boxed{10\\frac{1}{12}}$ feet.", "\\frac{10}{12}", False),
    ("It takes $\\boxed{2\\frac{1}{4}}$ hours.", "2.25", True),
    ("It takes $\\boxed{2\\frac{1}{4}}$ hours.", "0.5", False),
    ("It takes $\\boxed{1\\frac{2}{3}}$ cups.", "\\frac{5}{3}", True),
    ("The change is $\\boxed{-2\\frac{1}{2}}$.", "-2.5", True),
    ("The change is $\\boxed{-2\\frac{1}{2}}$.", "2.5", False),
    ("The exact value is $\\boxed{512.25}$.", "512\\frac{1}{4}", True),
    ("The exact value is $\\boxed{128}$.", "512\\frac{1}{4}", False),
    ("The load is $\\boxed{1.0 \\times 10^{2}}$ tons.", "100", True),
    ("The load is $\\boxed{1.0 \\times 10^{3}}$ tons.", "100", False),
    ("The concentration is $\\boxed{5 \\times 10^{-3}}$.", "0.005", True),
    ("The rate is $\\boxed{2.5\\%}$.", "0.025", True),
    ("The price is $\\boxed{\\$1,\\!234.50}$.", "1234.5", True),
    ("The price is $\\boxed{\\$1,\\!234.50}$.", "1234", False),
    ("The probability is $\\boxed{.75}$.", "\\frac34", True),
    ("The probability is $\\boxed{0.3}$.", "\\frac{1}{3}", False),
)

# Backslashes doubled by a raw string or JSON escaping left in place.
BACKSLASHES = cases(
    ("The probability is $\\\\boxed{\\\\frac{5}{12}}$.", "\\frac{5}{12}", True),
    ("The probability is $\\\\boxed{\\\\frac{5}{11}}$.", "\\frac{5}{12}", False),
    ("The answer is $\\\\frac{9}{2}$.", "4.5", True),
    ("The answer is $\\\\frac{9}{4}$.", "4.5", False),
    ("The height is $\\\\boxed{3\\\\sqrt{7}}$.", "3\\sqrt7", True),
    ("The height is $\\\\boxed{7\\\\sqrt{3}}$.", "3\\sqrt7", False),
    ("The roots are $\\\\boxed{\\\\{1,2\\\\}}$.", "\\{2,1\\}", True),
    ("The point is $\\\\boxed{\\\\left(-15, 0\\\\right)}$.", "(-15, 0)", True),
    ("The point is $\\\\boxed{\\\\left(15, 0\\\\right)}$.", "(-15, 0)", False),
    ("So $\\\\(\\\\dfrac{4}{663}\\\\)$ is the probability.\nThe answer is \\\\(\\\\dfrac{4}{663}\\\\)", "\\dfrac{4}{663}", True),
    ("The sine is $\\\\boxed{-\\\\frac{\\\\sqrt{2}}{2}}$.", "-\\frac{\\sqrt{2}}{2}", True),
    ("The sine is $\\\\boxed{\\\\frac{\\\\sqrt{2}}{2}}$.", "-\\frac{\\sqrt{2}}{2}", False),
    ("The answer is $\\\\boxed{\\\\text{(C)}}$.", "C", True),
)

# Unordered tuple lists, a letter in \mathrm{}, a trailing approximation, \textnormal units.
OTHER = cases(
    ("The intersections are $\\boxed{(3,9), (0,0)}$.", "(0,0), (3,9)", True),
    ("The intersections are $\\boxed{(0,0), (9,3)}$.", "(0,0), (3,9)", False),
    ("The correct option is $\\boxed{\\mathrm{D}}$.", "D", True),
    ("The correct option is $\\boxed{\\mathbf{B}}$.", "B", True),
    ("The correct option is $\\boxed{\\mathrm{E}}$.", "C", False),
    ("So $\\cos\\angle PXS = \\boxed{\\frac{119}{169} \\approx 0.704}$.", "\\frac{119}{169}", True),
    ("So $\\boxed{2\\sqrt{2} \\approx 2.83}$.", "\\sqrt{8}", True),
    ("So $\\boxed{\\frac{1}{3} \\approx 0.333}$.", "\\frac{1}{4}", False),
    ("The side is $\\boxed{\\frac{\\sqrt{3}-1}{2} \\approx 0.366}$.", "\\frac{\\sqrt{3}- 1}{2}", True),
    ("The distance is $\\boxed{20\\textnormal{ miles}}$.", "20", True),
    ("The distance is $\\boxed{21\\textnormal{ miles}}$.", "20", False),
    ("The weight is $\\boxed{13.5 \\textrm{ pounds}}$.", "13.5\\text{ pounds}", True),
)

# What the grader always read, kept: option letters, "####", MWPBench references with units.
CHOICES = cases(
    ("Comparing the slopes, the answer is (C).", "C", True),
    ("Comparing the slopes, the answer is (D).", "C", False),
    ("Only the parabola fits, so the correct choice is option C", "C", True),
    ("Therefore the answer is $\\boxed{D}$.", "D", True),
    ("Since $x - 1 = 9$, $x = 10$. The answer is 10.", "D", True, {"A": "2", "B": "4", "C": "9", "D": "10"}),
    ("The answer is 9.", "D", False, {"A": "2", "B": "4", "C": "9", "D": "10"}),
    ("The answer is B) 4.", "B", True),
    ("The answer is $\\boxed{\\text{(B)}}$.", "B", True),
)

HASHES = cases(
    ("Natalia sold 48/2 = <<48/2=24>>24 clips in May.\nShe sold 48+24 = <<48+24=72>>72 clips in all.\n#### 72", "72", True),
    ("Natalia sold 48/2 = <<48/2=24>>24 clips in May.\nShe sold 48+24 = <<48+24=73>>73 clips in all.\n#### 73", "72", False),
    ("Weng earns 12/60 = $0.2 per minute.\nShe earned 0.2 x 50 = $10.\n#### 10", "10", True),
    ("The tank holds 1,200 liters after 3 refills.\n#### 1,200", "1200", True),
    ("The tank holds 1,200 liters after 3 refills.\n#### 1,210", "1200", False),
)

UNITS = cases(
    ("Each sister gets 6 pieces, and $20 - 18 = 2$.\nThe answer is 2.", "2 \\text{ pieces}", True),
    ("Each sister gets 6 pieces, and $20 - 18 = 2$.\nThe answer is 3.", "2 \\text{ pieces}", False),
    ("The box holds $\\boxed{5,225}$ cubic inches.", "5225 \\text{ cubic inches}", True),
    ("The trip is 20 miles.\nThe answer is 20 miles.", "20\\text{ miles}", True),
    ("The board is $\\boxed{\\frac{37}{6}}$ feet long.", "6\\frac{1}{6}\\text{ feet}", True),
    ("The board is $\\boxed{\\frac{36}{6}}$ feet long.", "6\\frac{1}{6}\\text{ feet}", False),
    ("So he pays $\\boxed{\\$382}$.", "382 \\text{ dollars}", True),
    ("The angle is $\\boxed{235^\\circ}$.", "235", True),
    ("The volume is $\\boxed{12 \\text{ cm}^3}$.", "12 \\text{ cm}^3", True),
    ("The volume is $\\boxed{13 \\text{ cm}^3}$.", "12 \\text{ cm}^3", False),
)

KINDS: dict[str, list[Case]] = {
    "prose": PROSE,
    "relations": RELATIONS,
    "boxes": BOXES,
    "named": NAMED,
    "sets": SETS,
    "numbers": NUMBERS,
    "backslashes": BACKSLASHES,
    "other": OTHER,
    "choices": CHOICES,
    "hashes": HASHES,
    "units": UNITS,
}
