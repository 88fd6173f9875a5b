"""Command of the training stage: ``train`` (argparse only; cheap to import)."""

from __future__ import annotations

from mathscale.cli_common import add_config_args


def add_commands(add) -> None:
    train = add("train", "fine-tune a model on QA samples (DeepSpeed ZeRO-2/3, LoRA, packing), one or many GPUs or CPU",
                "mathscale.train.command:main")  # fmt: skip
    add_config_args(train, "configs/train.yaml")
    train.add_argument("--data", metavar="SAMPLES", help="samples JSONL (qa/1) or a saved datasets.Dataset folder")
    train.add_argument("--model", metavar="M", help="a model folder, a Hugging Face hub id (org/name[@revision]) or a named model (smollm2-135m)")
    train.add_argument("--out", metavar="DIR", help="output folder: checkpoints, final model, tokenizer, template, config")
    train.add_argument("--deepspeed", choices=["none", "zero2", "zero3", "zero3_offload"],
                       help="DeepSpeed preset from configs/deepspeed/ (default from the config: zero2)")  # fmt: skip
    train.add_argument("--lora", action="store_true", default=None, help="train a LoRA adapter instead of all weights")
    train.add_argument("--num-processes", type=int, metavar="P", help="processes per node (default: one per GPU, 2 on CPU)")
    train.add_argument("--num-machines", type=int, metavar="N", help="nodes (with --hostfile or launch.main_address)")
    train.add_argument("--hostfile", metavar="FILE", help="DeepSpeed hostfile for multi-node ('host slots=N' lines)")
    train.add_argument("--resume", action="store_true", default=None, help="continue from the last checkpoint in --out")
    train.add_argument("--auto-batch-size", action="store_true", default=None,
                       help="find the largest micro-batch that fits; gradient accumulation keeps the global batch")  # fmt: skip
    train.add_argument("--dry-run", action="store_true", help="check the inputs, print the launch command, and stop")
