"""The ``generate`` command (argparse only: cheap to import)."""

from __future__ import annotations

from mathscale.cli_common import add_config_args

EPILOG = """\
examples:
  mathscale generate graph.json -n 1000 --out samples.jsonl
  mathscale generate graph.json -n 2000000 --shard 3/64 --out shard3.jsonl llm.base_urls=[http://gpu7:8000/v1]
  mathscale generate graph.json -n 500 --out s.jsonl decontamination.benchmarks=[benchmarks/] consensus.enabled=true

Rerun the same command after a crash or a kill: it resumes and ends with exactly the
samples an uninterrupted run gives. Shards of one -n never overlap; their union is the run.
"""


def add_commands(add) -> None:
    gen = add("generate", "synthesise question-answer pairs from concept compositions (LLM)",
              "mathscale.generate.command:main")  # fmt: skip
    gen.epilog = EPILOG
    gen.add_argument("graph", help="concept graph from `mathscale graph build`")
    gen.add_argument("-n", type=int, default=None, help="samples to produce (whole run; default from config: 100)")
    gen.add_argument("--out", required=True, metavar="SAMPLES", help="output JSONL (its folder must exist)")
    gen.add_argument("--shard", metavar="i/k", help="produce only shard i of k (contiguous slots)")
    gen.add_argument("--seed", type=int, default=None, help="walks, examples and LLM seeds derive from it")
    add_config_args(gen, "configs/generate.yaml")
