"""Scaling plots: accuracy against the number of synthetic samples, log x axis.

``mathscale plot RESULTS.csv... --out FILE`` overlays several runs (:mod:`mathscale.run.plot_command`);
``scale`` draws its own.
One panel per dataset, then micro and macro. In each, a run is a line through its sizes
(a point per size, its accuracy written beside it when there are few); repetitions with
different seeds become their mean and a shaded min–max band. The base model (size 0)
cannot sit on a log axis: it is a dashed horizontal line labelled "base model". A size the
run could not reach is a grey dotted vertical line marked "not reached".

The figure is a list of panels, each a function that draws on one matplotlib axis
(:func:`accuracy_panel`); another figure of a run is one more function in that list.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mathscale.errors import MathscaleError
from mathscale.io import atomic_open

NEEDED = {"run", "size", "dataset", "accuracy", "grader"}
Panel = Callable[[Any], None]  # draws one panel on a matplotlib Axes


def read_results(paths: list[Path]) -> list[dict[str, Any]]:
    """Rows of results.csv files; a row of a size not reached keeps ``accuracy`` None."""
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
                status = row.get("status") or "ok"
                try:
                    accuracy = float(row["accuracy"]) if status == "ok" else None
                    rows.append({**row, "size": int(row["size"]), "accuracy": accuracy, "status": status,
                                 "seed": row.get("seed") or ""})  # fmt: skip
                except ValueError:
                    raise MathscaleError(f"{path}:{line}: size and accuracy must be numbers") from None
    if not rows:
        raise MathscaleError("the results files hold no rows")
    return rows


def accuracy_panel(rows: list[dict[str, Any]], dataset: str, runs: list[str], grader: str) -> Panel:
    """The panel of one dataset (or micro/macro): every run's curve, base line and missing sizes."""
    scores: dict[str, dict[int, list[float]]] = {run: defaultdict(list) for run in runs}
    items = ""
    for r in rows:
        if r["dataset"] == dataset and r["accuracy"] is not None:
            scores[r["run"]][r["size"]].append(100 * r["accuracy"])
            items = r.get("total") or items
    unreached = sorted({(r["run"], r["size"]) for r in rows if r["accuracy"] is None})

    def draw(ax: Any) -> None:
        import matplotlib.pyplot as plt

        colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
        for i, run in enumerate(runs):
            color, name = colors[i % len(colors)], (f"{run}: " if len(runs) > 1 else "")
            if base := scores[run].get(0):
                mean = sum(base) / len(base)
                ax.axhline(mean, color=color, linestyle="--", linewidth=1.2, label=f"{name}base model (0 samples)")
                ax.annotate(f"base {mean:.1f}", (0.01, mean), xycoords=("axes fraction", "data"), xytext=(0, 2),
                            textcoords="offset points", fontsize=7, color=color, va="bottom")  # fmt: skip
                if len(base) > 1:
                    ax.axhspan(min(base), max(base), color=color, alpha=0.1)
            curve = sorted((s, v) for s, v in scores[run].items() if s > 0)
            if not curve:
                continue
            sizes = [s for s, _ in curve]
            means = [sum(v) / len(v) for _, v in curve]
            seeds = max(len(v) for _, v in curve)
            label = f"{name}fine-tuned" + (f" (mean of {seeds} seeds, min–max band)" if seeds > 1 else "")
            ax.plot(sizes, means, marker="o", color=color, label=label)
            if seeds > 1:
                ax.fill_between(sizes, [min(v) for _, v in curve], [max(v) for _, v in curve], color=color, alpha=0.2)
            if len(runs) == 1 and len(curve) <= 8:
                for size, mean in zip(sizes, means):
                    ax.annotate(f"{mean:.1f}", (size, mean), textcoords="offset points", xytext=(0, 6),
                                ha="center", fontsize=7, color=color)  # fmt: skip
        for j, (run, size) in enumerate(unreached):
            ax.axvline(size, color="grey", linestyle=":", linewidth=1.2,
                       label="size not reached (generation came up short)" if j == 0 else None)  # fmt: skip
            ax.annotate("not reached", (size, 0.5), xycoords=("data", "axes fraction"), rotation=90, fontsize=7,
                        color="grey", ha="right", va="center")  # fmt: skip
        drawn = sorted({s for run in runs for s in scores[run] if s > 0} | {s for _, s in unreached})
        ax.set_xscale("log")
        if drawn:
            ax.set_xticks(drawn, [str(s) for s in drawn])
            ax.minorticks_off()
            ax.set_xlim(drawn[0] / 1.5, drawn[-1] * 1.5)
        top = max([v for run in runs for vals in scores[run].values() for v in vals] or [0])
        ax.set_ylim(0, max(5.0, top * 1.2))
        ax.set_title(dataset + (f" ({items} items)" if items and dataset != "macro" else ""))
        ax.set_xlabel("synthetic training samples (log scale)")
        ax.set_ylabel(f"accuracy % ({grader} grader)")
        ax.grid(True, alpha=0.3)

    return draw


def accuracy_panels(rows: list[dict[str, Any]], grader: str) -> list[Panel]:
    """One panel per dataset, then micro and macro."""
    graded = [r for r in rows if r["grader"] == grader or r["accuracy"] is None]
    if not any(r["accuracy"] is not None for r in graded):
        raise MathscaleError(f"no results for grader {grader!r}")
    runs = sorted({r["run"] for r in graded})
    datasets = sorted({r["dataset"] for r in graded if r["accuracy"] is not None} - {"micro", "macro"})
    return [accuracy_panel(graded, name, runs, grader) for name in [*datasets, "micro", "macro"]]


def draw_panels(panels: list[Panel], out: Path, title: str = "") -> list[Path]:
    """Lay the panels out three to a row; writes ``out`` as PNG and SVG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = min(3, len(panels))
    nrows = -(-len(panels) // cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(4.6 * cols, 3.6 * nrows), squeeze=False)
    for ax, panel in zip(axes.flat, panels):
        panel(ax)
    for ax in list(axes.flat)[len(panels) :]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    seen = dict(zip(labels, handles))
    for ax in list(axes.flat)[1 : len(panels)]:  # a size can be missing from some panels only
        for handle, label in zip(*ax.get_legend_handles_labels()):
            seen.setdefault(label, handle)
    spare = list(axes.flat)[len(panels) :]
    if spare:  # the legend fills the first empty cell of the grid
        spare[0].legend(list(seen.values()), list(seen), loc="center", fontsize=9, frameon=False)
    else:
        fig.legend(list(seen.values()), list(seen), loc="lower center", ncol=min(3, len(seen)), fontsize=8,
                   frameon=False)  # fmt: skip
    if title:
        fig.suptitle(title)
    fig.tight_layout(rect=(0, 0 if spare else 0.08 / nrows, 1, 1))
    paths = [out.with_suffix(".png"), out.with_suffix(".svg")]
    for path in paths:
        with atomic_open(path, "wb") as handle:  # creates the folder; never a half-written plot
            fig.savefig(handle, dpi=120, format=path.suffix[1:])
    plt.close(fig)
    return paths


def coverage_panel(rows: list[dict[str, Any]]) -> Panel:
    """Distinct concepts the first N samples use (``run.results.diversity_rows``), and the share of
    their compositions through a top-10 hub topic: accuracy should grow because coverage does."""
    rows = sorted(rows, key=lambda r: r["size"])
    sizes = [r["size"] for r in rows]

    def draw(ax: Any) -> None:
        import matplotlib.pyplot as plt

        for key, label in (("topics", "topics used"), ("kps", "knowledge points used"), ("topic_pairs", "topic pairs used")):
            ax.plot(sizes, [r[key] for r in rows], marker="o", label=label)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks(sizes, [str(n) for n in sizes], minor=False)
        ax.xaxis.set_minor_locator(plt.NullLocator())
        ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:g}"))  # 20, 30, 40, not 2x10^1
        ax.yaxis.set_minor_formatter(plt.FuncFormatter(lambda v, _: f"{v:g}"))
        ax.set_title("concept coverage")
        ax.set_xlabel("synthetic samples")
        ax.set_ylabel("distinct")
        ax.grid(True, which="both", alpha=0.3)
        hub = ax.twinx()
        hub.plot(sizes, [100 * r["hub_share"] for r in rows], color="gray", linestyle="--", marker=".",
                 label="% via a top-10 hub topic")  # fmt: skip
        hub.set_ylim(0, 100)
        hub.set_ylabel("% via a top-10 hub topic")
        hub.legend(loc="lower right", fontsize=7)

    return draw


def plot_results(rows: list[dict[str, Any]], out: Path, grader: str = "mathscale",
                 diversity: list[dict[str, Any]] | None = None) -> list[Path]:  # fmt: skip
    """The scaling figure of results.csv rows (see the module docstring), with a concept-coverage
    panel when ``diversity`` rows are given. Writes PNG and SVG."""
    title = "Accuracy against the amount of synthetic data"
    panels = accuracy_panels(rows, grader) + ([coverage_panel(diversity)] if diversity else [])
    return draw_panels(panels, out, title)
