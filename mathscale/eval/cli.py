"""Commands of the evaluation stage: ``eval`` and ``grade`` (argparse only; cheap to import)."""

from __future__ import annotations

import argparse

from mathscale.cli_common import add_config_args, add_field, config_from_args, exit_status
from mathscale.eval.backends import BACKENDS
from mathscale.eval.config import SUITE_NAMES, EvalConfig, GradeConfig
from mathscale.templates import TEMPLATE_NAMES


def grade(args: argparse.Namespace) -> int:
    from mathscale.eval.grade_command import main

    return exit_status(main(config_from_args(GradeConfig, args)))


def evaluate(args: argparse.Namespace) -> int:
    from mathscale.eval.command import main

    return exit_status(main(config_from_args(EvalConfig, args)))


def add_commands(add) -> None:
    parser = add("grade", "grade a JSONL of completions (fields 'completion' and 'answer') and print accuracy", grade)
    add_field(parser, "FILE", cls=GradeConfig, field="file")
    add_field(parser, "--mode", cls=GradeConfig, field="mode", metavar="MODE")
    add_field(parser, "--out", cls=GradeConfig, field="out", metavar="FILE")
    add_config_args(parser, GradeConfig)

    parser = add("eval", "evaluate a model on MWPBench: predictions/, metrics.json and a markdown table", evaluate)
    add_field(parser, "--model", cls=EvalConfig, field="model")  # fmt: skip
    add_field(parser, "--benchmarks", cls=EvalConfig, field="benchmarks", metavar="SPEC")
    add_field(parser, "--out", cls=EvalConfig, field="out", metavar="DIR")
    add_field(parser, "--backend", cls=EvalConfig, field="backend", one_of=tuple(BACKENDS), metavar="NAME")
    add_field(parser, "--template", cls=EvalConfig, field="template", one_of=TEMPLATE_NAMES, metavar="NAME")
    add_field(parser, "--suite", cls=EvalConfig, field="suite", choices=SUITE_NAMES, metavar="NAME")
    add_field(parser, "--limit", cls=EvalConfig, field="limit", metavar="N")
    add_config_args(parser, EvalConfig)
