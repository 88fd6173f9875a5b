"""``results.csv`` (one row per size, dataset and grader) and its plot, for ``run`` and ``scale``."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from mathscale.io import atomic_open

FIELDS = ["run", "size", "dataset", "accuracy", "correct", "total", "grader"]


def metrics_rows(run: str, size: int, metrics: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows for one evaluation: each dataset, then micro and macro, for each grader."""
    rows = []
    for grader, m in metrics["graders"].items():
        for name, score in m["datasets"].items():
            rows.append({"run": run, "size": size, "dataset": name, "accuracy": score["accuracy"],
                         "correct": score["correct"], "total": score["size"], "grader": grader})  # fmt: skip
        total = sum(s["size"] for s in m["datasets"].values())
        correct = sum(s["correct"] for s in m["datasets"].values())
        rows.append({"run": run, "size": size, "dataset": "micro", "accuracy": m["micro"], "correct": correct,
                     "total": total, "grader": grader})  # fmt: skip
        rows.append({"run": run, "size": size, "dataset": "macro", "accuracy": m["macro"], "correct": "",
                     "total": len(m["datasets"]), "grader": grader})  # fmt: skip
    return rows


def diversity_rows(samples: Path, sizes: list[int], graph: Path) -> list[dict[str, Any]]:
    """Concept diversity (graph/diversity.py) of the compositions of the first N samples, per size N."""
    from mathscale.graph.build import load_graph
    from mathscale.graph.diversity import diversity, encode, hub_topics
    from mathscale.io import read_jsonl

    sets = [(obj["topics"], obj["knowledge_points"]) for _, obj in read_jsonl(samples)]
    hubs = hub_topics(load_graph(graph))
    rows = []
    for size in sizes:
        topics, kps, tid = encode(sets[:size])
        rows.append({**diversity(topics, kps, [tid[h] for h in hubs if h in tid]), "size": size})
    return rows


def write_results(folder: Path, evaluated: list[tuple[int, Path]], grader: str,
                  diversity: list[dict[str, Any]] | None = None) -> tuple[Path, list[Path]]:  # fmt: skip
    """``folder/results.csv`` from (size, eval folder) pairs, and ``folder/scaling.{png,svg}``;
    with ``diversity`` rows also ``folder/diversity.csv`` and a coverage panel in the plot."""
    from mathscale.run.plot import plot_results, read_results

    rows: list[dict[str, Any]] = []
    for size, eval_dir in evaluated:
        rows += metrics_rows(folder.name, size, json.loads((eval_dir / "metrics.json").read_text(encoding="utf-8")))
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
