"""``mathscale``: the command list. Each command turns its arguments into a config and calls its stage.

Heavy libraries are imported inside the command that needs them, so ``--help`` is instant.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Callable, Sequence

from mathscale import __version__
from mathscale.cli_common import OVERRIDE, config_from_args
from mathscale.config import dump_config
from mathscale.errors import MathscaleError
from mathscale.eval import cli as eval_cli
from mathscale.generate import cli as generate_cli
from mathscale.graph import cli as graph_cli
from mathscale.llm import cli as llm_cli
from mathscale.models import cli as models_cli
from mathscale.run import cli as run_cli
from mathscale.train import cli as train_cli

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

# Each stage's ``cli.py`` declares its commands with ``add_commands(add)``. A handler turns
# the parsed arguments into the command's config and calls ``main(cfg)`` of the stage's
# ``command.py`` (or ``<name>_command.py``), imported inside the handler: a cli.py and the
# config dataclasses stay light to import, so ``mathscale --help`` is instant.
STAGE_CLIS = [llm_cli, models_cli, graph_cli, generate_cli, eval_cli, train_cli, run_cli]

Handler = Callable[[argparse.Namespace], int]


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

    def add(name: str, help: str, handler: Handler) -> argparse.ArgumentParser:
        """Declare command ``name`` ("graph build" nests under "graph"), run by ``handler``."""
        group, _, leaf = name.rpartition(" ")
        if group and group not in groups:
            group_parser = commands.add_parser(group, help=f"{group} commands")
            groups[group] = group_parser.add_subparsers(dest="subcommand", metavar="SUBCOMMAND", required=True)
        where = groups[group] if group else commands
        sub = where.add_parser(leaf, help=help, description=help, formatter_class=argparse.RawDescriptionHelpFormatter)
        sub.set_defaults(handler=handler)
        return sub

    for module in STAGE_CLIS:
        module.add_commands(add)
    return parser


_signals: list[int] = []  # the signals that interrupted this process (SIGTERM: exit 143)


def _interrupt(signum: int, frame: object) -> None:
    _signals.append(signum)
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    if hasattr(signal, "SIGPIPE"):  # `mathscale ... | head` ends quietly
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, _interrupt)  # `kill` unwinds like Ctrl-C: servers stop, files close
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:2] == ["generate", "merge"]:  # `generate` takes a graph; `generate merge` is its own command
        argv = ["merge", *argv[2:]]
    args, extra = parser.parse_known_args(argv)
    # argparse hands trailing positionals over in one go, so `key=value` words after an
    # option (`graph build C --out G fold=false`) come back unparsed: they are overrides.
    if extra:
        if not hasattr(args, "overrides") or not all(OVERRIDE.match(word) for word in extra):
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        args.overrides = [*(args.overrides or []), *extra]
    logging.basicConfig(
        level=(logging.WARNING, logging.INFO, logging.DEBUG)[min(args.verbose, 2)],
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.command is None:
        parser.print_help()
        return 2
    try:
        if getattr(args, "print_config", False):
            print(dump_config(config_from_args(args.config_class, args), comments=True), end="")
            return 0
        return args.handler(args)
    except MathscaleError as exc:
        print(f"mathscale: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        terminated = signal.SIGTERM in _signals
        print(f"mathscale: {'terminated' if terminated else 'interrupted'}; what finished is kept, "
              "rerun the same command to resume", file=sys.stderr)  # fmt: skip
        return 128 + signal.SIGTERM if terminated else 130
    except UnicodeDecodeError as exc:  # a reader that does not name its file (those that do raise DataError)
        print(f"mathscale: error: an input is not UTF-8 text ({exc.reason}: byte 0x{exc.object[exc.start]:02x} "
              f"at offset {exc.start}); save it as UTF-8", file=sys.stderr)  # fmt: skip
        return MathscaleError.exit_code


if __name__ == "__main__":
    sys.exit(main())
