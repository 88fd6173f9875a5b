"""Commands of the evaluation stage: ``eval`` and ``grade`` (argparse only; cheap to import)."""

from __future__ import annotations

import argparse

from mathscale.cli_common import add_config_args, add_field, config_from_args, exit_status
from mathscale.eval.config import BACKEND_NAMES, GRADER_MODES, SUITE_NAMES, EvalConfig, GradeConfig
from mathscale.templates import TEMPLATE_FILE, TEMPLATE_NAMES


def grade(args: argparse.Namespace) -> int:
    from mathscale.eval.grade_command import main

    return exit_status(main(config_from_args(GradeConfig, args)))


def evaluate(args: argparse.Namespace) -> int:
    from mathscale.eval.command import main

    return exit_status(main(config_from_args(EvalConfig, args)))


def add_commands(add) -> None:
    parser = add("grade", "grade a JSONL of completions (fields 'completion' and 'answer') and print accuracy", grade)
    add_field(parser, "FILE", cls=GradeConfig, field="file", help="JSONL, one completion per line with its reference 'answer'")
    add_field(parser, "--mode", cls=GradeConfig, field="mode", choices=GRADER_MODES, metavar="MODE",
              help="grader: mathscale (ours) or mwpbench (the official MWPBench check)")  # fmt: skip
    add_field(parser, "--out", cls=GradeConfig, field="out", metavar="FILE", help="write the graded lines here (not given: over FILE)")
    add_config_args(parser, "configs/grade.yaml")

    parser = add("eval", "evaluate a model on MWPBench: predictions/, metrics.json and a markdown table", evaluate)
    add_field(parser, "--model", cls=EvalConfig, field="model",
              help="model folder, Hugging Face hub id (org/name[@revision]) or named model "
                   "(openai backend: the endpoint's model name)")  # fmt: skip
    add_field(parser, "--benchmarks", cls=EvalConfig, field="benchmarks", metavar="SPEC",
              help="MWPBench JSONL file, a folder of them, or a Hugging Face dataset id (org/name[@revision])")
    add_field(parser, "--out", cls=EvalConfig, field="out", metavar="DIR", help="output folder")
    add_field(parser, "--backend", cls=EvalConfig, field="backend", choices=BACKEND_NAMES, metavar="NAME",
              help=f"generation backend: {', '.join(BACKEND_NAMES)}")
    add_field(parser, "--template", cls=EvalConfig, field="template", metavar="NAME",
              help=f"prompt template: {', '.join(TEMPLATE_NAMES)} (not given: the one the model was trained on, "
                   f"from its {TEMPLATE_FILE}, else alpaca)")  # fmt: skip
    add_field(parser, "--suite", cls=EvalConfig, field="suite", choices=SUITE_NAMES, metavar="NAME",
              help="mwpbench: the canonical MWPBench suite: its 22 tasks, the official 2,000-per-task cap, stop strings "
                   "and scores (the present and missing tasks are reported)")  # fmt: skip
    add_field(parser, "--limit", cls=EvalConfig, field="limit", type=int, metavar="N",
              help="items per data_topic, the first ones; 0: all (under --suite the official 2000); -1: all")
    add_config_args(parser, "configs/eval.yaml")
