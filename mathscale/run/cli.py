"""Commands that close the loop: ``run``, ``scale`` and ``plot`` (argparse only)."""

from __future__ import annotations

import argparse

from mathscale.cli_common import add_config_args, add_field, add_print_config, config_from_args, exit_status
from mathscale.run.config import PlotConfig, RunConfig, ScaleConfig

RUN_EPILOG = """\
Each stage is skipped when its outputs are up to date for its config and inputs (see
RUN/manifest.json); change a setting that can change a stage's result and that stage and
those after it rerun (logging, progress, concurrency, timeouts, retries and endpoint URLs
never do). A larger generate.n keeps the samples made and generates only the new ones.
Outputs a rerun replaces move to RUN/superseded/<stage>-<key>/; --prune removes them.
An interrupted run resumes where it stopped. Examples:
  mathscale run configs/run/quickstart.yaml
  mathscale run configs/run/quickstart.yaml generate.n=200          # extends generation, retrains, re-evaluates
  mathscale run configs/run/paper_8gpu.yaml llm.base_urls=[http://vllm:8000/v1]
  mathscale run configs/run/paper_8gpu.yaml --dry-run   # check config and inputs, print the plan
"""

SCALE_EPILOG = """\
One generation of max(sizes) samples, whose prefixes are the training sets; one fine-tune
and evaluation per size, and of the base model; RUN/results.csv and RUN/scaling.png.
If generation comes up short, the sizes it reaches are still trained and the others are
marked "not reached". Exit status: 0 all sizes done, 3 some sizes not reached, 2 error.
Examples:
  mathscale scale configs/run/scale_quickstart.yaml
  mathscale scale configs/run/scale_quickstart.yaml sizes=[25,50,100] repeats=3   # bands over 3 seeds
"""


def run(args: argparse.Namespace) -> int:
    from mathscale.run.command import main

    return exit_status(main(config_from_args(RunConfig, args), source=args.config))


def scale(args: argparse.Namespace) -> int:
    from mathscale.run.scale_command import main

    return exit_status(main(config_from_args(ScaleConfig, args), source=args.config))


def plot(args: argparse.Namespace) -> int:
    from mathscale.run.plot_command import main

    return exit_status(main(config_from_args(PlotConfig, args)))


def _run_args(parser: argparse.ArgumentParser, cls: type, example: str, overrides: str) -> None:
    parser.add_argument("config", metavar="CONFIG", help=f"{parser.prog.split()[-1]} config, e.g. {example}")
    parser.add_argument("overrides", nargs="*", metavar="key=value", help=f"e.g. {overrides}")
    add_print_config(parser, cls, reads="CONFIG")
    add_field(parser, "--prune", cls=cls, field="prune", action="store_true")
    add_field(parser, "--dry-run", cls=cls, field="dry_run", action="store_true")


def add_commands(add) -> None:
    parser = add("run", "the whole pipeline from one config: extract, build, generate, train, eval", run)
    parser.epilog = RUN_EPILOG
    _run_args(parser, RunConfig, "configs/run/quickstart.yaml", "generate.n=200 train.epochs=1")

    parser = add("scale", "scaling curve: one fine-tune per data size, evaluated, plotted", scale)
    parser.epilog = SCALE_EPILOG
    _run_args(parser, ScaleConfig, "configs/run/scale_quickstart.yaml", "sizes=[100,1000,10000] repeats=3")

    parser = add("plot", "overlay the results.csv of several scaling runs in one plot", plot)
    add_field(parser, "RESULTS", cls=PlotConfig, field="results", nargs="*")
    add_field(parser, "--out", cls=PlotConfig, field="out", metavar="FILE")
    add_field(parser, "--grader", cls=PlotConfig, field="grader")
    add_config_args(parser, PlotConfig)
