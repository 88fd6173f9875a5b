"""Commands of the concept-graph stage: ``graph extract|build|stats|plot|sample`` (argparse only; cheap to import)."""

from __future__ import annotations

import argparse

from mathscale.cli_common import add_config_args, add_field, config_from_args, exit_status
from mathscale.graph.config import BuildConfig, ExtractConfig, GraphPlotConfig, SampleConfig, StatsConfig

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
    add_field(parser, "SEEDS", cls=ExtractConfig, field="seeds")
    add_field(parser, "--out", cls=ExtractConfig, field="out", metavar="CONCEPTS")
    add_field(parser, "--limit", cls=ExtractConfig, field="limit", metavar="N")
    add_config_args(parser, ExtractConfig)

    parser = add("graph build", "build the weighted concept graph from concept records", graph_build)
    add_field(parser, "CONCEPTS", cls=BuildConfig, field="concepts")
    add_field(parser, "--out", cls=BuildConfig, field="out", metavar="GRAPH")
    add_field(parser, "--mapping", cls=BuildConfig, field="mapping", metavar="FILE")
    add_field(parser, "--force", cls=BuildConfig, field="force", action="store_true")
    add_config_args(parser, BuildConfig)

    parser = add("graph stats", "print nodes, edges, degrees, components, top concepts and diversity", graph_stats)
    add_field(parser, "GRAPH", cls=StatsConfig, field="graph")
    add_field(parser, "--json", cls=StatsConfig, field="json", action="store_true")
    add_field(parser, "--top", cls=StatsConfig, field="top", metavar="N")
    add_field(parser, "--walks", cls=StatsConfig, field="walks", metavar="N")
    add_field(parser, "--focus", cls=StatsConfig, field="focus", nargs="+", metavar="CSV")
    add_field(parser, "--boost", cls=StatsConfig, field="boost", metavar="B")
    add_config_args(parser, StatsConfig)

    parser = add("graph plot", "draw the topic subgraph and the most frequent concepts", graph_plot)
    add_field(parser, "GRAPH", cls=GraphPlotConfig, field="graph")
    add_field(parser, "--out", cls=GraphPlotConfig, field="out", metavar="PNG")
    add_field(parser, "--top", cls=GraphPlotConfig, field="top", metavar="N")
    add_config_args(parser, GraphPlotConfig)

    parser = add("graph sample", "sample concept compositions by random walk", graph_sample)
    add_field(parser, "GRAPH", cls=SampleConfig, field="graph")
    add_field(parser, "-n", cls=SampleConfig, field="n", metavar="N")
    add_field(parser, "--seed", cls=SampleConfig, field="seed", metavar="S")
    add_field(parser, "--out", cls=SampleConfig, field="out", metavar="FILE")
    add_field(parser, "--shard", cls=SampleConfig, field="shard", metavar="i/k")
    add_field(parser, "--unique", cls=SampleConfig, field="unique", action="store_true")
    add_field(parser, "--force", cls=SampleConfig, field="force", action="store_true")
    add_config_args(parser, SampleConfig)
    parser.epilog = ("the walk's shape is set by key=value: walk.start (uniform|frequency), walk.topic_steps and\n"
                     "walk.kp_steps ([min, max]), e.g. walk.start=frequency walk.kp_steps=[1,3]; walk.focus=concepts.csv\n"
                     "walk.boost=3 favours the concepts an `eval concepts=true` run found weak")
