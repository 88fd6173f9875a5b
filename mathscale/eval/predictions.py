"""``DIR/predictions/``: per-item appends while generating, resume, and the final ordered rewrite.

:class:`PredictionStore` is what makes ``eval`` survive a kill: each completion is appended
as one flushed line (:class:`~mathscale.io.JsonlWriter`, which also cuts a line torn by a
kill) to ``predictions/<data_topic>.jsonl``; reopening the folder reads back what is there,
so only the missing items are generated; :meth:`PredictionStore.finalise` then rewrites each
file whole (temporary file + rename) in benchmark order with the final verdicts.

``DIR/run.json`` records the settings the completions were made with. When it differs from
the current ones (other weights, template, decoding, benchmarks, cap) the old predictions are
moved, not mixed in and not deleted: to ``DIR/stale-<UTC time>/``, with a printed line.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

from mathscale.errors import DataError
from mathscale.eval.benchmarks import Task
from mathscale.eval.grader import Verdict, grade
from mathscale.eval.symbolic import NeedsSymbolic, defer
from mathscale.io import JsonlWriter, atomic_open, atomic_write_json, complete_lines
from mathscale.records import Prediction

log = logging.getLogger(__name__)

Key = tuple[str, str]  # (data_topic, id)


def _key(task: Task) -> Key:
    return task.item.data_topic, task.item.id


def prediction_file(folder: Path, topic: str) -> Path:
    return folder / f"{topic.replace('/', '_')}.jsonl"


def _read_complete_lines(path: Path) -> list[tuple[int, dict]]:
    """The complete lines of ``path`` (a last line without its newline was torn by a kill)."""
    rows = []
    for lineno, line in complete_lines(path):
        try:
            rows.append((lineno, json.loads(line)))
        except json.JSONDecodeError:
            raise DataError(f"{path}:{lineno}: not JSON; this folder was not written by `mathscale eval`") from None
    return rows


class PredictionStore:
    def __init__(self, out: Path, tasks: list[Task]):
        self.out = out
        self.folder = out / "predictions"
        self.tasks = {_key(t): t for t in tasks}
        self._completions: dict[Key, str] = {}
        self._writers: dict[str, JsonlWriter] = {}
        self.resumed = False

    @classmethod
    def open(cls, out: Path, tasks: list[Task], signature: dict[str, Any]) -> PredictionStore:
        store = cls(out, tasks)
        if len(store.tasks) != len(tasks):
            seen: set[Key] = set()
            twice = next(k for k in map(_key, tasks) if k in seen or seen.add(k))
            raise DataError(f"benchmarks: id {twice[1]!r} occurs twice in data_topic {twice[0]!r}; predictions are "
                            "saved and resumed by id, so ids must be unique")  # fmt: skip
        out.mkdir(parents=True, exist_ok=True)
        run_file = out / "run.json"
        previous = json.loads(run_file.read_text(encoding="utf-8")) if run_file.is_file() else None
        has_predictions = store.folder.is_dir() and any(store.folder.glob("*.jsonl"))
        if has_predictions and previous != signature:
            store._move_aside("it was made with other settings" if previous else "it has no run.json")
        elif has_predictions:
            store._load()
        if previous != signature or not run_file.is_file():
            atomic_write_json(run_file, signature)
        store.folder.mkdir(exist_ok=True)
        return store

    def _load(self) -> None:
        unknown = 0
        for path in sorted(self.folder.glob("*.jsonl")):
            for lineno, row in _read_complete_lines(path):
                try:
                    key = (row["data_topic"], row["id"])
                    completion = row["completion"]
                except (KeyError, TypeError):
                    raise DataError(f"{path}:{lineno}: not a prediction line (no data_topic, id or completion)") from None
                if key in self.tasks:
                    self._completions[key] = completion
                else:
                    unknown += 1
        if unknown:
            self._completions.clear()
            self._move_aside(f"{unknown} of its lines are not among the items now (benchmark files changed?)")
        self.resumed = bool(self._completions)

    def _move_aside(self, why: str) -> None:
        stale = self.out / time.strftime("stale-%Y%m%dT%H%M%SZ", time.gmtime())
        stale.mkdir()
        self.folder.rename(stale / "predictions")
        if (self.out / "run.json").is_file():
            (self.out / "run.json").rename(stale / "run.json")
        print(f"{self.folder}: {why}; moved to {stale}/ and starting over")

    @property
    def done(self) -> int:
        return len(self._completions)

    def completion(self, task: Task) -> str | None:
        return self._completions.get(_key(task))

    def add(self, task: Task, completion: str, mode: str) -> None:
        """Append one prediction now (its verdict is provisional until :meth:`finalise`)."""
        item = task.item
        try:
            verdict = grade(completion, item.answer, mode, task.options, symbolic=defer)
        except NeedsSymbolic:  # settled by the final grading, with its time limit
            verdict = Verdict(None, False)
        writer = self._writers.get(item.data_topic)
        if writer is None:
            writer = self._writers[item.data_topic] = JsonlWriter(prediction_file(self.folder, item.data_topic))
        writer.write(Prediction(item.id, item.data_topic, item.question, item.answer, completion, verdict.extracted, verdict.correct))
        self._completions[_key(task)] = completion

    def close(self) -> None:
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()

    def finalise(self, predictions: list[Prediction]) -> None:
        """Rewrite every file whole, in benchmark order, with the final verdicts."""
        by_topic: dict[str, list[Prediction]] = {}
        for p in predictions:
            by_topic.setdefault(p.data_topic, []).append(p)
        for topic, rows in by_topic.items():
            with atomic_open(prediction_file(self.folder, topic)) as handle:
                for p in rows:
                    handle.write(json.dumps(p.to_json(), ensure_ascii=False) + "\n")
