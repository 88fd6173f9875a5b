"""Argument helpers shared by the stage CLI modules (argparse only: cheap to import)."""

from __future__ import annotations

import argparse


def add_config_args(parser: argparse.ArgumentParser, default_config: str) -> None:
    """``--config FILE`` and trailing ``key=value`` overrides, for every configurable command."""
    parser.add_argument("--config", metavar="FILE", help=f"YAML config (the defaults are spelled out in {default_config})")
    parser.add_argument("overrides", nargs="*", metavar="key=value", help="override a config key, e.g. llm.concurrency=32")
