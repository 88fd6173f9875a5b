"""``mathscale grade FILE``: grade a JSONL of completions, write each line back with ``correct``.

Each line needs ``completion`` and ``answer`` (the reference; ``reference`` is read too, so
eval's ``predictions/`` files can be regraded); multiple-choice lines may
carry ``options`` (or the options are read from ``question``). Lines keep every field they
had; ``correct`` is added (or replaced). The output is written whole, through a temporary
file, to ``out`` (``--out``) or over ``file``.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mathscale.config import require
from mathscale.errors import DataError, MathscaleError
from mathscale.eval.choices import is_choice_reference, options_from_field, parse_options
from mathscale.eval.config import GradeConfig
from mathscale.eval.grader import GradeItem, GradeReport, grade_all
from mathscale.io import atomic_open, check_output_path, read_jsonl


def item_from_line(obj: Any, where: str) -> GradeItem:
    """The GradeItem of one JSONL line; a missing or non-text field raises DataError."""
    if not isinstance(obj, dict):
        raise DataError(f"{where}: expected a JSON object, got {type(obj).__name__}")
    if "completion" not in obj:
        raise DataError(f"{where}: no 'completion' field (grade needs 'completion' and 'answer' on every line)")
    if "answer" not in obj and "reference" not in obj:  # 'reference': eval's predictions/ files
        raise DataError(f"{where}: no 'answer' field (grade needs 'completion' and 'answer' on every line)")
    completion, answer = obj["completion"], obj.get("answer", obj.get("reference"))
    if isinstance(answer, (int, float)) and not isinstance(answer, bool):
        answer = str(answer)
    if not isinstance(completion, str):
        raise DataError(f"{where}: field 'completion' must be text, got {type(completion).__name__}")
    if not isinstance(answer, str):
        raise DataError(f"{where}: field 'answer' must be text or a number, got {type(answer).__name__}")
    options: dict[str, str] = {}
    if is_choice_reference(answer):
        options = options_from_field(obj.get("options")) or parse_options(str(obj.get("question", "")))
    return GradeItem(completion, answer, options)


def grade_file(path: Path, out: Path, cfg: GradeConfig) -> tuple[GradeReport, float]:
    """Grade ``path`` into ``out``; returns the report and the seconds spent grading."""
    lines = list(read_jsonl(path))
    if not lines:
        raise DataError(f"{path}: the file holds no records")
    items = [item_from_line(obj, where) for where, obj in lines]
    started = time.perf_counter()
    report = grade_all(items, cfg.mode, timeout=cfg.timeout_s, workers=cfg.workers)
    seconds = time.perf_counter() - started
    with atomic_open(out) as handle:
        for (_, obj), verdict in zip(lines, report.verdicts):
            handle.write(json.dumps({**obj, "correct": verdict.correct}, ensure_ascii=False) + "\n")
    return report, seconds


@dataclass(frozen=True)
class GradeResult:
    out: Path  # the graded file written
    graded: int  # items graded
    correct: int
    accuracy: float  # correct / graded (0 to 1)


def main(cfg: GradeConfig) -> GradeResult:
    require(cfg, {"file": "FILE"})
    path = Path(cfg.file)
    out = check_output_path(cfg.out or path)
    if not path.is_file():
        raise MathscaleError(f"{path}: no such file")
    report, seconds = grade_file(path, out, cfg)
    n = len(report.verdicts)
    right = sum(v.correct for v in report.verdicts)
    print(f"{n} items graded ({cfg.mode}): accuracy {100 * report.accuracy:.2f}% ({right}/{n}), "
          f"{n / max(seconds, 1e-9):,.0f} items/s; {report.symbolic} needed sympy, {report.timeouts} timed out")  # fmt: skip
    print(f"wrote {out}")
    return GradeResult(out=out, graded=n, correct=right, accuracy=report.accuracy)
