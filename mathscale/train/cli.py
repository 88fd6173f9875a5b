"""Command of the training stage: ``train`` (argparse only; cheap to import)."""

from __future__ import annotations

import argparse
import typing

from mathscale.cli_common import add_config_args, add_field, config_from_args, exit_status
from mathscale.train.config import DeepSpeedSetting, TrainConfig


def train(args: argparse.Namespace) -> int:
    from mathscale.train.command import main

    return exit_status(main(config_from_args(TrainConfig, args)))


def add_commands(add) -> None:
    parser = add("train", "fine-tune a model on QA samples (DeepSpeed ZeRO-2/3, LoRA, packing), one or many GPUs or CPU",
                 train)  # fmt: skip
    add_config_args(parser, "configs/train.yaml")
    add_field(parser, "--data", cls=TrainConfig, field="data", metavar="SAMPLES",
              help="samples JSONL (qa/1) or a saved datasets.Dataset folder")  # fmt: skip
    add_field(parser, "--model", cls=TrainConfig, field="model", metavar="M",
              help="a model folder, a Hugging Face hub id (org/name[@revision]) or a named model (smollm2-135m)")  # fmt: skip
    add_field(parser, "--out", cls=TrainConfig, field="out", metavar="DIR",
              help="output folder: checkpoints, final model, tokenizer, template, config")  # fmt: skip
    add_field(parser, "--deepspeed", cls=TrainConfig, field="deepspeed",
              choices=typing.get_args(DeepSpeedSetting), metavar=None,  # argparse lists the choices
              help="DeepSpeed preset (shipped in mathscale/train/presets/); auto: none for a single process in all, "
                   "zero2 for several")  # fmt: skip
    add_field(parser, "--lora", cls=TrainConfig, field="lora", action="store_true",
              help="train a LoRA adapter instead of all weights")  # fmt: skip
    add_field(parser, "--num-processes", cls=TrainConfig, field="num_processes", type=int, metavar="P",
              help="processes per node; 0: one per GPU, 2 on CPU")  # fmt: skip
    add_field(parser, "--num-machines", cls=TrainConfig, field="launch.num_machines", type=int, metavar="N",
              help="nodes (with --hostfile or launch.main_address)")  # fmt: skip
    add_field(parser, "--hostfile", cls=TrainConfig, field="launch.hostfile", metavar="FILE",
              help="DeepSpeed hostfile for multi-node ('host slots=N' lines)")  # fmt: skip
    add_field(parser, "--resume", cls=TrainConfig, field="resume", action="store_true",
              help="continue from the last checkpoint in --out")  # fmt: skip
    add_field(parser, "--auto-batch-size", cls=TrainConfig, field="auto_batch_size", action="store_true",
              help="find the largest micro-batch that fits; gradient accumulation keeps the global batch")  # fmt: skip
    add_field(parser, "--dry-run", cls=TrainConfig, field="dry_run", action="store_true",
              help="check the inputs, print the launch command, and stop")  # fmt: skip
