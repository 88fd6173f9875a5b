"""``mathscale scale CONFIG``: accuracy against the amount of synthetic data.

One generation of max(sizes) samples; the training sets are its prefixes (generation
slots nest, so the first N samples of a bigger run are exactly an N-sample run); one
fine-tune of the same base model per size, an evaluation of each and of the base model;
``results.csv``, ``diversity.csv`` (the concepts the first N samples use) and a plot with a
log x axis: accuracy per dataset, and concept coverage beside it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from mathscale.config import load_config
from mathscale.errors import MathscaleError
from mathscale.io import atomic_write
from mathscale.run.command import (
    base_eval_stage,
    check_owned,
    record_usage,
    resolve_inputs,
    synthesis_stages,
    train_eval_stages,
)
from mathscale.run.config import ScaleConfig
from mathscale.run.results import diversity_rows, write_results
from mathscale.run.stages import Stage, invoke_cli, run_stages

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


def main(args: argparse.Namespace) -> int:
    source = args.config or "defaults"
    cfg = load_config(ScaleConfig, args.config, args.overrides)
    check_owned(cfg, source)
    sizes = sorted(set(cfg.sizes))
    if not sizes or sizes[0] <= 0:
        raise MathscaleError(f"{source}: sizes must be positive sample counts, got {cfg.sizes}")
    seeds, benchmarks = resolve_inputs(cfg)
    folder = Path(cfg.out)
    folder.mkdir(parents=True, exist_ok=True)
    run_stages(synthesis_stages(cfg, folder, seeds, sizes[-1]), folder, invoke_cli)

    samples = folder / "samples.jsonl"
    stages: list[Stage] = []
    for size in sizes:
        prefix_file(samples, size, folder / f"n{size}" / "samples.jsonl")
        stages += train_eval_stages(cfg, folder / f"n{size}" / "samples.jsonl", folder / f"n{size}", benchmarks,
                                    tag=f"-n{size}")  # fmt: skip
    if cfg.eval_base:
        stages.insert(0, base_eval_stage(cfg, folder, benchmarks))
    manifest = run_stages(stages, folder, invoke_cli)
    record_usage(manifest, folder)
    evaluated = ([(0, folder / "base" / "eval")] if cfg.eval_base else []) + [(s, folder / f"n{s}" / "eval") for s in sizes]
    diversity = diversity_rows(samples, sizes, folder / "graph.json")
    results, plots = write_results(folder, evaluated, cfg.eval.grader, diversity)
    print(f"\nresults: {results}\nplot: {', '.join(str(p) for p in plots)}")
    return 0
