"""Commands of the concept-graph stage: ``graph extract|build|stats|plot|sample`` (argparse only; cheap to import)."""

from __future__ import annotations

import argparse

from mathscale.cli_common import add_config_args, add_field, config_from_args, exit_status
from mathscale.graph.config import BuildConfig, ExtractConfig, GraphPlotConfig, SampleConfig, StatsConfig

GRAPH_HELP = "a graph from `graph build`"


def graph_extract(args: argparse.Namespace) -> int:
    from mathscale.graph.command import extract_main

    return exit_status(extract_main(config_from_args(ExtractConfig, args)))


def graph_build(args: argparse.Namespace) -> int:
    from mathscale.graph.command import build_main

    return exit_status(build_main(config_from_args(BuildConfig, args)))


def graph_stats(args: argparse.Namespace) -> int:
    from mathscale.graph.command import stats_main

    return exit_status(stats_main(config_from_args(StatsConfig, args)))


def graph_plot(args: argparse.Namespace) -> int:
    from mathscale.graph.command import plot_main

    return exit_status(plot_main(config_from_args(GraphPlotConfig, args)))


def graph_sample(args: argparse.Namespace) -> int:
    from mathscale.graph.command import sample_main

    return exit_status(sample_main(config_from_args(SampleConfig, args)))


def add_commands(add) -> None:
    parser = add("graph extract", "extract topics and knowledge points from seed questions (LLM)", graph_extract)
    add_field(parser, "SEEDS", cls=ExtractConfig, field="seeds",
              help="seed questions, JSON lines (our seed format or MWPBench records)")  # fmt: skip
    add_field(parser, "--out", cls=ExtractConfig, field="out", metavar="CONCEPTS",
              help="concept records, JSON lines; a rerun resumes. Beside it: .failures.jsonl, .report.json")  # fmt: skip
    add_field(parser, "--limit", cls=ExtractConfig, field="limit", type=int, metavar="N",
              help="only the first N seeds; 0: all")  # fmt: skip
    add_config_args(parser, "configs/graph_extract.yaml")

    parser = add("graph build", "build the weighted concept graph from concept records", graph_build)
    add_field(parser, "CONCEPTS", cls=BuildConfig, field="concepts", help="concept records from `graph extract`")
    add_field(parser, "--out", cls=BuildConfig, field="out", metavar="GRAPH",
              help="node-link JSON (GraphML when it ends in .graphml)")  # fmt: skip
    add_field(parser, "--mapping", cls=BuildConfig, field="mapping", metavar="FILE",
              help="where to list every merge of names (without it: beside GRAPH, g.json -> g.merges.json)")  # fmt: skip
    add_field(parser, "--force", cls=BuildConfig, field="force", action="store_true",
              help="replace an existing GRAPH or --mapping file that graph build did not write")  # fmt: skip
    add_config_args(parser, "configs/graph_build.yaml")

    parser = add("graph stats", "print nodes, edges, degrees, components, top concepts and diversity", graph_stats)
    add_field(parser, "GRAPH", cls=StatsConfig, field="graph", help=GRAPH_HELP)
    add_field(parser, "--json", cls=StatsConfig, field="json", action="store_true", help="print JSON instead of text")
    add_field(parser, "--top", cls=StatsConfig, field="top", type=int, metavar="N", help="most frequent concepts to list")
    add_field(parser, "--walks", cls=StatsConfig, field="walks", type=int, metavar="N",
              help="random walks (seed 0) whose diversity is measured beside the seeds'; 0: none")  # fmt: skip
    add_field(parser, "--focus", cls=StatsConfig, field="focus", nargs="+", metavar="CSV",
              help="concepts.csv files from `eval concepts=true`: focus the walks on their weak concepts "
                   "(as walk.focus) and show the share of walks through them with and without focus")  # fmt: skip
    add_field(parser, "--boost", cls=StatsConfig, field="boost", type=float, metavar="B",
              help="how strongly --focus leans on weak concepts (as walk.boost; 1: not at all)")  # fmt: skip

    parser = add("graph plot", "draw the topic subgraph and the most frequent concepts", graph_plot)
    add_field(parser, "GRAPH", cls=GraphPlotConfig, field="graph", help=GRAPH_HELP)
    add_field(parser, "--out", cls=GraphPlotConfig, field="out", metavar="PNG", help="image file to write")
    add_field(parser, "--top", cls=GraphPlotConfig, field="top", type=int, metavar="N",
              help="topics to draw, the most frequent")  # fmt: skip

    parser = add("graph sample", "sample concept compositions by random walk", graph_sample)
    add_field(parser, "GRAPH", cls=SampleConfig, field="graph", help=GRAPH_HELP)
    add_field(parser, "-n", cls=SampleConfig, field="n", type=int, metavar="N",
              help="number of walks, indices 0..N-1; with --unique: number of unique compositions")  # fmt: skip
    add_field(parser, "--seed", cls=SampleConfig, field="seed", type=int, metavar="S", help="random seed")
    add_field(parser, "--out", cls=SampleConfig, field="out", metavar="FILE",
              help="compositions, JSON lines; beside it: .report.json")  # fmt: skip
    add_field(parser, "--shard", cls=SampleConfig, field="shard", metavar="i/k",
              help="only shard i of k (0-based): a contiguous share of the walks")  # fmt: skip
    add_field(parser, "--unique", cls=SampleConfig, field="unique", action="store_true",
              help="write exactly N unique compositions: walk on past N, keeping a walk only when its topic and "
                   "knowledge-point sets are new; shards split that sequence, so their outputs concatenate to "
                   "the whole run's")  # fmt: skip
    add_field(parser, "--force", cls=SampleConfig, field="force", action="store_true",
              help="replace an existing FILE that graph sample did not write")  # fmt: skip
    add_config_args(parser, "configs/graph_sample.yaml")
    parser.epilog = ("the walk's shape is set by key=value: walk.start (uniform|frequency), walk.topic_steps and\n"
                     "walk.kp_steps ([min, max]), e.g. walk.start=frequency walk.kp_steps=[1,3]; walk.focus=concepts.csv\n"
                     "walk.boost=3 favours the concepts an `eval concepts=true` run found weak")  # fmt: skip
