"""Configs of ``mathscale generate`` and ``generate merge`` (``--print-config`` prints either)."""

from __future__ import annotations

from dataclasses import dataclass

from mathscale.cluster.config import Executor, RayConfig
from mathscale.generate.filters import FilterConfig  # declared beside the filters that read it
from mathscale.graph.config import WalkConfig
from mathscale.keys import in_key, not_in_key
from mathscale.llm.config import LLMConfig


@dataclass
class DedupConfig:
    """Exact and near-duplicate questions (mathscale/generate/dedup.py)."""

    exact: bool = in_key(True)
    near: bool = in_key(True)
    near_threshold: float = in_key(0.8, gt=0, le=1, help="estimated Jaccard similarity of word shingles")
    num_perm: int = in_key(64, ge=1, help="MinHash permutations: more is more exact and slower")
    shingle_words: int = in_key(3, ge=1)


@dataclass
class DecontaminationConfig:
    benchmarks: list[str] = in_key(
        factory=list,
        help="as eval reads them: MWPBench JSONL files, folders of them, HF dataset ids",
    )
    ngram: int = in_key(13, ge=1, help="words in the shared n-gram that marks a question as contaminated")


@dataclass
class ConsensusConfig:
    """KPDDS / OpenMathInstruct-2 vote: solve each question k more times; the majority answer
    under the grader's equivalence is kept (mathscale/generate/consensus.py)."""

    enabled: bool = in_key(False)
    k: int = in_key(3, ge=1, help="independent solutions per question; they and the generated answer are the votes")
    threshold: float = in_key(
        0.6, ge=0, le=1,
        help="least share of the votes the winning answer needs, else the question is dropped",
    )
    temperature: float = in_key(0.7, ge=0)
    prompt: str = in_key("solve.v2", help="solve.v1: the JSON reply of older runs")


@dataclass
class QualityConfig:
    """KPDDS quality score: an LLM rates each question (solvable, well-posed, self-contained)."""

    enabled: bool = in_key(False)
    threshold: float = in_key(
        0.8, ge=0, le=1,
        help="least score (mean of the three 1-5 ratings, divided by 5) a question keeps",
    )
    temperature: float = in_key(0.0, ge=0)
    prompt: str = in_key("rate_question.v1")


@dataclass
class GenerateConfig:
    """``generate GRAPH -n N --out SAMPLES``: concept compositions -> filtered question-answer pairs."""

    graph: str = not_in_key("", help="concept graph from `mathscale graph build`")
    out: str = not_in_key("", help="merged JSONL; its report, drops, usage and dataset are written beside it")
    shard: str = not_in_key("", help="produce only shard i of k (contiguous slots)")
    llm: LLMConfig = in_key(factory=LLMConfig)
    n: int = in_key(100, ge=0, help="samples to produce (the whole run; a shard makes its part)")
    seed: int = in_key(0, help="walks, examples and LLM seeds derive from it")
    prompt: str = in_key(
        "generate_qa.v2",
        help="template in mathscale/prompts/<prompt>.txt; v1: the JSON reply of older runs",
    )
    examples: int = in_key(2, ge=0, help="seed questions shown as examples in each prompt")
    temperature: float = in_key(0.7, ge=0)
    max_tokens: int = in_key(1024, ge=1)
    max_attempts: int = in_key(64, help="walks tried per sample slot before it is given up (at most 1024)")
    unique_compositions: bool = in_key(
        True,
        help="one LLM call per concept set: skip a walk repeating an earlier walk's sets",
    )
    walk: WalkConfig = in_key(factory=WalkConfig)
    filters: FilterConfig = in_key(factory=FilterConfig)
    dedup: DedupConfig = in_key(factory=DedupConfig)
    decontamination: DecontaminationConfig = in_key(factory=DecontaminationConfig)
    consensus: ConsensusConfig = in_key(factory=ConsensusConfig)
    quality: QualityConfig = in_key(factory=QualityConfig)
    dataset: bool = in_key(True, help="also save a Hugging Face datasets copy with a dataset card")
    # local: this process makes every request; ray: the slots run as Ray tasks over a cluster's
    # workers (ray.*), the driver writes the same files (the one-process run's samples, byte for byte)
    executor: Executor = not_in_key("local")
    ray: RayConfig = not_in_key(factory=RayConfig)


@dataclass
class MergeConfig(GenerateConfig):
    """``generate merge SHARD... --out SAMPLES``: one dataset from generation shards.

    Its settings are generate's, read from the same YAML (give the config the shards were
    generated with): ``decontamination`` and ``dedup`` decide what the merge removes, and
    with ``refill`` the others decide how an emptied slot gets its next walks. ``graph``,
    ``shard`` and ``n`` are not read: the shards say which slots they hold. A subclass rather
    than an embedded ``generate:`` section, so that the same file and the same overrides
    (``decontamination.benchmarks=[...]``) apply to both commands unchanged.
    """

    shards: list[str] = not_in_key(factory=list, help="sample files from `mathscale generate --shard i/k`")
    refill: str = not_in_key(
        "",
        help="give the slots the merge emptied their next walks through the LLM (the graph the shards were generated from; calls the configured endpoint)",
    )
    allow_partial: bool = not_in_key(
        False,
        help="merge the shards given although some shard i/k of the run is missing (the report lists the missing ones); without it every shard of one run must be given",
    )
