"""``mathscale train``: check every input, write the run's config, print and run the launch command.

All checks happen here, before any process starts: the data (empty, or a sample without
question or solution), the model, the DeepSpeed config, the process count against the
devices, and --resume against the checkpoints present. ``--dry-run`` stops after printing.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

from mathscale.config import dump_config, load_config
from mathscale.errors import MathscaleError
from mathscale.io import atomic_write, atomic_write_json, check_output_path
from mathscale.models.hub import describe_model, local_model_folder, model_folder, parse_model
from mathscale.train.artifacts import BREAKDOWN_FILE, CONFIG_NAME, DIAGNOSIS_FILE, DS_CONFIG_NAME, MERGED_DIR, METRICS_FILE
from mathscale.train.config import TrainConfig
from mathscale.train.data import load_examples
from mathscale.train.launch import (
    Launch,
    build_launch,
    load_deepspeed_config,
    resolve_deepspeed,
    resolve_device,
    resolve_num_processes,
)

log = logging.getLogger(__name__)

_FLAGS = {"data": "data", "model": "model", "out": "out", "deepspeed": "deepspeed", "lora": "lora",
          "num_processes": "num_processes", "resume": "resume", "auto_batch_size": "auto_batch_size"}  # fmt: skip


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    overrides = list(getattr(args, "overrides", None) or [])
    cfg = load_config(TrainConfig, args.config, overrides)
    changes = {field: getattr(args, flag) for flag, field in _FLAGS.items() if getattr(args, flag, None) is not None}
    cfg = dataclasses.replace(cfg, **changes)
    launch = cfg.launch
    if getattr(args, "num_machines", None) is not None:
        launch = dataclasses.replace(launch, num_machines=args.num_machines)
    if getattr(args, "hostfile", None):
        launch = dataclasses.replace(launch, hostfile=args.hostfile)
    return dataclasses.replace(cfg, launch=launch)


def prepare(cfg: TrainConfig, *, dry_run: bool, data_ready: bool = True) -> tuple[TrainConfig, Launch, dict | None]:
    """Check everything and build the launch; raises MathscaleError before anything starts.

    A dry run converts and downloads nothing (the model need not be on disk yet).
    ``data_ready=False`` skips reading the samples (a run's dry run, before generate wrote them).
    """
    for name in ("data", "model", "out"):
        if not getattr(cfg, name):
            raise MathscaleError(f"no --{name} given (or {name}= in the config)")
    examples = load_examples(cfg.data, cfg.limit) if data_ready else None
    parse_model(cfg.model)  # a name that cannot mean a model fails here, before anything slow
    device = resolve_device(cfg) if not dry_run or cfg.launch.device == "auto" else cfg.launch.device
    nproc = resolve_num_processes(cfg, device, check_devices=not dry_run)
    cfg = resolve_deepspeed(cfg, nproc)
    ds_config = load_deepspeed_config(cfg)
    if cfg.auto_batch_size and (ds_config or {}).get("zero_optimization", {}).get("stage") == 3:
        # Under ZeRO-3 the loaded weights are partitioned: no plain trial step can run before the engine.
        raise MathscaleError("--auto-batch-size needs whole weights for its trial steps: use --deepspeed zero2 or none")
    if cfg.dataloader_num_workers < 0:
        raise MathscaleError(f"dataloader_num_workers must be >= 0, got {cfg.dataloader_num_workers}")
    out = Path(cfg.out).resolve()
    if out.exists() and not out.is_dir():
        raise MathscaleError(f"{out}: exists and is not a folder (option --out)")
    check_output_path(out / CONFIG_NAME)  # a missing folder is fine: it is created at launch
    if cfg.resume and not any(out.glob("checkpoint-*")):
        raise MathscaleError(f"--resume: no checkpoint-* folder in {out} to continue from")
    if not cfg.resume and any(out.glob("checkpoint-*")):
        log.warning("%s already holds checkpoints; starting over (use --resume to continue)", out)
    if dry_run:
        model_dir = local_model_folder(cfg.model)
    else:
        model_dir = model_folder(cfg.model)  # converts a named model, downloads a hub model not cached
    cfg = dataclasses.replace(cfg, out=str(out), data=str(Path(cfg.data).resolve()),
                              model=str(model_dir) if model_dir else cfg.model)  # fmt: skip
    if examples is not None:
        log.info("%d samples from %s", len(examples), cfg.data)
    return cfg, build_launch(cfg, out / CONFIG_NAME, device, nproc), ds_config


def dry_run_notes(cfg: TrainConfig, launch: Launch) -> list[str]:
    """What a dry run says besides the command: whether the model is on disk, and which device."""
    notes = [describe_model(cfg.model)]
    if launch.device == "cpu" and cfg.launch.device == "auto":
        notes.append("device: cpu (torch sees no GPU here; launch.device=cuda, or train.launch.device=cuda in a run, "
                     "shows the GPU launch)")  # fmt: skip
    return notes


def main(args: argparse.Namespace) -> int:
    asked = config_from_args(args)
    cfg, launch, ds_config = prepare(asked, dry_run=args.dry_run)
    if args.dry_run:
        print("\n".join(dry_run_notes(asked, launch)), file=sys.stderr)
    print(launch.shell(), flush=True)
    if args.dry_run:
        return 0
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / CONFIG_NAME, dump_config(cfg))
    if ds_config is not None:
        atomic_write_json(out / DS_CONFIG_NAME, ds_config)
    elif (out / DS_CONFIG_NAME).exists():
        (out / DS_CONFIG_NAME).unlink()
    proc = subprocess.Popen(launch.argv, env={**os.environ, **launch.env})
    try:
        proc.wait()
    except BaseException:  # Ctrl-C: stop the training processes too, not leave them orphaned
        proc.terminate()
        proc.wait(timeout=60)
        raise
    if proc.returncode != 0:
        raise MathscaleError(f"training exited with status {proc.returncode}; see the log above")
    if cfg.lora and cfg.lora_settings.merge:
        # Here, not in the training processes: under ZeRO-3 every from_pretrained there is collective.
        from mathscale.train.save import merge_adapter

        print(f"merged model: {merge_adapter(Path(cfg.model), out, out / MERGED_DIR)}", file=sys.stderr)
    metrics = json.loads((out / METRICS_FILE).read_text(encoding="utf-8"))
    print(f"trained {metrics['global_step']} steps in {metrics['seconds']:.0f} s, final loss "
          f"{metrics['losses'][-1][1] if metrics['losses'] else float('nan'):.4f}; saved to {out}", file=sys.stderr)  # fmt: skip
    print(f"step-time breakdown: {out / BREAKDOWN_FILE}; diagnosis: {out / DIAGNOSIS_FILE}",
          file=sys.stderr)  # fmt: skip
    return 0
