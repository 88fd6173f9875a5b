"""Helpers for the train tests: the ``train`` parser as the CLI declares it, and a runner."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

from mathscale.train import cli


def train_parser() -> argparse.ArgumentParser:
    """The parser ``mathscale`` builds from mathscale.train.cli.add_commands."""
    parser = argparse.ArgumentParser(prog="mathscale")
    commands = parser.add_subparsers(dest="command")

    def add(name: str, help: str, handler: Callable[[argparse.Namespace], int]) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help)
        sub.set_defaults(handler=handler)
        return sub

    cli.add_commands(add)
    return parser


def run_train(*argv: str) -> int:
    """Run ``mathscale train ARGV`` through its handler: the flags become a TrainConfig, then
    ``main(cfg)``; returns the exit status (MathscaleError propagates)."""
    args = train_parser().parse_args(["train", *map(str, argv)])
    assert args.handler is cli.train
    return args.handler(args)


def write_samples(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def metrics(out: Path) -> dict:
    return json.loads((out / "train_metrics.json").read_text())
