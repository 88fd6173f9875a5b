"""Config of ``mathscale generate``; ``configs/generate.yaml`` spells out the defaults."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from mathscale.generate.dedup import DedupConfig
from mathscale.generate.filters import FilterConfig
from mathscale.llm.config import LLMConfig


@dataclass
class WalkConfig:
    """The random walk that composes concepts (MathScale's defaults)."""

    start: Literal["uniform", "frequency"] = "uniform"  # first topic: uniform, or by how often seeds name it
    topic_steps: list[int] = field(default_factory=lambda: [1, 2])  # [min, max] steps among topics
    kp_steps: list[int] = field(default_factory=lambda: [0, 4])  # [min, max] steps among knowledge points


@dataclass
class DecontaminationConfig:
    benchmarks: list[str] = field(default_factory=list)  # MWPBench JSONL files or folders of them
    ngram: int = 13  # words in the shared n-gram that marks a question as contaminated


@dataclass
class ConsensusConfig:
    """KPDDS / OpenMathInstruct-2 vote: solve each question k more times; the majority answer
    under the grader's equivalence is kept (mathscale/generate/consensus.py)."""

    enabled: bool = False
    k: int = 3  # independent solutions per question; they and the generated answer are the votes
    threshold: float = 0.6  # least share of the votes the winning answer needs, else the question is dropped
    temperature: float = 0.7
    prompt: str = "solve.v1"


@dataclass
class QualityConfig:
    """KPDDS quality score: an LLM rates each question (solvable, well-posed, self-contained)."""

    enabled: bool = False
    threshold: float = 0.8  # least score (mean of the three 1-5 ratings, divided by 5) a question keeps
    temperature: float = 0.0
    prompt: str = "rate_question.v1"


@dataclass
class GenerateConfig:
    llm: LLMConfig = field(default_factory=LLMConfig)
    n: int = 100  # samples to produce (the whole run; a shard produces its part)
    seed: int = 0  # walks, example choice and LLM seeds all derive from it
    prompt: str = "generate_qa.v1"  # template in mathscale/prompts/<prompt>.txt
    examples: int = 2  # seed questions shown as examples in each prompt
    temperature: float = 0.7
    max_tokens: int = 1024
    max_attempts: int = 64  # walks tried per sample slot before it is given up (at most 1024)
    walk: WalkConfig = field(default_factory=WalkConfig)
    filters: FilterConfig = field(default_factory=FilterConfig)
    dedup: DedupConfig = field(default_factory=DedupConfig)
    decontamination: DecontaminationConfig = field(default_factory=DecontaminationConfig)
    consensus: ConsensusConfig = field(default_factory=ConsensusConfig)
    quality: QualityConfig = field(default_factory=QualityConfig)
    dataset: bool = True  # also save a Hugging Face datasets copy with a dataset card
