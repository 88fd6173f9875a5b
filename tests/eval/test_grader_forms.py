"""The ``mathscale`` grader on the written-answer forms of issue 24, one table per kind.

The rows are in ``tests/support/grader_tables.py`` (written for this project from the seed sets'
solutions); each kind holds wrong answers next to the right ones, so every row asserts a
verdict that a grader saying always yes, or always no, fails.
"""

from __future__ import annotations

import pytest

from mathscale.eval.grader import GradeItem, grade, grade_all
from tests.support.grader_tables import KINDS, Case

ROWS = [pytest.param(case, id=f"{kind}-{i}") for kind, cases in KINDS.items() for i, case in enumerate(cases)]


@pytest.mark.parametrize("case", ROWS)
def test_verdict(case: Case) -> None:
    verdict = grade(case.completion, case.reference, options=case.options)
    assert verdict.correct is case.expected, f"extracted {verdict.extracted!r} for reference {case.reference!r}"


def test_every_kind_has_right_and_wrong_answers() -> None:
    for kind, cases in KINDS.items():
        assert {c.expected for c in cases} == {True, False}, kind


def test_grade_all_agrees_with_grade_on_the_tables() -> None:
    cases = [case for rows in KINDS.values() for case in rows]
    report = grade_all([GradeItem(c.completion, c.reference, c.options or {}) for c in cases], timeout=10.0)
    assert [v.correct for v in report.verdicts] == [c.expected for c in cases]
    assert report.timeouts == 0
    assert 0 < report.symbolic < len(cases) // 4  # math-verify decides the few the fast path cannot
