"""``mathscale run|scale CONFIG --dry-run``: check the whole config and its inputs, print the plan.

No LLM call, no download, no conversion, no training, and nothing written: the checks each
stage's command makes before it starts work (configs, prompts, benchmark records, the
DeepSpeed config, the model name and whether it is cached), then every stage's command line
and the exact training launch command. Missing inputs are listed together, each with the
key that names it.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path

from mathscale.errors import MathscaleError
from mathscale.run.config import RunConfig
from mathscale.run.stages import Stage


def missing_inputs(cfg: RunConfig, seeds: Path, benchmarks: Path) -> list[str]:
    """Every input file the run reads that is not there, as 'key: path' lines."""
    missing = [f"seeds: {seeds}"] if not seeds.exists() else []
    if not benchmarks.exists() and not _cached_hub_dataset(cfg.benchmarks):
        hub = _hub_dataset(cfg.benchmarks)
        missing.append(f"benchmarks: {benchmarks}" + (f" (no such file or folder, nor a cached Hugging Face dataset; "
                       f"if it is one: `{hub.download_command()}`)" if hub else ""))  # fmt: skip
    for i, spec in enumerate(cfg.generate.decontamination.benchmarks):
        if not Path(spec).exists() and not _cached_hub_dataset(spec):
            missing.append(f"generate.decontamination.benchmarks[{i}]: {spec}")
    for key, value in (("train.deepspeed_config", cfg.train.deepspeed_config),
                       ("train.launch.hostfile", cfg.train.launch.hostfile)):  # fmt: skip
        if value and not Path(value).exists():
            missing.append(f"{key}: {value}")
    return missing


def _hub_dataset(spec: str):
    """A benchmark spec as a hub dataset id when it is no local path and reads as one, else None."""
    from mathscale.models.hub import parse_hub_id

    if not spec or Path(spec).exists():
        return None
    return parse_hub_id(spec, "dataset")


def _cached_hub_dataset(spec: str) -> Path | None:
    """A dry run downloads nothing: a hub dataset counts as present only when it is cached."""
    from mathscale.models.hub import cached_snapshot

    hub = _hub_dataset(spec)
    return cached_snapshot(hub) if hub else None


def check_stage_configs(cfg: RunConfig, seeds: Path, benchmarks: Path) -> None:
    """The checks the stage commands make at their start, on the run's sections."""
    from mathscale.eval.benchmarks import load_tasks
    from mathscale.generate.command import check_config
    from mathscale.generate.requests import qa_prompt, solve_prompt
    from mathscale.graph.extract import Failure, check_seeds, load_prompt
    from mathscale.io import read_jsonl
    from mathscale.templates import check_template

    load_prompt(cfg.extract.prompt)
    seeds_read = list(check_seeds(read_jsonl(seeds)))
    bad = [s for s in seeds_read if isinstance(s, Failure)]
    print(f"seeds {seeds}: {len(seeds_read) - len(bad)} questions" + (f", {len(bad)} bad lines (skipped and counted "
          f"by extract; first: {bad[0].to_json()})" if bad else ""))  # fmt: skip
    check_config(dataclasses.replace(cfg.generate, llm=cfg.llm))  # the run hands generate its llm section
    if cfg.eval.executor == "ray":
        from mathscale.eval.command import check_ray_eval

        check_ray_eval(cfg.eval)
    qa_prompt(cfg.generate.prompt)
    if cfg.generate.consensus.enabled:
        solve_prompt(cfg.generate.consensus.prompt)
    check_template(cfg.train.template)
    if cfg.eval.template:
        check_template(cfg.eval.template)
    tasks = load_tasks(str(benchmarks), cfg.eval.limit, cfg.eval.split)  # a hub dataset: only when cached
    print(f"benchmarks {benchmarks}: {len(tasks)} items")


def describe_teacher(cfg: RunConfig) -> str:
    from mathscale.llm.endpoints import resolve_endpoints

    urls = resolve_endpoints(cfg.llm)
    if urls:
        key = "set" if os.environ.get(cfg.llm.api_key_env) else "not set"
        model = cfg.llm.model or "the first model listed"
        return f"teacher: {model} at {', '.join(urls)} (${cfg.llm.api_key_env} {key})"
    return (f"teacher: the embedded llama.cpp model {cfg.llm.local_model} (no llm.base_urls and no OPENAI_BASE_URL"
            + (f"; llm.model={cfg.llm.model} is ignored without an endpoint" if cfg.llm.model else "") + ")")


def print_plan(cfg: RunConfig, source: str, folder: Path, seeds: Path, benchmarks: Path, stages: list[Stage]) -> None:
    """Check everything a run needs and print what it would do; raises MathscaleError when it could not start."""
    from mathscale.eval.backends import backend_named, unavailable
    from mathscale.models.hub import describe_model
    from mathscale.train.command import dry_run_notes, prepare

    missing = missing_inputs(cfg, seeds, benchmarks)
    if missing:
        raise MathscaleError(f"{source}: missing inputs (give them as key=path overrides or in the config):\n  "
                             + "\n  ".join(missing))  # fmt: skip
    check_stage_configs(cfg, seeds, benchmarks)
    print(describe_teacher(cfg))
    print(f"run folder {folder}/ (nothing is written by a dry run)")
    said: set[str] = set()  # notes already printed (the same base model under every size)
    for stage in stages:
        print(f"[{stage.name}] mathscale {stage.cli} --config {folder / 'configs' / (stage.name + '.yaml')}")
        notes = []
        if stage.cli == "train":
            _, launch, _ = prepare(stage.config, dry_run=True, data_ready=False)
            notes = [*dry_run_notes(stage.config, launch), f"launch: {launch.shell()}"]
        elif stage.cli == "eval":
            if backend_named(stage.config.backend).local_weights and not stage.upstream:
                notes.append(describe_model(stage.config.model))
            if missing := unavailable(stage.config.backend):
                notes.append(missing)
        for note in notes:
            if note not in said or note.startswith("launch: "):
                print(f"    {note}")
            said.add(note)
    sys.stdout.flush()
