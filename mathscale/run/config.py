"""Configs of ``mathscale run`` and ``mathscale scale``: one section per stage.

Each section is that stage's own config (the same keys as ``configs/<stage>.yaml``); the
run fills in what connects the stages (inputs, outputs, the model being evaluated) and
the one ``llm`` section serves both LLM stages.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mathscale.eval.eval_cmd import EvalConfig
from mathscale.generate.config import GenerateConfig
from mathscale.graph.config import BuildConfig, ExtractConfig
from mathscale.llm.config import LLMConfig
from mathscale.train.config import TrainConfig


@dataclass
class RunConfig:
    out: str = "runs/quickstart"  # the run folder: every stage's outputs, configs and the manifest
    seeds: str = ""  # seed questions (JSONL); empty = the small set shipped with mathscale
    base_model: str = "smollm2-135m"  # the student: a HF model folder, a hub id (org/name[@revision]) or a named model
    benchmarks: str = ""  # MWPBench JSONL or folder; empty = the quickstart questions shipped with mathscale
    llm: LLMConfig = field(default_factory=LLMConfig)  # teacher for extraction and generation
    extract: ExtractConfig = field(default_factory=ExtractConfig)
    build: BuildConfig = field(default_factory=BuildConfig)
    generate: GenerateConfig = field(default_factory=GenerateConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    eval_base: bool = True  # also evaluate the untrained base model (size 0 in results.csv and the plot)


@dataclass
class ScaleConfig(RunConfig):
    out: str = "runs/scale"
    sizes: list[int] = field(default_factory=lambda: [20, 40, 80])  # nested prefixes of one generated set
    repeats: int = 1  # independent curves (generate.seed + r, train.seed + r); the plot draws their band
