"""``mathscale scale CONFIG``: accuracy against the amount of synthetic data.

One generation of max(sizes) samples; the training sets are its prefixes (generation
slots nest, so the first N samples of a bigger run are exactly an N-sample run); one
fine-tune of the same base model per size, an evaluation of each and of the base model;
``results.csv`` and a plot with a log x axis. A larger size extends the generation and
trains only the new size: a prefix's training depends on the prefix's content.
``diversity.csv`` holds the concepts the first N samples use (graph/diversity.py), plotted as
concept coverage beside accuracy.

``repeats: R`` draws R independent curves (repetition r > 0 generates with
``generate.seed + r`` and trains with ``train.seed + r`` in ``OUT/repeat<r>/``, from the
same concept graph); the plot shows their mean and min–max band.

``focus_round: true`` evaluates every model per concept and, after the first size, generates
the later sizes focused on the weak concepts of the model fine-tuned on it; ``focus.csv`` and
``focus.png`` compare the focused and unfocused curves (:mod:`mathscale.run.focus_round`).

When generation comes up short (the teacher stopped yielding new acceptable questions),
nothing finished is thrown away: every size the samples reach is trained and evaluated,
the others are marked "not reached" in ``results.csv`` and on the plot, and the run ends
by naming them. Exit status: 0 when every size of every repetition was evaluated; 3 when
the curve was drawn with sizes missing (the message says which and what to change); 2
for an error.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from mathscale.errors import MathscaleError, ShortfallError
from mathscale.io import atomic_write
from mathscale.run.command import (
    base_eval_stage,
    check_owned,
    input_paths,
    record_usage,
    resolve_inputs,
    synthesis_stages,
    train_eval_stages,
)
from mathscale.run.config import ScaleConfig
from mathscale.run.results import Point, diversity_rows, write_results
from mathscale.run.stages import Stage, prune, run_stages


@dataclass(frozen=True)
class ScaleResult:
    folder: Path
    results: Path | None  # results.csv (None for a dry run)
    plots: list[Path]
    not_reached: list[int]  # sizes generation did not reach (of any repetition)

    @property
    def exit_code(self) -> int:
        return ShortfallError.exit_code if self.not_reached else 0


def prefix_file(samples: Path, size: int, out: Path) -> None:
    """The first ``size`` samples as their own file (rewritten only when they differ)."""
    with samples.open(encoding="utf-8") as handle:
        lines = [line for _, line in zip(range(size), handle)]
    if len(lines) < size:
        raise MathscaleError(f"{samples}: holds {len(lines)} samples, fewer than the size {size}")
    text = "".join(lines)
    if not out.exists() or out.read_text(encoding="utf-8") != text:
        out.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(out, text)


def on_prefix(stages: list[Stage]) -> list[Stage]:
    """Train on a prefix depends on the prefix's content, not on the whole generation: adding a
    size extends the generation without retraining the sizes already trained."""
    train = stages[0]
    train.inputs.append(Path(train.config.data))
    train.upstream = []
    return stages


def count_samples(path: Path) -> int:
    if not path.exists():
        return 0
    with path.open(encoding="utf-8") as handle:
        return sum(1 for line in handle if line.strip())


def repeat_cfg(cfg: ScaleConfig, r: int) -> ScaleConfig:
    """Repetition ``r``: the same settings with the generation and training seeds moved by r."""
    if r == 0:
        return cfg
    return dataclasses.replace(cfg, generate=dataclasses.replace(cfg.generate, seed=cfg.generate.seed + r),
                               train=dataclasses.replace(cfg.train, seed=cfg.train.seed + r))  # fmt: skip


def repetition(cfg: ScaleConfig, r: int, folder: Path) -> tuple[ScaleConfig, Path, str]:
    """Repetition ``r``'s config, folder and stage-name tag."""
    return repeat_cfg(cfg, r), (folder / f"repeat{r}" if r else folder), (f"-r{r}" if r else "")


def repetition_synthesis(rcfg: ScaleConfig, r: int, folder: Path, rfolder: Path, tag: str, seeds: Path,
                         n: int) -> list[Stage]:  # fmt: skip
    """extract -> build -> generate; repetitions after the first share the graph and only generate."""
    synthesis = synthesis_stages(rcfg, folder, seeds, n)
    if r:
        samples = rfolder / "samples.jsonl"
        generate = dataclasses.replace(synthesis[-1].config, out=str(samples))
        synthesis[-1] = dataclasses.replace(synthesis[-1], name=f"generate{tag}", outputs=[samples], config=generate)
    return synthesis


def size_stages(rcfg: ScaleConfig, rfolder: Path, size: int, benchmarks: Path, tag: str, upstream: str) -> list[Stage]:
    return on_prefix(train_eval_stages(rcfg, rfolder / f"n{size}" / "samples.jsonl", rfolder / f"n{size}", benchmarks,
                                       tag=f"-n{size}{tag}", upstream=upstream))  # fmt: skip


def run_synthesis(stages: list[Stage], folder: Path) -> None:
    """Run the synthesis stages; a shortfall is reported, and the caller goes on with the samples there are."""
    try:
        run_stages(stages, folder)
    except ShortfallError as exc:
        print(f"[{stages[-1].name}] came up short; the sizes its samples reach are still trained\n  {exc}")


def main(cfg: ScaleConfig, source: str = "the scale config") -> ScaleResult:
    """The scaling curve in ``cfg.out``; ``source`` names the config in error messages."""
    check_owned(cfg, source)
    sizes = sorted(set(cfg.sizes))
    if not sizes or sizes[0] <= 0:
        raise MathscaleError(f"{source}: sizes must be positive sample counts, got {cfg.sizes}")
    if cfg.repeats < 1:
        raise MathscaleError(f"{source}: repeats must be at least 1, got {cfg.repeats}")
    if cfg.focus_round:
        from mathscale.run.focus_round import with_concept_eval

        if len(sizes) < 2:
            raise MathscaleError(f"{source}: focus_round needs at least two sizes (a first round, then focused ones)")
        cfg = with_concept_eval(cfg)
    folder = Path(cfg.out)
    seeds, benchmarks = input_paths(cfg) if cfg.dry_run else resolve_inputs(cfg)
    if cfg.dry_run:
        from mathscale.run.plan import print_plan

        # in the order a real run takes: every generation first, then the base model and each size
        planned, later = [], [base_eval_stage(cfg, folder, benchmarks)] if cfg.eval_base else []
        for r in range(cfg.repeats):
            rcfg, rfolder, tag = repetition(cfg, r, folder)
            synthesis = repetition_synthesis(rcfg, r, folder, rfolder, tag, seeds, sizes[-1])
            planned += synthesis[1 if r else 0 :]  # later repetitions share extract and build
            for size in sizes:
                later += size_stages(rcfg, rfolder, size, benchmarks, tag, synthesis[-1].name)
        print_plan(cfg, source, folder, seeds, benchmarks, planned + later)
        return ScaleResult(folder, None, [], [])
    folder.mkdir(parents=True, exist_ok=True)

    points: list[Point] = []
    stages: list[Stage] = [base_eval_stage(cfg, folder, benchmarks)] if cfg.eval_base else []
    if cfg.eval_base:
        points.append(Point(0, folder / "base" / "eval"))
    for r in range(cfg.repeats):
        rcfg, rfolder, tag = repetition(cfg, r, folder)
        synthesis = repetition_synthesis(rcfg, r, folder, rfolder, tag, seeds, sizes[-1])
        run_synthesis(synthesis, folder)
        available = count_samples(rfolder / "samples.jsonl")
        for size in sizes:
            if size > available:
                points.append(Point(size, seed=rcfg.generate.seed,
                                    missing=f"not reached: generate wrote {available} of {sizes[-1]} samples"))  # fmt: skip
                continue
            prefix_file(rfolder / "samples.jsonl", size, rfolder / f"n{size}" / "samples.jsonl")
            stages += size_stages(rcfg, rfolder, size, benchmarks, tag, synthesis[-1].name)
            points.append(Point(size, rfolder / f"n{size}" / "eval", seed=rcfg.generate.seed))
    manifest = run_stages(stages, folder)
    focus_points = None
    if cfg.focus_round:
        from mathscale.run.focus_round import run_focus_round

        focus_points = run_focus_round(cfg, folder, seeds, benchmarks, sizes)
    if cfg.prune:
        prune(folder)
    record_usage(manifest, folder)
    diversity = diversity_rows(folder / "samples.jsonl", sizes, folder / "graph.json")  # the first repetition's
    results, plots = write_results(folder, points, cfg.eval.grader, diversity)
    if focus_points is not None:
        from mathscale.run.focus_round import write_focus_curves

        table, focus_plots = write_focus_curves(folder, sizes[0], [p for p in points if p.seed in ("", cfg.generate.seed)],
                                                focus_points)  # fmt: skip
        plots = [*plots, *focus_plots]
        print(f"\nfocused vs unfocused, per concept group: {table}")
    print(f"\nresults: {results}\nplot: {', '.join(str(p) for p in plots)}")
    missing = [p for p in points if p.missing]
    result = ScaleResult(folder, results, list(plots), [p.size for p in missing])
    if not missing:
        return result
    names = ", ".join(f"{p.size}" + (f" (seed {p.seed})" if cfg.repeats > 1 else "") for p in missing)
    print(f"\nnot reached: size {names} — generation came up short, so these sizes are marked in {results.name} and "
          f"on the plot; the other sizes are trained and evaluated. What to change is in generate's message above "
          f"(more seed questions, a larger generate.max_attempts, a stronger teacher, or smaller sizes).")  # fmt: skip
    return result
