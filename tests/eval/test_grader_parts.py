"""Pieces of the grader: extraction, normalisation, options, the LaTeX parser, the worker pool."""

from __future__ import annotations

import time

import pytest

from mathscale.eval.choices import options_from_field, parse_options
from mathscale.eval.final_answer import extract_answer, last_boxed
from mathscale.eval.latex import evaluate, parse_latex
from mathscale.eval.answer_normalize import normalize_answer
from mathscale.eval.symbolic import WorkerPool


@pytest.mark.parametrize(
    "text,expected",
    [
        (r"\boxed{\frac{a}{b}}", r"\frac{a}{b}"),
        (r"\boxed{\{1,2\}}", r"\{1,2\}"),
        (r"\boxed{1} \boxed{2}", "2"),
        (r"\boxed{unclosed", None),
        ("no box", None),
    ],
)
def test_last_boxed(text: str, expected: str | None) -> None:
    assert last_boxed(text) == expected


@pytest.mark.parametrize(
    "text,expected",
    [
        ("#### 72", "72"),
        ("The answer is $5$.", "5"),
        ("The answer is 3.5", "3.5"),
        ("Final answer: 12. Done.", "12"),
        ("costs -3.5 then 1,200", "1,200"),
        ("nothing", None),
    ],
)
def test_extract_answer(text: str, expected: str | None) -> None:
    assert extract_answer(text) == expected


@pytest.mark.parametrize(
    "text,expected,percent",
    [
        (r"$\dfrac{1}{2}$", r"\frac{1}{2}", False),
        (r"\left(1, 2\right)", "(1, 2)", False),
        ("1,234", "1234", False),
        ("1,234.5%", "1234.5", True),
        (r"30^\circ", "30", False),
        (r"\$4.50", "4.50", False),
        (r"7 \text{ apples}", "7", False),
        ("18 dollars", "18", False),
        ("5x", "5x", False),
    ],
)
def test_normalize_answer(text: str, expected: str, percent: bool) -> None:
    assert normalize_answer(text) == (expected, percent)


def test_options_in_every_mwpbench_layout() -> None:
    assert parse_options("Q?\nAnswer Choices:\n(A)2\n(B)4") == {"A": "2", "B": "4"}
    assert parse_options(r"Q? A) $f(-6)=0$ B) $f(6)=-6$") == {"A": "$f(-6)=0$", "B": "$f(6)=-6$"}
    assert options_from_field({"A": "x", "B": "y"}) == {"A": "x", "B": "y"}
    assert options_from_field(["(A)2", "(B)4"]) == {"A": "2", "B": "4"}
    assert options_from_field(None) == {}


@pytest.mark.parametrize(
    "text,value",
    [
        (r"\frac12", 0.5),
        (r"2^{10}", 1024),
        (r"\sqrt[3]{-8}", -2),
        (r"|{-3}|", 3),
        (r"\frac{\sqrt{3}}{2}", 3**0.5 / 2),
        ("3!", 6),
    ],
)
def test_parse_and_evaluate(text: str, value: float) -> None:
    assert abs(evaluate(parse_latex(text), {}) - value) < 1e-9


@pytest.mark.parametrize("text", ["apples", r"\{1,2\}", "x <", "", "(1", r"\unknown{3}", "1" * 500])
def test_parse_rejects_what_is_not_an_expression(text: str) -> None:
    assert parse_latex(text) is None


def test_huge_powers_fail_fast() -> None:
    started = time.perf_counter()
    with pytest.raises(OverflowError):
        evaluate(parse_latex("10^{10^{10}}"), {})
    assert time.perf_counter() - started < 1


def _sleepy(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def test_worker_pool_kills_overrunning_jobs_and_counts_them() -> None:
    with WorkerPool(_sleepy, workers=2, timeout=0.5) as pool:
        started = time.perf_counter()
        results = pool.map({"slow": (30.0,), "fast": (0.01,), "fast2": (0.02,)})
        assert time.perf_counter() - started < 10
        assert results["slow"] is WorkerPool.TIMEOUT
        assert results["fast"] == 0.01 and results["fast2"] == 0.02
        assert pool.timeouts == 1
        assert pool.map({"again": (0.01,)}) == {"again": 0.01}  # the killed worker was replaced


def _slow_start() -> None:
    time.sleep(1.0)


def test_a_workers_start_up_is_not_counted_against_its_first_job() -> None:
    """math-verify's import and warm-up run in ``init``; the per-job limit starts after it."""
    with WorkerPool(_sleepy, workers=1, timeout=0.5, init=_slow_start) as pool:
        pool.start()
        assert pool.map({"first": (0.1,)}) == {"first": 0.1}
        assert pool.timeouts == 0


ADVERSARIAL = [
    "1" * 20000,
    "1.5" * 5000,
    "1," * 8000,
    "$" * 5000 + "x",
    r"\frac" * 3000,
    "(" * 10000,
    r"\{" * 5000,
    "{" * 5000 + "1" + "}" * 5000,
    "a=" * 3000,
    r"10^{10^{10^{10}}}",
    r"9!!!!!!!",
]


@pytest.mark.parametrize("mode", ["mathscale", "mwpbench"])
def test_adversarial_answers_never_hang(mode):
    from mathscale.eval.grader import GradeItem, grade_all

    items = [GradeItem(rf"\boxed{{{s}}}", "5") for s in ADVERSARIAL] + [GradeItem(f"The answer is {s}", "5") for s in ADVERSARIAL]
    started = time.perf_counter()
    report = grade_all(items, mode, timeout=1.0, workers=2)
    assert time.perf_counter() - started < 15
    if mode == "mathscale":  # the official substring rule accepts "1.51.5..." for "5", as it would
        assert not any(v.correct for v in report.verdicts)
    assert report.timeouts <= report.symbolic  # whatever ran out of time was counted
