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
`mathscale generate merge shard*.jsonl --out samples.jsonl` turns shards into one dataset,
removing duplicates across shards (the lower slot wins).
"""

MERGE_EPILOG = """examples:
  mathscale generate merge shard0.jsonl shard1.jsonl shard2.jsonl --out samples.jsonl
  mathscale generate merge shards/*.jsonl --out samples.jsonl decontamination.benchmarks=[benchmarks/]
  mathscale generate merge shards/*.jsonl --out samples.jsonl --refill graph.json llm.base_urls=[http://gpu7:8000/v1]

Samples are checked in slot order against those kept before them, as one process would:
decontamination, exact and near duplicates (the dedup settings of the config). The result
does not depend on the order of the shards; a killed merge run again gives the same bytes.
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

    merge = add("merge", "generate merge: one dataset from generation shards, duplicates across shards removed",
                "mathscale.generate.merge_command:main")  # fmt: skip
    merge.epilog = MERGE_EPILOG
    merge.add_argument("shards", nargs="+", metavar="SHARD", help="sample files from `mathscale generate --shard i/k`")
    merge.add_argument("--out", required=True, metavar="SAMPLES", help="merged JSONL (its folder must exist)")
    merge.add_argument("--refill", metavar="GRAPH", help="give the slots the merge emptied their next walks through "
                       "the LLM (the graph the shards were generated from; calls the configured endpoint)")  # fmt: skip
    add_config_args(merge, "configs/generate.yaml")
