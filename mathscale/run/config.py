"""Configs of ``mathscale run``, ``mathscale scale`` and ``mathscale plot``.

A run or scale config has one section per stage.

Each section is that stage's own config (the same keys as ``configs/<stage>.yaml``); the
run fills in what connects the stages (inputs, outputs, the model being evaluated) and
the one ``llm`` section serves both LLM stages.
"""

from __future__ import annotations

from dataclasses import dataclass

from mathscale.eval.config import EvalConfig, GraderMode
from mathscale.generate.config import GenerateConfig
from mathscale.graph.config import BuildConfig, ExtractConfig
from mathscale.keys import in_key, not_in_key
from mathscale.llm.config import LLMConfig
from mathscale.train.config import TrainConfig


@dataclass
class RunConfig:
    out: str = not_in_key("runs/quickstart", help="the run folder: every stage's outputs, configs and the manifest")
    seeds: str = in_key("", help="seed questions (JSONL); empty = the small set shipped with mathscale")
    base_model: str = in_key(
        "smollm2-135m",
        help="the student: a HF model folder, a hub id (org/name[@revision]) or a named model",
    )
    benchmarks: str = in_key(
        "",
        help="MWPBench JSONL or folder; empty = the quickstart questions shipped with mathscale",
    )
    llm: LLMConfig = in_key(factory=LLMConfig, help="teacher for extraction and generation")
    extract: ExtractConfig = in_key(factory=ExtractConfig)
    build: BuildConfig = in_key(factory=BuildConfig)
    generate: GenerateConfig = in_key(factory=GenerateConfig)
    train: TrainConfig = in_key(factory=TrainConfig)
    eval: EvalConfig = in_key(factory=EvalConfig)
    eval_base: bool = not_in_key(
        True,
        help="also evaluate the untrained base model (size 0 in results.csv and the plot)",
    )
    prune: bool = not_in_key(False, help="after the run, delete RUN/superseded/ (outputs reruns replaced)")
    dry_run: bool = not_in_key(False, help="check the config and every input, print each stage and the training launch command, and stop "
        "(no LLM call, no download, no training, nothing written)")


@dataclass
class ScaleConfig(RunConfig):
    out: str = not_in_key("runs/scale")
    sizes: list[int] = in_key(factory=lambda: [20, 40, 80], help="nested prefixes of one generated set")
    repeats: int = in_key(
        1, ge=1,
        help="independent curves (generate.seed + r, train.seed + r); the plot draws their band",
    )
    # after the first size: evaluate per concept, generate the later sizes focused on the weak concepts
    # (walk.focus), and plot focused vs unfocused accuracy per concept group (mathscale/run/focus_round.py)
    focus_round: bool = in_key(False)
    focus_boost: float = in_key(3.0, ge=1.0, le=100.0, help="the focused generation's walk.boost")


@dataclass
class PlotConfig:
    """``mathscale plot``: overlay the results.csv of several scaling runs."""

    results: list[str] = not_in_key(factory=list, help="results.csv files from `mathscale scale`")
    out: str = not_in_key("", help="plot file; .png and .svg are both written")
    grader: GraderMode = not_in_key("mathscale", help="whose verdicts to plot")
