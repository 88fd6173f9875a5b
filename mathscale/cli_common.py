"""Argument helpers shared by the stage CLI modules (argparse only: cheap to import)."""

from __future__ import annotations

import argparse

from mathscale.errors import MathscaleError


def add_config_args(parser: argparse.ArgumentParser, default_config: str) -> None:
    """``--config FILE`` and trailing ``key=value`` overrides, for every configurable command."""
    parser.add_argument("--config", metavar="FILE", help=f"YAML config (the defaults are spelled out in {default_config})")
    parser.add_argument("overrides", nargs="*", metavar="key=value", help="override a config key, e.g. llm.concurrency=32")


def parse_shard(text: str | None) -> tuple[int, int]:
    """``"i/k"`` -> (i, k) with 0 <= i < k; None -> (0, 1)."""
    if text is None:
        return 0, 1
    i, sep, k = text.partition("/")
    try:
        shard, count = int(i), int(k)
    except ValueError:
        shard, count = -1, 0
    if not sep or not 0 <= shard < count:
        raise MathscaleError(f"--shard {text!r}: expected i/k with 0 <= i < k, e.g. 0/4")
    return shard, count
