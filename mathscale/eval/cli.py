"""Commands of the evaluation stage: ``grade`` (and ``eval`` when built). argparse only."""

from __future__ import annotations

from mathscale.cli_common import add_config_args


def add_commands(add) -> None:
    grade = add("grade", "grade a JSONL of completions (fields 'completion' and 'answer') and print accuracy",
                "mathscale.eval.grade_cmd:main")  # fmt: skip
    grade.add_argument("file", help="JSONL, one completion per line with its reference 'answer'")
    grade.add_argument("--mode", choices=["mathscale", "mwpbench"], default=None,
                       help="grader: mathscale (ours, the default) or mwpbench (the official check)")  # fmt: skip
    grade.add_argument("--out", metavar="FILE", help="write the graded lines here (default: over FILE)")
    add_config_args(grade, "configs/grade.yaml")
