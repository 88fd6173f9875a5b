"""``mathscale``: the command list. Each command turns its arguments into a config and calls its stage.

Heavy libraries are imported inside the command that needs them, so ``--help`` is instant.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Callable, Sequence

from mathscale import __version__
from mathscale.errors import MathscaleError

PIPELINE = """\
the pipeline, in order:
  graph extract   seed questions -> topics and knowledge points (LLM)
  graph build     concepts -> weighted concept graph
  graph sample    random walks -> concept compositions
  generate        compositions -> filtered question-answer pairs (LLM)
  train           fine-tune a model on the pairs (DeepSpeed ZeRO, LoRA)
  eval            MWPBench accuracy, micro and macro
  scale           one fine-tune per data size -> scaling curve
  run             all of the above from one config

try:  mathscale ping     (one real completion from the configured LLM or the embedded model)
"""

# command -> (issue that builds it, one-line help); removed from here when its issue lands.
PENDING: dict[str, tuple[int, str]] = {
    "graph extract": (3, "extract topics and knowledge points from seed questions"),
    "graph build": (3, "build the weighted concept graph"),
    "graph stats": (3, "print graph statistics"),
    "graph plot": (3, "draw the topic subgraph"),
    "graph sample": (3, "sample concept compositions by random walk"),
    "generate": (4, "synthesise question-answer pairs from compositions"),
    "eval": (5, "evaluate a model on MWPBench"),
    "grade": (5, "grade a JSONL of completions"),
    "train": (6, "fine-tune with DeepSpeed ZeRO-2/3 and LoRA"),
    "run": (7, "the whole pipeline from one config"),
    "scale": (7, "scaling curve over data sizes"),
    "plot": (7, "overlay scaling results"),
}

# command -> "module:function" taking the parsed arguments; imported only when run.
COMMANDS: dict[str, str] = {
    "ping": "mathscale.llm.ping:main",
    "models list": "mathscale.llm.models_cli:list_main",
    "models fetch": "mathscale.llm.models_cli:fetch_main",
}


def add_config_args(parser: argparse.ArgumentParser, default_config: str) -> None:
    """``--config FILE`` and trailing ``key=value`` overrides, shared by every configurable command."""
    parser.add_argument("--config", metavar="FILE", help=f"YAML config (defaults: {default_config})")
    parser.add_argument("overrides", nargs="*", metavar="key=value", help="override a config key, e.g. llm.concurrency=32")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mathscale",
        description="MathScale as a toolkit: concept graph -> synthetic QA -> fine-tune -> MWPBench.",
        epilog=PIPELINE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"mathscale {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv for debug)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    groups: dict[str, argparse._SubParsersAction] = {}

    def add(name: str, help: str) -> argparse.ArgumentParser:
        group, _, leaf = name.rpartition(" ")
        if not group:
            return commands.add_parser(name, help=help, description=help)
        if group not in groups:
            group_parser = commands.add_parser(group, help=f"{group} commands")
            groups[group] = group_parser.add_subparsers(dest="subcommand", metavar="SUBCOMMAND", required=True)
        return groups[group].add_parser(leaf, help=help, description=help)

    ping = add("ping", "one real JSON completion from the configured LLM (or the embedded model)")
    add_config_args(ping, "configs/ping.yaml")
    ping.add_argument("--question", default=None, help="a math question to ask about (default: a built-in one)")
    ping.add_argument("--usage-out", metavar="FILE", help="also save the request accounting as JSON")
    ping.set_defaults(handler="ping")

    add("models list", "list the named local models and whether they are cached").set_defaults(handler="models list")
    fetch = add("models fetch", "fetch, verify and cache a named local model")
    fetch.add_argument("name", help="model name (see `mathscale models list`)")
    fetch.set_defaults(handler="models fetch")

    for name, (issue, help) in PENDING.items():
        pending = add(name, f"{help}  [not built yet: issue {issue}]")
        pending.add_argument("args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
        pending.set_defaults(handler=None, pending=name)
    return parser


def _load(target: str) -> Callable[[argparse.Namespace], int | None]:
    module, _, function = target.partition(":")
    return getattr(importlib.import_module(module), function)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=(logging.WARNING, logging.INFO, logging.DEBUG)[min(args.verbose, 2)],
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.command is None:
        parser.print_help()
        return 2
    if getattr(args, "pending", None):
        issue, _ = PENDING[args.pending]
        print(f"mathscale {args.pending}: not built yet (tracked in issue {issue}); nothing was done.", file=sys.stderr)
        return 3
    try:
        return _load(COMMANDS[args.handler])(args) or 0
    except MathscaleError as exc:
        print(f"mathscale: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("mathscale: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
