"""``results.csv`` (one row per size, dataset and grader) and its plot, for ``run`` and ``scale``.

A size the run could not reach (generation came up short) has one row with an empty
accuracy and ``status`` saying why, so the table and the plot show the gap instead of
hiding it. ``seed`` tells repetitions of one curve apart (the plot draws their band).
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mathscale.io import atomic_open

FIELDS = ["run", "size", "dataset", "accuracy", "correct", "total", "grader", "seed", "status"]
OK = "ok"


@dataclass(frozen=True)
class Point:
    """One evaluated size (``eval_dir`` holds its metrics.json) or, with ``missing``, why it has none."""

    size: int
    eval_dir: Path | None = None
    seed: int | str = ""
    missing: str = ""  # e.g. "not reached: generate wrote 10 of 12 samples"


def metrics_rows(run: str, size: int, metrics: dict[str, Any], seed: int | str = "") -> list[dict[str, Any]]:
    """Rows for one evaluation: each dataset, then micro and macro, for each grader."""
    rows = []
    common = {"run": run, "size": size, "seed": seed, "status": OK}
    for grader, m in metrics["graders"].items():
        for name, score in m["datasets"].items():
            rows.append({**common, "dataset": name, "accuracy": score["accuracy"], "correct": score["correct"],
                         "total": score["size"], "grader": grader})  # fmt: skip
        total = sum(s["size"] for s in m["datasets"].values())
        correct = sum(s["correct"] for s in m["datasets"].values())
        rows.append({**common, "dataset": "micro", "accuracy": m["micro"], "correct": correct, "total": total,
                     "grader": grader})  # fmt: skip
        rows.append({**common, "dataset": "macro", "accuracy": m["macro"], "correct": "",
                     "total": len(m["datasets"]), "grader": grader})  # fmt: skip
    return rows


def missing_row(run: str, point: Point) -> dict[str, Any]:
    """The one row of a size with no evaluation: every grader and dataset, no accuracy."""
    return {"run": run, "size": point.size, "dataset": "", "accuracy": "", "correct": "", "total": "", "grader": "",
            "seed": point.seed, "status": point.missing}  # fmt: skip


def diversity_rows(samples: Path, sizes: list[int], graph: Path) -> list[dict[str, Any]]:
    """Concept diversity (graph/diversity.py) of the compositions of the first N samples, per size N
    the samples reach."""
    from mathscale.graph.build import load_graph
    from mathscale.graph.diversity import diversity, encode, hub_topics
    from mathscale.io import read_jsonl

    sets = [(obj["topics"], obj["knowledge_points"]) for _, obj in read_jsonl(samples)]
    hubs = hub_topics(load_graph(graph))
    rows = []
    for size in (s for s in sizes if s <= len(sets)):
        topics, kps, tid = encode(sets[:size])
        rows.append({**diversity(topics, kps, [tid[h] for h in hubs if h in tid]), "size": size})
    return rows


def write_results(folder: Path, points: list[Point], grader: str,
                  diversity: list[dict[str, Any]] | None = None) -> tuple[Path, list[Path]]:  # fmt: skip
    """``folder/results.csv`` from the points, and ``folder/scaling.{png,svg}``; with ``diversity``
    rows also ``folder/diversity.csv`` and a concept-coverage panel in the plot."""
    from mathscale.run.scaling_plot import plot_results, read_results

    rows: list[dict[str, Any]] = []
    for point in points:
        if point.missing:
            rows.append(missing_row(folder.name, point))
        else:
            assert point.eval_dir is not None
            metrics = json.loads((point.eval_dir / "metrics.json").read_text(encoding="utf-8"))
            rows += metrics_rows(folder.name, point.size, metrics, point.seed)
    results = folder / "results.csv"
    with atomic_open(results) as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    if diversity:
        from mathscale.graph.diversity import KEYS

        with atomic_open(folder / "diversity.csv") as handle:
            writer = csv.DictWriter(handle, fieldnames=["size", *KEYS[1:]], extrasaction="ignore")
            writer.writeheader()
            writer.writerows(diversity)
    return results, plot_results(read_results([results]), folder / "scaling", grader=grader, diversity=diversity)
