"""Config of ``mathscale generate``; ``configs/generate.yaml`` spells out the defaults."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from mathscale.generate.dedup import DedupConfig
from mathscale.generate.filters import FilterConfig
from mathscale.keys import in_key
from mathscale.llm.config import LLMConfig


@dataclass
class WalkConfig:
    """The random walk that composes concepts (MathScale's defaults)."""

    start: Literal["uniform", "frequency"] = in_key("uniform")  # first topic: uniform, or by how often seeds name it
    topic_steps: list[int] = in_key(factory=lambda: [1, 2])  # [min, max] steps among topics
    kp_steps: list[int] = in_key(factory=lambda: [0, 4])  # [min, max] steps among knowledge points


@dataclass
class DecontaminationConfig:
    benchmarks: list[str] = in_key(factory=list)  # MWPBench JSONL files or folders of them
    ngram: int = in_key(13)  # words in the shared n-gram that marks a question as contaminated


@dataclass
class ConsensusConfig:
    """KPDDS / OpenMathInstruct-2 vote: solve each question k more times; the majority answer
    under the grader's equivalence is kept (mathscale/generate/consensus.py)."""

    enabled: bool = in_key(False)
    k: int = in_key(3)  # independent solutions per question; they and the generated answer are the votes
    threshold: float = in_key(0.6)  # least share of the votes the winning answer needs, else the question is dropped
    temperature: float = in_key(0.7)
    prompt: str = in_key("solve.v2")  # solve.v1: the JSON reply of older runs


@dataclass
class QualityConfig:
    """KPDDS quality score: an LLM rates each question (solvable, well-posed, self-contained)."""

    enabled: bool = in_key(False)
    threshold: float = in_key(0.8)  # least score (mean of the three 1-5 ratings, divided by 5) a question keeps
    temperature: float = in_key(0.0)
    prompt: str = in_key("rate_question.v1")


@dataclass
class GenerateConfig:
    llm: LLMConfig = in_key(factory=LLMConfig)
    n: int = in_key(100)  # samples to produce (the whole run; a shard produces its part)
    seed: int = in_key(0)  # walks, example choice and LLM seeds all derive from it
    prompt: str = in_key("generate_qa.v2")  # template in mathscale/prompts/<prompt>.txt; v1: the JSON reply of older runs
    examples: int = in_key(2)  # seed questions shown as examples in each prompt
    temperature: float = in_key(0.7)
    max_tokens: int = in_key(1024)
    max_attempts: int = in_key(64)  # walks tried per sample slot before it is given up (at most 1024)
    unique_compositions: bool = in_key(True)  # one LLM call per concept set: skip a walk repeating an earlier walk's sets
    walk: WalkConfig = in_key(factory=WalkConfig)
    filters: FilterConfig = in_key(factory=FilterConfig)
    dedup: DedupConfig = in_key(factory=DedupConfig)
    decontamination: DecontaminationConfig = in_key(factory=DecontaminationConfig)
    consensus: ConsensusConfig = in_key(factory=ConsensusConfig)
    quality: QualityConfig = in_key(factory=QualityConfig)
    dataset: bool = in_key(True)  # also save a Hugging Face datasets copy with a dataset card
