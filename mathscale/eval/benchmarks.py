"""Benchmark loading: MWPBench-format JSONL files, folders of them, or a Hugging Face dataset.

A dataset id (``org/name`` or ``org/name@revision``) is read from its snapshot in the local hub
cache, as :mod:`mathscale.models.hub` resolves it (downloaded only when not cached and allowed).

Each record needs ``question`` and ``answer`` (``data_topic`` defaults to the file's name);
multiple-choice records keep their ``options`` for the grader. A bad line fails with
``file:line`` and the field.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mathscale.errors import DataError, MathscaleError
from mathscale.eval.choices import options_from_field
from mathscale.io import read_jsonl
from mathscale.models.hub import HubId, fetch_snapshot, parse_hub_id
from mathscale.records import BenchmarkItem

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Task:
    item: BenchmarkItem
    options: dict[str, str] = field(default_factory=dict)


def task_from_json(obj: Any, where: str, default_topic: str, need_answer: bool = True) -> Task:
    """A benchmark record as a Task; without ``need_answer`` (decontamination reads only the
    questions) a missing or empty answer becomes ""."""
    if isinstance(obj, dict):
        if not need_answer and obj.get("answer") in (None, ""):
            obj = {**obj, "answer": ""}
        for key in ("question", "answer") if need_answer else ("question",):
            if key not in obj or obj[key] in (None, ""):
                raise DataError(f"{where}: no {key!r} field (a benchmark record needs 'question' and 'answer')")
        obj = {"data_topic": default_topic, **obj}
    item = BenchmarkItem.from_json(obj, where)
    if not item.id:
        item = BenchmarkItem(item.data_topic, item.question, item.answer, item.data_source, where)
    return Task(item, options_from_field(obj.get("options")))


def limit_per_topic(tasks: list[Task], limit: int) -> list[Task]:
    """The first ``limit`` tasks of each ``data_topic`` (0 = all)."""
    if limit <= 0:
        return tasks
    seen: dict[str, int] = {}
    kept = []
    for task in tasks:
        n = seen.get(task.item.data_topic, 0)
        if n < limit:
            kept.append(task)
            seen[task.item.data_topic] = n + 1
    return kept


def load_tasks(spec: str, limit: int = 0, split: str = "test", setting: str = "benchmarks",
               need_answer: bool = True) -> list[Task]:  # fmt: skip
    """Tasks from a JSONL file, a folder of ``*.jsonl`` or a Hugging Face dataset name.

    The one place a benchmark spec becomes items (eval, and generate's decontamination).
    An error names ``setting``, the option or config key that gave ``spec``.
    """
    try:
        return limit_per_topic(_read_tasks(spec, split, need_answer), limit)
    except MathscaleError as exc:
        raise type(exc)(f"{setting}: {exc}") from None


def _read_tasks(spec: str, split: str, need_answer: bool = True) -> list[Task]:
    path = Path(spec)
    if path.is_dir():
        files = sorted(path.glob("*.jsonl"))
        if not files:
            raise MathscaleError(f"{path}: no *.jsonl benchmark files in this folder")
    elif path.is_file():
        files = [path]
    else:
        looks_local = path.suffix in (".jsonl", ".json") or spec.startswith((".", "/", "~"))
        hub = None if looks_local else parse_hub_id(spec, "dataset")
        if hub is None:
            raise MathscaleError(f"{spec}: no such benchmark file or folder, and not a Hugging Face dataset id "
                                 f"(org/name or org/name@revision)")  # fmt: skip
        return _load_hf(hub, split, need_answer)
    tasks = []
    for file in files:
        tasks += [task_from_json(obj, where, file.stem, need_answer) for where, obj in read_jsonl(file)]
    if not tasks:
        raise DataError(f"{spec}: the benchmark holds no records")
    return tasks


def _load_hf(hub: HubId, split: str, need_answer: bool = True) -> list[Task]:
    """A hub dataset's ``split``, from its snapshot in the local hub cache (downloaded when needed)."""
    try:
        import datasets
    except ImportError:
        raise MathscaleError("reading a Hugging Face dataset needs `pip install datasets`") from None
    try:
        folder = fetch_snapshot(hub)
    except MathscaleError as exc:  # "data/test" may have been meant as a folder: say both
        raise MathscaleError(f"{hub}: no such benchmark file or folder here, and as a Hugging Face dataset id: "
                             f"{exc}") from None  # fmt: skip
    try:
        rows = datasets.load_dataset(str(folder), split=split)
    except Exception as exc:  # noqa: BLE001 - any failure here means "cannot read that dataset"
        raise MathscaleError(f"{hub}: cannot load this Hugging Face dataset from {folder} "
                             f"({type(exc).__name__}: {exc})"[:400]) from None  # fmt: skip
    topic = hub.repo_id.rsplit("/", 1)[-1]
    return [task_from_json(dict(row), f"{hub}[{split}]:{i + 1}", topic, need_answer) for i, row in enumerate(rows)]
