"""Scaling plots: accuracy against the number of synthetic samples, log x axis.

``mathscale plot RESULTS.csv... --out FILE`` overlays several runs; ``scale`` draws its own.
The base model (size 0) cannot sit on a log axis: it is drawn as a dotted horizontal line.
"""

from __future__ import annotations

import argparse
import csv
from collections import defaultdict
from pathlib import Path
from typing import Any

from mathscale.errors import MathscaleError

NEEDED = {"run", "size", "dataset", "accuracy", "grader"}


def read_results(paths: list[Path]) -> list[dict[str, Any]]:
    rows = []
    for path in paths:
        if not path.is_file():
            raise MathscaleError(f"{path}: no such results file (from `mathscale scale`)")
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            missing = NEEDED - set(reader.fieldnames or [])
            if missing:
                raise MathscaleError(f"{path}: not a results.csv (missing columns {sorted(missing)})")
            for line, row in enumerate(reader, 2):
                try:
                    rows.append({**row, "size": int(row["size"]), "accuracy": float(row["accuracy"])})
                except ValueError:
                    raise MathscaleError(f"{path}:{line}: size and accuracy must be numbers") from None
    if not rows:
        raise MathscaleError("the results files hold no rows")
    return rows


def plot_results(rows: list[dict[str, Any]], out: Path, grader: str = "mathscale",
                 diversity: list[dict[str, Any]] | None = None) -> list[Path]:  # fmt: skip
    """One panel per dataset plus micro and macro; one line per run; with ``diversity`` rows
    (``run.results.diversity_rows``) a last panel of concept coverage. Writes PNG and SVG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in rows if r["grader"] == grader]
    if not rows:
        raise MathscaleError(f"no results for grader {grader!r}")
    datasets = sorted({r["dataset"] for r in rows} - {"micro", "macro"}) + ["micro", "macro"]
    runs = sorted({r["run"] for r in rows})
    series: dict[tuple[str, str], list[tuple[int, float]]] = defaultdict(list)
    for r in rows:
        series[(r["dataset"], r["run"])].append((r["size"], 100 * r["accuracy"]))
    panels = len(datasets) + bool(diversity)
    cols = min(3, panels)
    nrows = -(-panels // cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(4.2 * cols, 3.3 * nrows), squeeze=False)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, dataset in zip(axes.flat, datasets):
        for i, run in enumerate(runs):
            points = sorted(series.get((dataset, run), []))
            color = colors[i % len(colors)]
            curve = [(s, a) for s, a in points if s > 0]
            if curve:
                ax.plot(*zip(*curve), marker="o", color=color, label=run)
            for size, acc in points:
                if size == 0:
                    ax.axhline(acc, color=color, linestyle=":", linewidth=1, label=f"{run} base")
        ax.set_xscale("log")
        ax.set_title(dataset)
        ax.set_xlabel("synthetic samples")
        ax.set_ylabel(f"accuracy % ({grader})")
        ax.grid(True, which="both", alpha=0.3)
    if diversity:
        _coverage_panel(axes.flat[len(datasets)], diversity)
    for ax in list(axes.flat)[panels:]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    paths = [out.with_suffix(".png"), out.with_suffix(".svg")]
    for path in paths:
        fig.savefig(path, dpi=120)
    plt.close(fig)
    return paths


def _coverage_panel(ax: Any, rows: list[dict[str, Any]]) -> None:
    """Distinct concepts used against data size, and the share of compositions through a hub topic."""
    rows = sorted(rows, key=lambda r: r["size"])
    sizes = [r["size"] for r in rows]
    for key, label in (("topics", "topics"), ("kps", "knowledge points"), ("topic_pairs", "topic pairs")):
        ax.plot(sizes, [r[key] for r in rows], marker="o", label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_title("concept coverage")
    ax.set_xlabel("synthetic samples")
    ax.set_ylabel("distinct, used")
    ax.grid(True, which="both", alpha=0.3)
    hub = ax.twinx()
    hub.plot(sizes, [100 * r["hub_share"] for r in rows], color="gray", linestyle="--", marker=".", label="via a hub topic")
    hub.set_ylim(0, 100)
    hub.set_ylabel("% via a top-10 hub topic")
    lines, labels = ax.get_legend_handles_labels()
    more, more_labels = hub.get_legend_handles_labels()
    ax.legend(lines + more, labels + more_labels, fontsize=7)


def main(args: argparse.Namespace) -> int:
    out = Path(args.out)
    if out.suffix.lower() not in ("", ".png", ".svg"):
        raise MathscaleError(f"--out {out}: give a .png or .svg name (both are written)")
    if not out.parent.is_dir():
        raise MathscaleError(f"--out {out}: folder {out.parent} does not exist")
    paths = plot_results(read_results([Path(p) for p in args.results]), out, grader=args.grader)
    print("wrote " + ", ".join(str(p) for p in paths))
    return 0
