"""``mathscale train``: check every input, write the run's config, print and run the launch command.

All checks happen here, before any process starts: the data (empty, or a sample without
question or solution), the model, the DeepSpeed config, the process count against the
devices, and ``resume`` against the checkpoints present. ``dry_run`` stops after printing.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from mathscale.config import dump_config, require
from mathscale.errors import MathscaleError
from mathscale.io import atomic_write, atomic_write_json, check_output_path
from mathscale.models.hub import describe_model, local_model_folder, model_folder, parse_model
from mathscale.train.artifacts import BREAKDOWN_FILE, CONFIG_NAME, DIAGNOSIS_FILE, DS_CONFIG_NAME, MERGED_DIR, METRICS_FILE
from mathscale.train.config import TrainConfig
from mathscale.train.data import load_examples
from mathscale.train.launch import (
    Launch,
    build_launch,
    deepspeed_source,
    load_deepspeed_config,
    resolve_deepspeed,
    resolve_device,
    resolve_num_processes,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainResult:
    out: Path  # the output folder (resolved): model or adapter, tokenizer, template, config, metrics
    launch: str  # the launch command, as printed (shell syntax)
    steps: int = 0  # optimizer steps the run ended at (0 for a dry run)
    final_loss: float | None = None  # the last logged training loss (None for a dry run or when none was logged)
    merged: Path | None = None  # <out>/merged when LoRA was merged into the base model


def prepare(cfg: TrainConfig, *, dry_run: bool, data_ready: bool = True) -> tuple[TrainConfig, Launch, dict | None]:
    """Check everything and build the launch; raises MathscaleError before anything starts.

    A dry run converts and downloads nothing (the model need not be on disk yet).
    ``data_ready=False`` skips reading the samples (a run's dry run, before generate wrote them).
    """
    require(cfg, {"data": "--data", "model": "--model", "out": "--out"})
    examples = load_examples(cfg.data, cfg.limit) if data_ready else None
    parse_model(cfg.model)  # a name that cannot mean a model fails here, before anything slow
    if cfg.trainer:
        from mathscale.train.sft import check_trainer_section  # imports transformers

        check_trainer_section(cfg)
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
    """What a dry run says besides the command: whether the model is on disk, which DeepSpeed
    config the launch would write, and which device."""
    notes = [describe_model(cfg.model)]
    source = deepspeed_source(resolve_deepspeed(cfg, launch.num_processes))
    if source is not None:
        notes.append(f"DeepSpeed config: {source} (written to {Path(cfg.out).resolve() / DS_CONFIG_NAME} at launch)")
    if launch.device == "cpu" and cfg.launch.device == "auto":
        notes.append("device: cpu (torch sees no GPU here; launch.device=cuda, or train.launch.device=cuda in a run, "
                     "shows the GPU launch)")  # fmt: skip
    return notes


def main(cfg: TrainConfig) -> TrainResult:
    """Check every input, print the launch command and, unless ``cfg.dry_run``, train and report.

    Raises MathscaleError for bad input (before anything starts) and for a failed training.
    """
    resolved, launch, ds_config = prepare(cfg, dry_run=cfg.dry_run)
    if cfg.dry_run:
        print("\n".join(dry_run_notes(cfg, launch)), file=sys.stderr)
    print(launch.shell(), flush=True)
    out = Path(resolved.out)
    if cfg.dry_run:
        return TrainResult(out=out, launch=launch.shell())
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / CONFIG_NAME, dump_config(resolved))
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
    if resolved.launch.num_machines > 1 and resolved.launch.machine_rank > 0:
        # Only global rank 0 saves the model and writes the metrics; on node-local scratch this
        # node's --out holds neither, and that is no failure.
        print(f"node {resolved.launch.machine_rank} of {resolved.launch.num_machines}: training finished; "
              f"the model and {METRICS_FILE} are saved by node 0 in its --out", file=sys.stderr)  # fmt: skip
        return TrainResult(out=out, launch=launch.shell())
    if not (out / METRICS_FILE).is_file():
        raise MathscaleError(f"{out / METRICS_FILE}: training exited 0 but wrote no metrics; see the log above")
    merged = None
    if resolved.lora and resolved.lora_settings.merge:
        # Here, not in the training processes: under ZeRO-3 every from_pretrained there is collective.
        from mathscale.train.save import merge_adapter

        merged = merge_adapter(Path(resolved.model), out, out / MERGED_DIR)
        print(f"merged model: {merged}", file=sys.stderr)
    metrics = json.loads((out / METRICS_FILE).read_text(encoding="utf-8"))
    final_loss = metrics["losses"][-1][1] if metrics["losses"] else None
    print(f"trained {metrics['global_step']} steps in {metrics['seconds']:.0f} s, final loss "
          f"{float('nan') if final_loss is None else final_loss:.4f}; saved to {out}", file=sys.stderr)  # fmt: skip
    print(f"step-time breakdown: {out / BREAKDOWN_FILE}; diagnosis: {out / DIAGNOSIS_FILE}", file=sys.stderr)
    return TrainResult(out=out, launch=launch.shell(), steps=metrics["global_step"], final_loss=final_loss,
                       merged=merged)  # fmt: skip
