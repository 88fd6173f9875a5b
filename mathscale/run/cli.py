"""Commands that close the loop: ``run``, ``scale`` and ``plot`` (argparse only)."""

from __future__ import annotations

RUN_EPILOG = """\
Each stage is skipped when its outputs are up to date for its config and inputs (see
RUN/manifest.json); change one stage's settings and that stage and those after it rerun.
An interrupted run resumes where it stopped. Examples:
  mathscale run configs/run/quickstart.yaml
  mathscale run configs/run/quickstart.yaml generate.n=200          # regenerates, retrains, re-evaluates
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


def add_commands(add) -> None:
    run = add("run", "the whole pipeline from one config: extract, build, generate, train, eval",
              "mathscale.run.command:main")  # fmt: skip
    run.epilog = RUN_EPILOG
    run.add_argument("config", metavar="CONFIG", help="run config, e.g. configs/run/quickstart.yaml")
    run.add_argument("overrides", nargs="*", metavar="key=value", help="e.g. generate.n=200 train.epochs=1")
    run.add_argument("--dry-run", action="store_true",
                     help="check the config and every input, print each stage and the training launch command, and "
                          "stop (no LLM call, no download, no training, nothing written)")  # fmt: skip

    scale = add("scale", "scaling curve: one fine-tune per data size, evaluated, plotted", "mathscale.run.scale:main")
    scale.epilog = SCALE_EPILOG
    scale.add_argument("config", metavar="CONFIG", help="scale config, e.g. configs/run/scale_quickstart.yaml")
    scale.add_argument("overrides", nargs="*", metavar="key=value", help="e.g. sizes=[100,1000,10000] repeats=3")
    scale.add_argument("--dry-run", action="store_true", help="check everything and print the plan, as `run --dry-run`")

    plot = add("plot", "overlay the results.csv of several scaling runs in one plot", "mathscale.run.plot:main")
    plot.add_argument("results", nargs="+", metavar="RESULTS", help="results.csv files from `mathscale scale`")
    plot.add_argument("--out", required=True, metavar="FILE", help="plot file; .png and .svg are both written")
    plot.add_argument("--grader", default="mathscale", choices=["mathscale", "mwpbench"], help="whose verdicts to plot")
