"""Configs of the ``mathscale graph`` commands; ``configs/graph_{extract,build,sample}.yaml`` spell out
their defaults (``stats`` and ``plot`` take all of theirs as flags)."""

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

    start: Literal["uniform", "frequency"] = in_key("uniform")  # first topic: uniform, or by how often seeds name it
    topic_steps: list[int] = in_key(factory=lambda: [1, 2])  # [min, max] steps among topics
    kp_steps: list[int] = in_key(factory=lambda: [0, 4])  # [min, max] steps among knowledge points
    # concepts.csv from `eval concepts=true` (a path, or a list: e.g. the base and the fine-tuned model's);
    # walks lean towards the weak concepts (mathscale/graph/focus.py); empty: no focus
    focus: str | list[str] = in_key("")
    boost: float = in_key(1.0, ge=1.0, le=100.0)  # weight of a concept that is surely wrong (1 = no focus); others: 1 to boost

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

    seeds: str = not_in_key("")  # seed questions, JSON lines (our seed format or MWPBench records)
    out: str = not_in_key("")  # concept records, JSON lines; a rerun resumes (side files beside it)
    llm: LLMConfig = in_key(factory=LLMConfig)
    prompt: str = in_key("extract_concepts.v2")  # template in mathscale/prompts/<prompt>.txt (v1: the closed-list original)
    temperature: float = in_key(0.0, ge=0)  # per-request; greedy answers make reruns agree with the cache
    max_tokens: int = in_key(256, ge=1)  # a reply is a short JSON object
    limit: int = in_key(0, ge=0)  # extract only the first N seeds of the file (0 = all)


@dataclass
class BuildConfig:
    """``graph build``: concept records -> weighted concept graph."""

    concepts: str = not_in_key("")  # concept records from `graph extract`
    out: str = not_in_key("")  # the graph: node-link JSON (GraphML when it ends in .graphml)
    mapping: str = not_in_key("")  # where to list every merge of names; empty = beside out, as <out>.merges.json
    fold: bool = in_key(True)  # treat names differing in case, spacing, punctuation or plural as one concept
    drop_generic: bool = in_key(True)  # drop names that fit any question ("Mathematics", "Problem solving", bare numbers)
    embedding_merge: bool = in_key(False)  # also merge near-synonyms by sentence-embedding cosine similarity
    embedding_threshold: float = in_key(0.9, gt=0, le=1)  # cosine similarity at or above which two names merge
    embedding_model: str = in_key("")  # sentence-transformers model name or path; empty = bundled all-MiniLM-L6-v2
    force: bool = not_in_key(False)  # replace an existing --out or --mapping that graph build did not write


@dataclass
class SampleConfig:
    """``graph sample``: random walks -> concept compositions."""

    graph: str = not_in_key("")  # a graph from `graph build`
    out: str = not_in_key("")  # compositions, JSON lines; beside it: .report.json
    shard: str = not_in_key("")  # "i/k": write only shard i of k (0-based), a contiguous share; empty = all
    n: int = in_key(1000, ge=0)  # walks 0 .. n-1, or with unique: unique compositions (a shard takes a contiguous part)
    seed: int = in_key(0)  # walk i is a pure function of (graph, seed, walk.focus files' contents, i)
    unique: bool = in_key(False)  # n counts unique compositions: walk past n, skipping a set seen at an earlier walk
    force: bool = not_in_key(False)  # replace an existing --out that graph sample did not write
    walk: WalkConfig = in_key(factory=WalkConfig)


@dataclass
class StatsConfig:
    """``graph stats``: a graph's size, degrees, components, top concepts and diversity."""

    graph: str = not_in_key("")  # a graph from `graph build`
    json: bool = not_in_key(False)  # print the figures as JSON instead of text
    top: int = in_key(10, ge=0)  # most frequent topics and knowledge points to list
    walks: int = in_key(10_000, ge=0)  # random walks (seed 0) whose diversity is shown beside the seeds'; 0 = none
    focus: list[str] = in_key(factory=list)  # concepts.csv files: the walks are focused as walk.focus does it
    boost: float = in_key(1.0, ge=1.0, le=100.0)  # as walk.boost: weight of a concept that is surely wrong (1 = no focus)


@dataclass
class GraphPlotConfig:
    """``graph plot``: a picture of the topic subgraph and the most frequent concepts."""

    graph: str = not_in_key("")  # a graph from `graph build`
    out: str = not_in_key("")  # the image file (PNG, or the format its suffix names)
    top: int = in_key(40, ge=0)  # topics to draw, the most frequent
