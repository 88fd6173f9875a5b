"""The command of the LLM layer: ``ping`` (argparse only; cheap to import)."""

from __future__ import annotations

import argparse

from mathscale.cli_common import add_config_args, add_field, config_from_args, exit_status
from mathscale.llm.config import PingConfig


def ping(args: argparse.Namespace) -> int:
    from mathscale.llm.ping_command import main

    return exit_status(main(config_from_args(PingConfig, args)))


def add_commands(add) -> None:
    parser = add("ping", "one real JSON completion from the configured LLM (or the embedded model)", ping)
    add_config_args(parser, PingConfig)
    add_field(parser, "--question", cls=PingConfig, field="question")
    add_field(parser, "--usage-out", cls=PingConfig, field="usage_out", metavar="FILE")  # fmt: skip
