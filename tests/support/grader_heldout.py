"""Held-out grader cases in the style of published answer-equivalence suites.

Written for this project (answers taken from the seed sets' references, every sentence
ours) *after* the grader's development on ``tests/support/grader_tables.py`` and not used to tune
it: ``bench/bench_grader.py`` measures agreement on them, and the verdicts are not asserted
in tests (a held-out set that tests pin down is a development set). Predictions are wrapped
as a model writes them, "... so the final answer is $\\boxed{PRED}$", or kept as prose.
"""

from __future__ import annotations

from tests.support.grader_tables import Case


def boxed(prediction: str) -> str:
    return f"Putting the steps together, so the final answer is $\\boxed{{{prediction}}}$."


def rows(*items: tuple) -> list[Case]:
    out = []
    for item in items:
        completion, reference, expected = item[:3]
        if completion.startswith("="):  # "=PRED": the prediction, to be boxed
            completion = boxed(completion[1:])
        out.append(Case(completion, reference, expected, *item[3:]))
    return out


PROSE = rows(
    ("The perimeter adds up the four sides.\nFinal Answer: The perimeter of the garden is 46 meters.", "46", True),
    ("The perimeter adds up the four sides.\nFinal Answer: The perimeter of the garden is 48 meters.", "46", False),
    ("We try $n = 1, 2, 3$ and only $n = 3$ gives a multiple of 7.\nFinal Answer: The least $n$ is 3.", "3", True),
    ("We try $n = 1, 2, 3$ and only $n = 3$ gives a multiple of 7.\nFinal Answer: The least $n$ is 2.", "3", False),
    ("Isolating the variable, $3x \\le 21$.\nTherefore $x \\leq 7$ is the solution.", "x \\le 7", True),
    ("Isolating the variable, $3x \\le 21$.\nTherefore $x \\geq 7$ is the solution.", "x \\le 7", False),
    ("The sum of the digits of 2019 is 12, and 12 is divisible by 3. So the remainder is 0.", "0", True),
    ("The sum of the digits of 2019 is 12, and 12 is divisible by 3. So the remainder is 1.", "0", False),
    ("Each of the 4 friends pays 15 dollars, so together they pay 60 dollars.", "60", True),
    ("Each of the 4 friends pays 15 dollars, so together they pay 64 dollars.", "60", False),
    ("After simplifying we find the ratio is $\\frac{3}{8}$, as required by the 8 parts.", "\\frac38", True),
    ("After simplifying we find the ratio is $\\frac{3}{5}$, as required by the 8 parts.", "\\frac38", False),
    ("The answer is 17 apples, which is 5 more than yesterday.", "17", True),
    ("The answer is 17 apples, which is 5 more than yesterday.", "5", False),
    ("Hence the number of diagonals of the decagon is $35$.", "35", True),
    ("Hence the number of diagonals of the decagon is $45$.", "35", False),
    ("In conclusion, the area is $16\\sqrt{3}$ square units.", "16\\sqrt3", True),
    ("In conclusion, the area is $16\\sqrt{2}$ square units.", "16\\sqrt3", False),
    ("Final Answer: The final answer is $\\frac{1}{6}$. I hope it is correct.", "\\frac{1}{6}", True),
    ("Final Answer: The final answer is $\\frac{1}{5}$. I hope it is correct.", "\\frac{1}{6}", False),
    ("Thus the solutions of $x^2 - 5x + 6 = 0$ are $x = 2$ and $x = 3$.", "2, 3", True),
    ("Thus the solutions of $x^2 - 5x + 6 = 0$ are $x = 2$ and $x = 4$.", "2, 3", False),
    ("The train covers 180 miles in 3 hours, therefore its speed is 60 miles per hour.", "60", True),
    ("So $m = 4$ works, and the value of $m + 1$ is $5$.", "5", True),
    ("So $m = 4$ works, and the value of $m + 1$ is $5$.", "4", False),
    ("Answer: 125 people attended in total, 25 of them children.", "125", True),
    ("Answer: 125 people attended in total, 25 of them children.", "25", False),
)

RELATIONS = rows(
    ("=5 \\geq t", "t \\le 5", True),
    ("=5 \\geq t", "t < 5", False),
    ("=-1 < y", "y > -1", True),
    ("=-1 > y", "y > -1", False),
    ("=z = 2\\cdot 3 + 1 = 7", "z = 7", True),
    ("=z = 2\\cdot 3 + 1 = 7", "7", True),
    ("=z = 2\\cdot 3 + 1 = 8", "z = 7", False),
    ("=p = \\frac{6}{8} = \\frac34", "\\frac{3}{4}", True),
    ("=p = \\frac{6}{8} = \\frac23", "\\frac{3}{4}", False),
    ("=3x - y = 2", "y = 3x - 2", True),
    ("=3x - y = -2", "y = 3x - 2", False),
    ("=a \\ge 2", "2 \\le a", True),
    ("=a > 2", "2 \\le a", False),
    ("=10 \\geq h(x) \\geq 0", "0 \\le h(x) \\le 10", True),
    ("=10 \\geq h(x) \\geq 1", "0 \\le h(x) \\le 10", False),
    ("=k \\neq 4", "4 \\ne k", True),
    ("=y = -\\frac{1}{2}x + 3", "y = 3 - \\frac{x}{2}", True),
    ("=y = -\\frac{1}{2}x - 3", "y = 3 - \\frac{x}{2}", False),
)

BOXES = rows(
    ("The two points are $\\boxed{(1,4)}$ and $\\boxed{(4,1)}$.", "(1,4), (4,1)", True),
    ("The two points are $\\boxed{(1,4)}$ and $\\boxed{(4,1)}$.", "(4,1), (1,4)", True),
    ("The two points are $\\boxed{(1,4)}$ and $\\boxed{(4,2)}$.", "(1,4), (4,1)", False),
    ("The two points are $\\boxed{(1,4)}$ and $\\boxed{(4,1)}$.", "(1,4)", False),
    ("So $t = \\boxed{5}$ or $t = \\boxed{-1}$.", "-1, 5", True),
    ("So $t = \\boxed{5}$ or $t = \\boxed{1}$.", "-1, 5", False),
    ("The roots are $\\boxed{2+i}$ and $\\boxed{2-i}$.", "2 \\pm i", True),
    ("The roots are $\\boxed{2+i}$ and $\\boxed{-2-i}$.", "2 \\pm i", False),
    ("The first part gives $\\boxed{12}$. Then for the second part we subtract 4 and get $\\boxed{8}$.", "8", True),
    ("The first part gives $\\boxed{12}$. Then for the second part we subtract 4 and get $\\boxed{8}$.", "12", False),
    ("We get $\\boxed{6}$, $\\boxed{8}$ and $\\boxed{10}$ as the sides.", "6, 8, 10", True),
    ("We get $\\boxed{6}$, $\\boxed{8}$ and $\\boxed{12}$ as the sides.", "6, 8, 10", False),
)

NAMED = rows(
    ("=(2,-3)", "(x,y) = (2,-3)", True),
    ("=(-3,2)", "(x,y) = (2,-3)", False),
    ("=\\left(\\frac{17}{10}, -\\frac{1}{10}\\right)", "(p,q)=\\left( \\frac{17}{10}, -\\frac{1}{10} \\right)", True),
    ("=\\left(\\frac{17}{10}, \\frac{1}{10}\\right)", "(p,q)=\\left( \\frac{17}{10}, -\\frac{1}{10} \\right)", False),
    ("=9", "AB = 9", True),
    ("=8", "AB = 9", False),
    ("=x = 1", "1", True),
    ("=x = -1", "1", False),
    ("=4", "n = 4", True),
    ("=\\frac{5}{2}", "r = 2.5", True),
    ("=\\frac{5}{3}", "r = 2.5", False),
    ("=g(x) = 2x^2 - 1", "2x^2-1", True),
    ("=g(x) = 2x^2 + 1", "2x^2-1", False),
    ("=(5,-5,-6)", "(a,b,c) = (5,-5,-6)", True),
    ("=(5,-5,6)", "(a,b,c) = (5,-5,-6)", False),
    ("=c = 12", "c=12", True),
)

SETS = rows(
    ("=\\pm 5", "5, -5", True),
    ("=\\pm 5", "5", False),
    ("=\\{-6, 6\\}", "\\pm 6", True),
    ("=\\{-6, 5\\}", "\\pm 6", False),
    ("=[3,15]", "3 \\le x \\le 15", True),
    ("=(3,15]", "3 \\le x \\le 15", False),
    ("=(-2, 4)", "-2 < f(x) < 4", True),
    ("=(-2, 5)", "-2 < f(x) < 4", False),
    ("=x < 1", "(-\\infty, 1)", True),
    ("=x \\le 1", "(-\\infty, 1)", False),
    ("=(-\\infty, 1)\\cup(1, \\infty)", "x \\neq 1", True),
    ("=(-\\infty, 1)\\cup(1, \\infty)", "(1,\\infty)\\cup(-\\infty,1)", True),
    ("=(-\\infty, 1]\\cup(1, \\infty)", "(-\\infty, 1)\\cup(1, \\infty)", False),
    ("=\\{3, -1, 1\\}", "-3,-1,1", False),
    ("=\\{1, -1, -3\\}", "-3,-1,1", True),
    ("=\\sqrt{2}, -\\sqrt{2}", "\\pm\\sqrt2", True),
    ("=-\\sqrt{3},-1,1,\\sqrt{3}", "\\pm 1, \\pm\\sqrt{3}", True),
    ("=\\left[-1, \\frac{\\sqrt{2}}{2}\\right)", "\\left[ -1, \\frac{1}{\\sqrt{2}} \\right)", True),
    ("=\\left[-1, \\frac{\\sqrt{2}}{2}\\right]", "\\left[ -1, \\frac{1}{\\sqrt{2}} \\right)", False),
    ("=[-77, 77]", "-77 \\le x \\le 77", True),
)

NUMBERS = rows(
    ("=125,\\!000", "125000", True),
    ("=125,\\!000", "12500", False),
    ("=32{,}000{,}000", "32,\\!000,\\!000", True),
    ("=4\\,096", "4096", True),
    ("=0{,}75", "0.75", True),
    ("=0,75", "\\frac34", True),
    ("=0,75", "75", False),
    ("=3\\frac{1}{2}", "3.5", True),
    ("=3\\frac{1}{2}", "1.5", False),
    ("=7.5", "7\\frac{1}{2}", True),
    ("=7.25", "7\\frac{1}{2}", False),
    ("=\\frac{2469}{20000}", "\\dfrac{2469}{20,\\!000}", True),
    ("=0.12345", "\\dfrac{2469}{20,\\!000}", True),
    ("=0.1235", "\\dfrac{2469}{20,\\!000}", False),
    ("=2.4 \\times 10^{3}", "2400", True),
    ("=2.4 \\times 10^{2}", "2400", False),
    ("=1.5\\%", "0.015", True),
    ("=\\$12.50", "12.5", True),
    ("=\\$12.50", "12.05", False),
    ("=-0.2", "-\\frac{1}{5}", True),
    ("=0.2", "-\\frac{1}{5}", False),
)

BACKSLASHES = rows(
    ("So the final answer is $\\\\boxed{\\\\frac{7}{9}}$.", "\\frac79", True),
    ("So the final answer is $\\\\boxed{\\\\frac{9}{7}}$.", "\\frac79", False),
    ("So the final answer is $\\\\boxed{2\\\\sqrt{5}}$.", "2\\sqrt5", True),
    ("So the final answer is $\\\\boxed{5\\\\sqrt{2}}$.", "2\\sqrt5", False),
    ("So the final answer is $\\\\boxed{\\\\left( \\\\frac{4}{3}, -\\\\frac{1}{3} \\\\right)}$.", "\\left( \\frac{4}{3}, -\\frac{1}{3} \\right)", True),
    ("So the final answer is $\\\\boxed{\\\\left( \\\\frac{4}{3}, \\\\frac{1}{3} \\\\right)}$.", "\\left( \\frac{4}{3}, -\\frac{1}{3} \\right)", False),
    ("So the final answer is $\\\\boxed{\\\\pi^2}$.", "\\pi^2", True),
)

OTHER = rows(
    ("=(-4, 27), (2, 15)", "(2, 15), (-4, 27)", True),
    ("=(-4, 27), (2, 16)", "(2, 15), (-4, 27)", False),
    ("=\\mathrm{A}", "A", True),
    ("=\\mathrm{B}", "A", False),
    ("=\\frac{\\sqrt{3}}{2} \\approx 0.866", "\\frac{\\sqrt3}{2}", True),
    ("=\\frac{\\sqrt{2}}{2} \\approx 0.707", "\\frac{\\sqrt3}{2}", False),
    ("=180\\textnormal{ miles}", "180\\text{ miles}", True),
    ("=18\\textnormal{ miles}", "180\\text{ miles}", False),
    ("=\\text{Sunday}", "\\text{Sunday}", True),
    ("=\\text{Monday}", "\\text{Sunday}", False),
    ("=\\text{even}", "\\text{even}", True),
    ("=\\text{odd}", "\\text{even}", False),
    ("=11z^{17}(5+11z^{17})", "11z^{17}(5+11z^{17})", True),
    ("=55z^{17}+121z^{34}", "11z^{17}(5+11z^{17})", True),
    ("=55z^{17}+121z^{33}", "11z^{17}(5+11z^{17})", False),
    ("=(6, 235^\\circ)", "(6,235^\\circ)", True),
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
}
