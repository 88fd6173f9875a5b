"""Commands of the concept-graph stage: ``graph extract|build|stats|plot|sample`` (argparse only)."""

from __future__ import annotations

import argparse

from mathscale.cli_common import add_config_args

HANDLERS = "mathscale.graph.commands"


def _out(parser: argparse.ArgumentParser, metavar: str, help: str) -> None:
    parser.add_argument("--out", required=True, metavar=metavar, help=help)


def add_commands(add) -> None:
    extract = add("graph extract", "extract topics and knowledge points from seed questions (LLM)",
                  f"{HANDLERS}:extract_main")  # fmt: skip
    extract.add_argument("seeds", metavar="SEEDS", help="seed questions, JSON lines (our seed format or MWPBench records)")
    _out(extract, "CONCEPTS", "concept records, JSON lines; a rerun resumes. Beside it: .failures.jsonl, .report.json")
    extract.add_argument("--limit", type=int, metavar="N", help="only the first N seeds (sets limit)")
    add_config_args(extract, "configs/graph_extract.yaml")

    build = add("graph build", "build the weighted concept graph from concept records", f"{HANDLERS}:build_main")
    build.add_argument("concepts", metavar="CONCEPTS", help="concept records from `graph extract`")
    _out(build, "GRAPH", "node-link JSON (GraphML when it ends in .graphml)")
    build.add_argument("--mapping", metavar="FILE", help="where to list every merge of names (default: GRAPH.merges.json)")
    add_config_args(build, "configs/graph_build.yaml")

    stats = add("graph stats", "print nodes, edges, degrees, components, top concepts and diversity",
                f"{HANDLERS}:stats_main")  # fmt: skip
    stats.add_argument("graph", metavar="GRAPH", help="a graph from `graph build`")
    stats.add_argument("--json", action="store_true", help="print JSON instead of text")
    stats.add_argument("--top", type=int, default=10, metavar="N", help="most frequent concepts to list (default 10)")
    stats.add_argument("--walks", type=int, default=10_000, metavar="N",
                       help="random walks (seed 0) whose diversity is measured beside the seeds' (default 10000; 0: none)")  # fmt: skip

    plot = add("graph plot", "draw the topic subgraph and the most frequent concepts", f"{HANDLERS}:plot_main")
    plot.add_argument("graph", metavar="GRAPH", help="a graph from `graph build`")
    plot.add_argument("--out", required=True, metavar="PNG", help="image file to write")
    plot.add_argument("--top", type=int, default=40, metavar="N", help="topics to draw (default 40, the most frequent)")

    sample = add("graph sample", "sample concept compositions by random walk", f"{HANDLERS}:sample_main")
    sample.add_argument("graph", metavar="GRAPH", help="a graph from `graph build`")
    sample.add_argument("-n", type=int, metavar="N", help="number of walks, indices 0..N-1; with --unique: "
                        "number of unique compositions (sets n)")  # fmt: skip
    sample.add_argument("--seed", type=int, metavar="S", help="random seed (sets seed)")
    _out(sample, "FILE", "compositions, JSON lines; beside it: .report.json")
    sample.add_argument("--shard", metavar="i/k", help="only shard i of k (0-based): a contiguous share of the walks")
    sample.add_argument("--unique", action="store_true", default=None,
                        help="write exactly N unique compositions: walk on past N, keeping a walk only when its topic and "
                             "knowledge-point sets are new (sets unique); shards split that sequence, so their outputs "
                             "concatenate to the whole run's")  # fmt: skip
    add_config_args(sample, "configs/graph_sample.yaml")
