"""``mathscale grade``: end to end on a small JSONL, bad lines, help, shipped config."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from mathscale import cli
from mathscale.errors import MathscaleError
from mathscale.eval.config import GradeConfig


LINES = [
    {"id": "a", "completion": r"so $\boxed{x^2+1}$", "answer": "1+x^2"},
    {"id": "b", "completion": "The answer is 7 and 8.", "answer": 8},
    {"id": "c", "completion": "The answer is (D).", "answer": "D", "question": "Q?\n(A) 1\n(B) 2\n(C) 3\n(D) 4"},
    {"id": "d", "completion": "#### 1,000", "answer": "1000", "correct": False},
]


@pytest.fixture
def run():
    return cli.main


def _write(path: Path, rows: list) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_grade_writes_correct_and_prints_accuracy(tmp_path, run, capsys):
    src = _write(tmp_path / "preds.jsonl", LINES)
    out = tmp_path / "graded.jsonl"
    assert run(["grade", str(src), "--out", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["correct"] for r in rows] == [True, False, True, True]
    assert rows[0]["id"] == "a" and rows[1]["answer"] == 8  # other fields kept as they were
    printed = capsys.readouterr().out
    assert "accuracy 75.00% (3/4)" in printed and "items/s" in printed


def test_main_takes_the_config_and_returns_the_counts(tmp_path, capsys):
    from mathscale.eval.grade_command import GradeResult, main

    src = _write(tmp_path / "preds.jsonl", LINES)
    out = tmp_path / "graded.jsonl"
    assert main(GradeConfig(file=str(src), out=str(out))) == GradeResult(out=out, graded=4, correct=3, accuracy=0.75)
    assert "accuracy 75.00% (3/4)" in capsys.readouterr().out
    with pytest.raises(MathscaleError, match="no FILE given"):
        main(GradeConfig())


def test_grade_reads_eval_predictions(tmp_path, run):
    row = {"schema": "prediction/1", "id": "x", "data_topic": "gsm8k", "question": "q", "reference": "4",
           "completion": "The answer is 4.", "extracted": "4", "correct": False}  # fmt: skip
    src = _write(tmp_path / "gsm8k.jsonl", [row])
    assert run(["grade", str(src)]) == 0
    assert json.loads(src.read_text())["correct"] is True


def test_grade_mwpbench_mode_in_place(tmp_path, run, capsys):
    src = _write(tmp_path / "preds.jsonl", LINES)
    assert run(["grade", str(src), "--mode", "mwpbench"]) == 0
    rows = [json.loads(line) for line in src.read_text().splitlines()]
    assert [r["correct"] for r in rows] == [False, True, False, True]  # the official check's verdicts: "(d)" is not "d"
    assert "(mwpbench)" in capsys.readouterr().out


@pytest.mark.parametrize(
    "row,message",
    [
        ({"answer": "1"}, r"preds\.jsonl:2: no 'completion' field"),
        ({"completion": "1"}, r"preds\.jsonl:2: no 'answer' field"),
        ({"completion": 3, "answer": "1"}, r"preds\.jsonl:2: field 'completion' must be text"),
        ([1, 2], r"preds\.jsonl:2: expected a JSON object"),
    ],
)
def test_bad_lines_name_file_and_line(tmp_path, run, capsys, row, message):
    src = _write(tmp_path / "preds.jsonl", [LINES[0], row])
    before = src.read_text()
    assert run(["grade", str(src)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert re.search(message, err)
    assert src.read_text() == before  # nothing written


def test_missing_file_and_bad_output_folder(tmp_path, run, capsys):
    assert run(["grade", str(tmp_path / "nope.jsonl")]) == 2
    assert "no such file" in capsys.readouterr().err
    src = _write(tmp_path / "preds.jsonl", LINES)
    (tmp_path / "blocker").write_text("")
    assert run(["grade", str(src), "--out", str(tmp_path / "blocker" / "o.jsonl")]) == 2
    assert "blocker is a file, so folder" in capsys.readouterr().err


def test_grade_help(run, capsys):
    with pytest.raises(SystemExit):
        run(["grade", "--help"])
    printed = capsys.readouterr().out
    assert "--mode" in printed
    assert "(default: mathscale)" in printed  # from GradeConfig

