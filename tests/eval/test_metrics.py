"""MWPBench metrics against a hand computation."""

from __future__ import annotations

import pytest

from mathscale.eval.metrics import compute_metrics, dataset_of, markdown_table

# gsm8k: 3/4; MATH.Algebra 1/1 + MATH.Geometry 1/3 -> MATH 2/4; college_math.algebra 0/2 -> 0/2; tal 1/1
VERDICTS = (
    [("gsm8k", True)] * 3 + [("gsm8k", False)]
    + [("MATH.Algebra", True), ("MATH.Geometry", True), ("MATH.Geometry", False), ("MATH.Geometry", False)]
    + [("college_math.algebra", False)] * 2
    + [("tal", True)]
)  # fmt: skip


def test_hand_computed_micro_and_macro():
    m = compute_metrics(VERDICTS)
    assert {k: (s.correct, s.total) for k, s in m.datasets.items()} == {
        "gsm8k": (3, 4), "MATH": (2, 4), "college_math": (0, 2), "tal": (1, 1),
    }  # fmt: skip
    assert m.topics["MATH.Geometry"].accuracy == pytest.approx(1 / 3)
    assert m.micro == pytest.approx(6 / 11)  # every item counts once
    assert m.macro == pytest.approx((0.75 + 0.5 + 0.0 + 1.0) / 4)  # datasets count once
    # MATH is size-weighted, not the mean of its types (which would be (1 + 1/3) / 2)
    assert m.datasets["MATH"].accuracy == pytest.approx(0.5)
    data = m.to_json()
    assert data["datasets"]["MATH"] == {"accuracy": 0.5, "correct": 2, "size": 4}


@pytest.mark.parametrize(
    "topic,dataset",
    [("MATH.Algebra", "MATH"), ("college_math.calculus", "college_math"), ("agieval.sat-math", "agieval.sat-math"), ("gsm8k", "gsm8k")],
)
def test_dataset_of(topic, dataset):
    assert dataset_of(topic) == dataset


def test_markdown_table_puts_graders_side_by_side():
    table = markdown_table({"mathscale": compute_metrics(VERDICTS), "mwpbench": compute_metrics([("gsm8k", True)])})
    lines = table.splitlines()
    assert lines[0] == "| dataset | size | mathscale | mwpbench |"
    assert "| MATH | 4 | 50.0 | – |" in lines
    assert "| gsm8k | 4 | 75.0 | 100.0 |" in lines
    assert lines[-2] == "| **micro** | 11 | 54.5 | 100.0 |"
    assert lines[-1] == "| **macro** | 4 datasets | 56.2 | 100.0 |"


def test_empty():
    m = compute_metrics([])
    assert (m.micro, m.macro) == (0.0, 0.0)
