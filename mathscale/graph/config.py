"""Configs of the ``mathscale graph`` commands (``mathscale graph <command> --print-config`` prints each)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from mathscale.errors import MathscaleError
from mathscale.keys import in_key, not_in_key
from mathscale.llm.config import LLMConfig


@dataclass
class WalkConfig:
    """MathScale's random walk that composes concepts (the paper's defaults); ``graph sample``
    and ``generate`` both embed it as ``walk:``."""

    start: Literal["uniform", "frequency"] = in_key(
        "uniform",
        help="first topic: uniform, or by how often seeds name it",
    )
    topic_steps: list[int] = in_key(factory=lambda: [1, 2], help="[min, max] steps among topics")
    kp_steps: list[int] = in_key(factory=lambda: [0, 4], help="[min, max] steps among knowledge points")
    # concepts.csv from `eval concepts=true` (a path, or a list: e.g. the base and the fine-tuned model's);
    # walks lean towards the weak concepts (mathscale/graph/focus.py); empty: no focus
    focus: str | list[str] = in_key(
        "",
        help="concepts.csv from `eval concepts=true` (or a list of them): lean towards weak concepts",
    )
    boost: float = in_key(
        1.0, ge=1.0, le=100.0,
        help="weight of a concept that is surely wrong (1 = no focus); others: 1 to boost",
    )

    def check(self) -> None:
        """Raise MathscaleError unless both step ranges are [min, max] with 0 <= min <= max (boost's range is its field's)."""
        for key in ("topic_steps", "kp_steps"):
            value = getattr(self, key)
            if len(value) != 2 or not 0 <= value[0] <= value[1]:
                raise MathscaleError(f"walk.{key}={value}: expected [min, max] with 0 <= min <= max")

    @property
    def focus_files(self) -> list[str]:
        """``focus`` as a list of paths (empty without focus)."""
        files = [self.focus] if isinstance(self.focus, str) else list(self.focus)
        return [f for f in files if f]


@dataclass
class ExtractConfig:
    """``graph extract``: seed questions -> concept records."""

    seeds: str = not_in_key("", help="seed questions, JSON lines (our seed format or MWPBench records)")
    out: str = not_in_key(
        "",
        help="concept records, JSON lines; a rerun resumes. Beside it: .failures.jsonl, .report.json",
    )
    llm: LLMConfig = in_key(factory=LLMConfig)
    prompt: str = in_key(
        "extract_concepts.v2",
        help="template in mathscale/prompts/<prompt>.txt (v1: the closed-list original)",
    )
    temperature: float = in_key(0.0, ge=0, help="per-request; greedy answers make reruns agree with the cache")
    max_tokens: int = in_key(256, ge=1, help="a reply is a short JSON object")
    limit: int = in_key(0, ge=0, help="only the first N seeds; 0: all")


@dataclass
class BuildConfig:
    """``graph build``: concept records -> weighted concept graph."""

    concepts: str = not_in_key("", help="concept records from `graph extract`")
    out: str = not_in_key("", help="node-link JSON (GraphML when it ends in .graphml)")
    mapping: str = not_in_key(
        "",
        help="where to list every merge of names (without it: beside GRAPH, g.json -> g.merges.json)",
    )
    fold: bool = in_key(True, help="treat names differing in case, spacing, punctuation or plural as one concept")
    drop_generic: bool = in_key(
        True,
        help="drop names that fit any question (\"Mathematics\", \"Problem solving\", bare numbers)",
    )
    embedding_merge: bool = in_key(False, help="also merge near-synonyms by sentence-embedding cosine similarity")
    embedding_threshold: float = in_key(0.9, gt=0, le=1, help="cosine similarity at or above which two names merge")
    embedding_model: str = in_key("", help="sentence-transformers model name or path; empty = bundled all-MiniLM-L6-v2")
    force: bool = not_in_key(False, help="replace an existing GRAPH or --mapping file that graph build did not write")


@dataclass
class SampleConfig:
    """``graph sample``: random walks -> concept compositions."""

    graph: str = not_in_key("", help="a graph from `graph build`")
    out: str = not_in_key("", help="compositions, JSON lines; beside it: .report.json")
    shard: str = not_in_key("", help="only shard i of k (0-based): a contiguous share of the walks")
    n: int = in_key(1000, ge=0, help="number of walks, indices 0..N-1; with --unique: number of unique compositions")
    seed: int = in_key(0, help="random seed")
    unique: bool = in_key(
        False,
        help="write exactly N unique compositions: walk on past N, keeping a walk only when its topic and knowledge-point sets are new; shards split that sequence, so their outputs concatenate to the whole run's",
    )
    force: bool = not_in_key(False, help="replace an existing FILE that graph sample did not write")
    walk: WalkConfig = in_key(factory=WalkConfig, help="the same keys as generate's walk:")


@dataclass
class StatsConfig:
    """``graph stats``: a graph's size, degrees, components, top concepts and diversity."""

    graph: str = not_in_key("", help="a graph from `graph build`")
    json: bool = not_in_key(False, help="print JSON instead of text")
    top: int = in_key(10, ge=0, help="most frequent concepts to list")
    walks: int = in_key(
        10_000, ge=0,
        help="random walks (seed 0) whose diversity is measured beside the seeds'; 0: none",
    )
    focus: list[str] = in_key(
        factory=list,
        help="concepts.csv files from `eval concepts=true`: focus the walks on their weak concepts (as walk.focus) and show the share of walks through them with and without focus",
    )
    boost: float = in_key(
        1.0, ge=1.0, le=100.0,
        help="how strongly --focus leans on weak concepts (as walk.boost; 1: not at all)",
    )


@dataclass
class GraphPlotConfig:
    """``graph plot``: a picture of the topic subgraph and the most frequent concepts."""

    graph: str = not_in_key("", help="a graph from `graph build`")
    out: str = not_in_key("", help="image file to write")
    top: int = in_key(40, ge=0, help="topics to draw, the most frequent")
