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
from mathscale.io import atomic_write, atomic_write_json
from mathscale.train.config import TrainConfig
from mathscale.train.data import load_examples
from mathscale.train.launch import (
    CONFIG_NAME,
    DS_CONFIG_NAME,
    Launch,
    build_launch,
    load_deepspeed_config,
    resolve_deepspeed,
    resolve_device,
    resolve_num_processes,
)
from mathscale.train.models import resolve_train_model

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


def prepare(cfg: TrainConfig, *, dry_run: bool) -> tuple[TrainConfig, Launch, dict | None]:
    """Check everything and build the launch; raises MathscaleError before anything starts."""
    for name in ("data", "model", "out"):
        if not getattr(cfg, name):
            raise MathscaleError(f"no --{name} given (or {name}= in the config)")
    examples = load_examples(cfg.data, cfg.limit)
    model_dir = resolve_train_model(cfg.model, convert=not dry_run)
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
    if cfg.resume and not any(out.glob("checkpoint-*")):
        raise MathscaleError(f"--resume: no checkpoint-* folder in {out} to continue from")
    if not cfg.resume and any(out.glob("checkpoint-*")):
        log.warning("%s already holds checkpoints; starting over (use --resume to continue)", out)
    cfg = dataclasses.replace(cfg, out=str(out), data=str(Path(cfg.data).resolve()),
                              model=str(model_dir) if model_dir.exists() else cfg.model)  # fmt: skip
    log.info("%d samples from %s", len(examples), cfg.data)
    return cfg, build_launch(cfg, out / CONFIG_NAME, device, nproc), ds_config


def main(args: argparse.Namespace) -> int:
    cfg, launch, ds_config = prepare(config_from_args(args), dry_run=args.dry_run)
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

        print(f"merged model: {merge_adapter(Path(cfg.model), out, out / 'merged')}", file=sys.stderr)
    metrics = json.loads((out / "train_metrics.json").read_text(encoding="utf-8"))
    print(f"trained {metrics['global_step']} steps in {metrics['seconds']:.0f} s, final loss "
          f"{metrics['losses'][-1][1] if metrics['losses'] else float('nan'):.4f}; saved to {out}", file=sys.stderr)  # fmt: skip
    print(f"step-time breakdown: {out / 'train_breakdown.json'}; diagnosis: {out / 'train_diagnosis.json'}",
          file=sys.stderr)  # fmt: skip
    return 0
