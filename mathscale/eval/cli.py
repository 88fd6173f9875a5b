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

    ev = add("eval", "evaluate a model on MWPBench: predictions/, metrics.json and a markdown table",
             "mathscale.eval.eval_cmd:main")  # fmt: skip
    ev.add_argument("--model", help="model folder, Hugging Face hub id (org/name[@revision]) or named model "
                                    "(openai backend: the endpoint's model name)")  # fmt: skip
    ev.add_argument("--benchmarks", metavar="SPEC",
                    help="MWPBench JSONL file, a folder of them, or a Hugging Face dataset id (org/name[@revision])")
    ev.add_argument("--out", metavar="DIR", help="output folder")
    ev.add_argument("--backend", choices=["hf", "vllm", "openai"], help="generation backend (default hf)")
    ev.add_argument("--template", help="alpaca, alpaca_force_ans or chat (default alpaca)")
    ev.add_argument("--limit", type=int, help="items per data_topic, for smoke runs (default all)")
    add_config_args(ev, "configs/eval.yaml")
