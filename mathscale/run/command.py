"""``mathscale run CONFIG``: extract -> build -> generate -> train -> eval in one run folder.

Each stage is its command's ``main(cfg)``, called here with the stage's section of the run
config, completed with the paths that connect the stages (:mod:`mathscale.run.stages`
decides what is up to date).
"""

from __future__ import annotations

import dataclasses
import importlib.resources
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mathscale.errors import MathscaleError
from mathscale.eval.command import main as eval_main
from mathscale.generate.command import main as generate_main
from mathscale.graph.command import build_main, extract_main
from mathscale.llm.config import LLMConfig
from mathscale.run.config import RunConfig
from mathscale.run.results import Point, write_results
from mathscale.run.stages import Manifest, Stage, prune, run_stages
from mathscale.train.artifacts import MERGED_DIR
from mathscale.train.command import main as train_main

# Fields the run sets itself, to connect the stages; a config that sets them is an error.
OWNED = {
    "extract": ("seeds", "out"),
    "build": ("concepts", "out", "mapping"),
    "generate": ("graph", "out", "shard"),
    "train": ("data", "model", "out", "resume", "dry_run"),
    "eval": ("model", "benchmarks", "out"),
}


@dataclass(frozen=True)
class RunResult:
    folder: Path
    results: Path | None  # results.csv (None for a dry run)
    plot: Path | None


def packaged(name: str) -> Path:
    return Path(str(importlib.resources.files("mathscale").joinpath("data", name)))


def check_owned(cfg: RunConfig, source: str) -> None:
    for section, names in OWNED.items():
        default = type(getattr(cfg, section))()
        for name in names:
            if getattr(getattr(cfg, section), name) != getattr(default, name):
                raise MathscaleError(f"{source}: {section}.{name} is set by the run itself; remove it "
                                     f"(use seeds, base_model, benchmarks or out at the top level)")  # fmt: skip
    for section in ("extract", "generate"):
        if getattr(cfg, section).llm != LLMConfig():
            raise MathscaleError(f"{source}: {section}.llm: a run has one llm section, at the top level")


def input_paths(cfg: RunConfig) -> tuple[Path, Path]:
    """The seeds and benchmarks the run reads (the packaged quickstart files when not set)."""
    seeds = Path(cfg.seeds) if cfg.seeds else packaged("quickstart_seeds.jsonl")
    benchmarks = Path(cfg.benchmarks) if cfg.benchmarks else packaged("quickstart_eval.jsonl")
    return seeds, benchmarks


def resolve_inputs(cfg: RunConfig) -> tuple[Path, Path]:
    """:func:`input_paths`, each checked: a file or folder, or (benchmarks) a hub dataset id."""
    from mathscale.models.hub import parse_hub_id

    seeds, benchmarks = input_paths(cfg)
    for name, path in (("seeds", seeds), ("benchmarks", benchmarks)):
        hub = name == "benchmarks" and cfg.benchmarks and parse_hub_id(cfg.benchmarks, "dataset")
        if not path.exists() and not hub:
            raise MathscaleError(f"{name}: {path} does not exist")
    return seeds, benchmarks


def local_inputs(*paths: Path) -> list[Path]:
    """The inputs whose content keys a stage: files and folders on disk (not hub ids)."""
    return [p for p in paths if p.exists()]


def synthesis_stages(cfg: RunConfig, folder: Path, seeds: Path, n: int) -> list[Stage]:
    """extract -> build -> generate: the same for a run and for a scaling curve."""
    concepts, graph, samples = folder / "concepts.jsonl", folder / "graph.json", folder / "samples.jsonl"
    extract = dataclasses.replace(cfg.extract, llm=cfg.llm, seeds=str(seeds), out=str(concepts))
    build = dataclasses.replace(cfg.build, concepts=str(concepts), out=str(graph))
    generate = dataclasses.replace(cfg.generate, llm=cfg.llm, n=n, graph=str(graph), out=str(samples))
    return [
        Stage("extract", "graph extract", extract_main, extract, [concepts], inputs=[seeds], appends=True),
        Stage("build", "graph build", build_main, build, [graph], ["extract"]),
        Stage("generate", "generate", generate_main, generate, [samples], ["build"], grow="n", appends=True),
    ]


def train_eval_stages(cfg: RunConfig, samples: Path, folder: Path, benchmarks: Path, tag: str = "",
                      upstream: str = "generate") -> list[Stage]:  # fmt: skip
    model_dir, eval_dir = folder / "model", folder / "eval"
    train = dataclasses.replace(cfg.train, data=str(samples), model=cfg.base_model, out=str(model_dir))
    evaluate = dataclasses.replace(cfg.eval, model=str(trained_model(model_dir, train)), benchmarks=str(benchmarks),
                                   out=str(eval_dir), template=cfg.train.template)  # fmt: skip
    return [
        Stage(f"train{tag}", "train", train_main, train, [model_dir], [upstream], resume={"resume": True}),
        Stage(f"eval{tag}", "eval", eval_main, evaluate, [eval_dir], [f"train{tag}"], inputs=local_inputs(benchmarks)),
    ]


def trained_model(model_dir: Path, train: Any) -> Path:
    """Where eval finds the trained weights: the merged model when LoRA merged them, else the folder."""
    return model_dir / MERGED_DIR if train.lora and train.lora_settings.merge else model_dir


def base_eval_stage(cfg: RunConfig, folder: Path, benchmarks: Path) -> Stage:
    """Evaluate the untrained student the same way: the point at size 0.

    The model goes to eval as named (folder, hub id or named model): eval resolves it, so
    building the stage converts and downloads nothing.
    """
    evaluate = dataclasses.replace(cfg.eval, model=cfg.base_model, benchmarks=str(benchmarks),
                                   out=str(folder / "base" / "eval"), template=cfg.train.template)  # fmt: skip
    return Stage("eval-base", "eval", eval_main, evaluate, [folder / "base" / "eval"], inputs=local_inputs(benchmarks))


def record_usage(manifest: Manifest, folder: Path) -> dict[str, Any]:
    """Tokens and cost of the LLM stages, from their reports, into the manifest."""
    usage: dict[str, Any] = {}
    sources = {"extract": folder / "concepts.report.json", "generate": folder / "samples.usage.json"}
    for stage, path in sources.items():
        if path.exists():
            data = json.loads(path.read_text(encoding="utf-8"))
            usage[stage] = data.get("total") or data.get("usage", data)  # usage/2 files hold every invocation's
    totals = {k: sum((u or {}).get(k) or 0 for u in usage.values()) for k in ("prompt_tokens", "completion_tokens")}
    costs = [(u or {}).get("cost_usd") for u in usage.values()]
    totals["cost_usd"] = None if any(c is None for c in costs) else sum(costs)
    manifest.data["llm"] = {"stages": usage, "total": totals}
    manifest.save()
    return totals


def main(cfg: RunConfig, source: str = "the run config") -> RunResult:
    """The whole loop in ``cfg.out``; ``source`` names the config in error messages."""
    check_owned(cfg, source)
    folder = Path(cfg.out)
    seeds, benchmarks = input_paths(cfg) if cfg.dry_run else resolve_inputs(cfg)
    stages = synthesis_stages(cfg, folder, seeds, cfg.generate.n)
    stages += train_eval_stages(cfg, folder / "samples.jsonl", folder, benchmarks)
    if cfg.eval_base:
        stages.append(base_eval_stage(cfg, folder, benchmarks))
    if cfg.dry_run:
        from mathscale.run.plan import print_plan

        print_plan(cfg, source, folder, seeds, benchmarks, stages)
        return RunResult(folder, None, None)
    folder.mkdir(parents=True, exist_ok=True)
    manifest = run_stages(stages, folder)
    if cfg.prune:
        prune(folder)
    totals = record_usage(manifest, folder)
    points = ([Point(0, folder / "base" / "eval")] if cfg.eval_base else []) + [Point(cfg.generate.n, folder / "eval")]
    results, plots = write_results(folder, points, cfg.eval.grader)
    timings = ", ".join(f"{k} {v.get('seconds', 0):.0f} s" for k, v in manifest.data["stages"].items())
    print(f"\nrun folder {folder}/ (manifest.json: configs, versions, timings, tokens)")
    print(f"stage times (last execution): {timings}")
    print(f"LLM tokens: {totals['prompt_tokens']} in / {totals['completion_tokens']} out")
    if cfg.eval_base:
        print("\nbase model " + (folder / "base" / "eval" / "results.md").read_text(encoding="utf-8"))
    print("trained model " + (folder / "eval" / "results.md").read_text(encoding="utf-8"))
    print(f"results: {results}\nplot: {plots[0]}")
    return RunResult(folder, results, plots[0])
