"""Command of the training stage: ``train`` (argparse only; cheap to import)."""

from __future__ import annotations

import argparse

from mathscale.cli_common import add_config_args, add_field, config_from_args, exit_status
from mathscale.train.config import TrainConfig


def train(args: argparse.Namespace) -> int:
    from mathscale.train.command import main

    return exit_status(main(config_from_args(TrainConfig, args)))


def add_commands(add) -> None:
    parser = add("train", "fine-tune a model on QA samples (DeepSpeed ZeRO-2/3, LoRA, packing), one or many GPUs or CPU",
                 train)
    add_config_args(parser, TrainConfig)
    add_field(parser, "--data", cls=TrainConfig, field="data", metavar="SAMPLES")
    add_field(parser, "--model", cls=TrainConfig, field="model", metavar="M")
    add_field(parser, "--out", cls=TrainConfig, field="out", metavar="DIR")
    add_field(parser, "--deepspeed", cls=TrainConfig, field="deepspeed", metavar=None)  # argparse lists the choices
    add_field(parser, "--lora", cls=TrainConfig, field="lora", action="store_true")
    add_field(parser, "--num-processes", cls=TrainConfig, field="num_processes", metavar="P")
    add_field(parser, "--num-machines", cls=TrainConfig, field="launch.num_machines", metavar="N")
    add_field(parser, "--hostfile", cls=TrainConfig, field="launch.hostfile", metavar="FILE")
    add_field(parser, "--resume", cls=TrainConfig, field="resume", action="store_true")
    add_field(parser, "--auto-batch-size", cls=TrainConfig, field="auto_batch_size", action="store_true")
    add_field(parser, "--dry-run", cls=TrainConfig, field="dry_run", action="store_true")
