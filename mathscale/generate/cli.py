"""Commands of the generation stage: ``generate`` and ``generate merge`` (argparse only; cheap to import)."""

from __future__ import annotations

import argparse

from mathscale.cli_common import add_config_args, add_field, config_from_args, exit_status
from mathscale.generate.config import GenerateConfig, MergeConfig

EPILOG = """\
examples:
  mathscale generate graph.json -n 1000 --out samples.jsonl
  mathscale generate graph.json -n 2000000 --shard 3/64 --out shard3.jsonl llm.base_urls=[http://gpu7:8000/v1]
  mathscale generate graph.json -n 500 --out s.jsonl decontamination.benchmarks=[benchmarks/] consensus.enabled=true

Rerun the same command after a crash or a kill: it resumes and ends with exactly the
samples an uninterrupted run gives. Shards of one -n never overlap; their union is the run.
`mathscale generate merge shard*.jsonl --out samples.jsonl` turns shards into one dataset,
removing duplicates across shards (the lower slot wins). On a Ray cluster one command does it
all, with the one-process run's samples (README, "Running on a Ray cluster"):
  mathscale generate graph.json -n 2000000 --out samples.jsonl executor=ray ray.address=HEAD:6379 llm.base_urls=[http://127.0.0.1:8000/v1]
"""

MERGE_EPILOG = """examples:
  mathscale generate merge shard0.jsonl shard1.jsonl shard2.jsonl --out samples.jsonl
  mathscale generate merge shards/*.jsonl --out samples.jsonl decontamination.benchmarks=[benchmarks/]
  mathscale generate merge shards/*.jsonl --out samples.jsonl --refill graph.json llm.base_urls=[http://gpu7:8000/v1]

Samples are checked in slot order against those kept before them, as one process would:
decontamination, exact and near duplicates (the dedup settings of the config). The result
does not depend on the order of the shards; a killed merge run again gives the same bytes.
"""


def generate(args: argparse.Namespace) -> int:
    from mathscale.generate.command import main

    return exit_status(main(config_from_args(GenerateConfig, args)))


def generate_merge(args: argparse.Namespace) -> int:
    from mathscale.generate.merge_command import main

    return exit_status(main(config_from_args(MergeConfig, args)))


def add_commands(add) -> None:
    gen = add("generate", "synthesise question-answer pairs from concept compositions (LLM)", generate)
    gen.epilog = EPILOG
    add_field(gen, "GRAPH", cls=GenerateConfig, field="graph")
    add_field(gen, "-n", cls=GenerateConfig, field="n")
    add_field(gen, "--out", cls=GenerateConfig, field="out", metavar="SAMPLES")
    add_field(gen, "--shard", cls=GenerateConfig, field="shard", metavar="i/k")
    add_field(gen, "--seed", cls=GenerateConfig, field="seed")
    add_config_args(gen, GenerateConfig)

    # `mathscale generate merge` reaches this command: mathscale.cli reads it as `merge`
    merge = add("merge", "generate merge: one dataset from generation shards, duplicates across shards removed",
                generate_merge)  # fmt: skip
    merge.epilog = MERGE_EPILOG
    add_field(merge, "SHARD", cls=MergeConfig, field="shards", nargs="*")
    add_field(merge, "--out", cls=MergeConfig, field="out", metavar="SAMPLES")
    add_field(merge, "--refill", cls=MergeConfig, field="refill", metavar="GRAPH")
    add_field(merge, "--allow-partial", cls=MergeConfig, field="allow_partial", action="store_true")
    add_config_args(merge, MergeConfig)
