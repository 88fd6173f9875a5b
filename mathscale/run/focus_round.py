"""``scale`` with ``focus_round: true``: close the loop from per-concept accuracy to generation.

After the unfocused curve (every eval with ``concepts=true``), the model fine-tuned on the
first size S0 is weak at some concepts: its ``n<S0>/eval/concepts.csv``. A second generation
(``generate-focus``, seed ``generate.seed + FOCUS_SEED_OFFSET`` so it does not repeat the
first generation's requests) walks with ``walk.focus`` on that file and ``walk.boost =
focus_boost``. Each later size N trains on the same first S0 samples plus the first N - S0
focused ones (``focus/n<N>/``), and is evaluated per concept too.

``focus.csv`` and ``focus.{png,svg}`` compare the two curves per concept group: the concepts
weak at the start (the ones the focus boosts: at least one wrong answer in the first round)
and the rest. A group's accuracy pools its concepts' items (an item counts once per concept
it maps to).
"""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path
from typing import Any

from mathscale.errors import MathscaleError
from mathscale.graph.focus import CONCEPTS_CSV, read_concepts_csv
from mathscale.graph.normalize import fold
from mathscale.io import atomic_open, atomic_write
from mathscale.run.stages import Stage, run_stages

FOCUS_DIR = "focus"
FOCUS_SEED_OFFSET = 10_000  # the focused generation's seed: generate.seed + this
GROUPS = ("weak at start", "rest")
FIELDS = ["size", "curve", "group", "concepts", "items", "correct", "accuracy"]


def with_concept_eval(cfg: Any) -> Any:
    """``cfg`` with every evaluation per concept, mapped by the run's teacher unless the config names another."""
    from mathscale.llm.config import LLMConfig

    extraction = cfg.eval.concept_extraction
    if extraction.llm == LLMConfig():
        extraction = dataclasses.replace(extraction, llm=cfg.llm)
    return dataclasses.replace(cfg, eval=dataclasses.replace(cfg.eval, concepts=True, concept_extraction=extraction))


def combined_file(first: Path, first_n: int, focused: Path, focused_n: int, out: Path) -> None:
    """The first ``first_n`` samples of ``first`` and the first ``focused_n`` of ``focused`` (rewritten only on change)."""
    parts = []
    for path, n in ((first, first_n), (focused, focused_n)):
        with path.open(encoding="utf-8") as handle:
            lines = [line for _, line in zip(range(n), handle)]
        if len(lines) < n:
            raise MathscaleError(f"{path}: holds {len(lines)} samples, fewer than the {n} needed")
        parts += lines
    text = "".join(parts)
    if not out.exists() or out.read_text(encoding="utf-8") != text:
        out.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(out, text)


def run_focus_round(cfg: Any, folder: Path, seeds: Path, benchmarks: Path, sizes: list[int]) -> list[Any]:
    """Generate focused on the first size's weak concepts, train and evaluate every later size;
    returns the focused curve's points (a size the focused samples do not reach is marked missing)."""
    from mathscale.generate.command import main as generate_main
    from mathscale.run.command import synthesis_stages, train_eval_stages
    from mathscale.run.results import Point
    from mathscale.run.scale_command import count_samples, on_prefix, run_synthesis

    first, later = sizes[0], sizes[1:]
    weak_csv = folder / f"n{first}" / "eval" / CONCEPTS_CSV
    if not weak_csv.exists():
        raise MathscaleError(f"{weak_csv}: the first round's per-concept evaluation is missing; rerun the scale")
    focus_dir = folder / FOCUS_DIR
    samples = focus_dir / "samples.jsonl"
    generate = synthesis_stages(cfg, folder, seeds, later[-1] - first)[-1].config
    walk = dataclasses.replace(generate.walk, focus=[str(weak_csv)], boost=cfg.focus_boost)
    generate = dataclasses.replace(generate, out=str(samples), walk=walk, seed=generate.seed + FOCUS_SEED_OFFSET)
    stage = Stage("generate-focus", "generate", generate_main, generate, [samples], ["build", f"eval-n{first}"],
                  inputs=[weak_csv], grow="n")  # fmt: skip
    run_synthesis([stage], folder)
    available = count_samples(samples)
    stages: list[Stage] = []
    points = []
    for size in later:
        if size - first > available:
            points.append(Point(size, missing=f"not reached: generate-focus wrote {available} of {later[-1] - first}"))
            continue
        data = focus_dir / f"n{size}" / "samples.jsonl"
        combined_file(folder / "samples.jsonl", first, samples, size - first, data)
        stages += on_prefix(train_eval_stages(cfg, data, focus_dir / f"n{size}", benchmarks, tag=f"-focus-n{size}",
                                              upstream="generate-focus"))  # fmt: skip
        points.append(Point(size, focus_dir / f"n{size}" / "eval"))
    run_stages(stages, folder)
    return points


def weak_concepts(path: Path) -> set[tuple[str, str]]:
    """(kind, folded name) of the concepts with at least one wrong answer: the ones the focus boosts."""
    return {(r.kind, fold(r.concept)) for r in read_concepts_csv(path) if r.weakness > 0}


def group_rows(size: int, curve: str, eval_dir: Path, weak: set[tuple[str, str]]) -> list[dict[str, Any]]:
    """Pooled items and right answers of the weak-at-start concepts and of the rest, for one evaluation."""
    totals = {g: [0, 0, 0] for g in GROUPS}  # concepts, items, correct
    for row in read_concepts_csv(eval_dir / CONCEPTS_CSV):
        t = totals[GROUPS[0] if (row.kind, fold(row.concept)) in weak else GROUPS[1]]
        t[0], t[1], t[2] = t[0] + 1, t[1] + row.items, t[2] + row.correct
    return [{"size": size, "curve": curve, "group": g, "concepts": c, "items": n, "correct": k,
             "accuracy": round(k / n, 4) if n else ""} for g, (c, n, k) in totals.items()]  # fmt: skip


def write_focus_curves(folder: Path, first: int, unfocused: list[Any], focused: list[Any]) -> tuple[Path, list[Path]]:
    """``folder/focus.csv`` and ``folder/focus.{png,svg}``: accuracy per concept group, unfocused vs focused."""
    from mathscale.run.scaling_plot import draw_panels

    weak = weak_concepts(folder / f"n{first}" / "eval" / CONCEPTS_CSV)
    start = [p for p in unfocused if not p.missing and p.size <= first]  # shared by both curves
    rows: list[dict[str, Any]] = []
    for curve, points in (("unfocused", unfocused), ("focused", start + focused)):
        for p in sorted((p for p in points if not p.missing), key=lambda p: p.size):
            rows += group_rows(p.size, curve, p.eval_dir, weak)
    table = folder / "focus.csv"
    with atomic_open(table) as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)

    def panel(group: str):
        def draw(ax: Any) -> None:
            for curve, style in (("unfocused", "o-"), ("focused", "s--")):
                pts = [(r["size"], r["accuracy"]) for r in rows if r["curve"] == curve and r["group"] == group
                       and r["accuracy"] != ""]  # fmt: skip
                if pts:
                    ax.plot([max(s, 1) for s, _ in pts], [100 * a for _, a in pts], style, label=curve)
            if not any(r["group"] == group and r["accuracy"] != "" for r in rows):
                ax.text(0.5, 0.5, "no benchmark item maps to this group", ha="center", va="center",
                        transform=ax.transAxes, fontsize=9)  # fmt: skip
            ax.set_xscale("log")
            ax.set_ylim(0, 100)
            ax.set_xlabel("training samples (size 0 drawn at 1)")
            ax.set_ylabel("accuracy (%)")
            ax.set_title(f"concepts {group}" + (" (after the first round)" if group == GROUPS[0] else ""), fontsize=9)

        return draw

    plots = draw_panels([panel(g) for g in GROUPS], folder / "focus", title=f"focus on the weak concepts after n={first}")
    return table, plots
