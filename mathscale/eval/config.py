"""Configs of the evaluation commands: ``eval`` (:class:`EvalConfig`) and ``grade`` (:class:`GradeConfig`).

``mathscale eval --print-config`` (or ``grade``) prints every setting with its help. Cheap to
import: dataclasses, typing and other config modules only.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass
from typing import Literal

from mathscale.cluster.config import Executor, RayConfig
from mathscale.graph.config import ExtractConfig
from mathscale.keys import in_key, not_in_key
from mathscale.llm.config import LLMConfig

# The two graders: ``mathscale`` (ours) and ``mwpbench`` (the official MWPBench check).
GraderMode = Literal["mathscale", "mwpbench"]
GRADER_MODES: tuple[str, ...] = typing.get_args(GraderMode)
# Canonical benchmark suites (mathscale.eval.suite.SUITES holds their tasks); empty: none, every topic given.
Suite = Literal["", "mwpbench"]
SUITE_NAMES: tuple[str, ...] = tuple(name for name in typing.get_args(Suite) if name)


@dataclass
class EvalConfig:
    """``eval``: a model's answers to MWPBench questions, graded, in one output folder."""

    # hf, vllm: a folder, a hub id (org/name[@revision]) or a named model; openai: the endpoint's model name (optional)
    model: str = in_key(
        "",
        help="model folder, Hugging Face hub id (org/name[@revision]) or named model (openai backend: the endpoint's model name)",
    )
    benchmarks: str = in_key(
        "",
        help="MWPBench JSONL file, a folder of them, or a Hugging Face dataset id (org/name[@revision])",
    )
    out: str = in_key("", help="output folder")
    backend: str = in_key("hf", help="where completions come from: a name in mathscale.eval.backends.BACKENDS")
    # a name of mathscale.templates.TEMPLATE_NAMES (alpaca and alpaca_force_ans are the official strings);
    # empty: the one the model was trained on (its templates.TEMPLATE_FILE), else alpaca
    template: str = in_key(
        "",
        help="empty: the template the model was trained on (mathscale_template.json), else alpaca",
    )
    suite: Suite = in_key(
        "",
        help="mwpbench: the canonical MWPBench suite: its 22 tasks, the official 2,000-per-task cap, stop strings and scores (the present and missing tasks are reported)",
    )
    max_new_tokens: int = in_key(2048, ge=1)
    batch_size: int = not_in_key(16, ge=1, help="hf: prompts per batch (greedy answers do not depend on it)")
    limit: int = in_key(
        0, ge=-1,
        help="items per data_topic, the first ones; 0: all (under --suite the official 2000); -1: all",
    )
    exclude_overlap: bool = in_key(
        False,
        help="suite=mwpbench: leave out the agieval.math items that are MATH test questions",
    )
    split: str = in_key("test", help="split of a Hugging Face dataset")
    grader: GraderMode = in_key("mathscale", help="the verdict stored in predictions/")
    grader_timeout_s: float = not_in_key(5.0, gt=0)
    # hf/vllm weights and compute: bfloat16, float16, float32, or auto: the checkpoint's own (config.json), for both
    dtype: str = in_key(
        "auto",
        help="hf and vllm alike; auto: the checkpoint's own (config.json), float32 if it names none",
    )
    static_cache: bool = not_in_key(
        False,
        help="hf: static KV cache + torch.compile (pays on a GPU for long generations)",
    )
    tensor_parallel: int = not_in_key(1, ge=1, help="vllm: devices the engine splits the model over")
    kv_cache_gb: float = not_in_key(0.0, ge=0, help="vllm: KV cache in GiB; 0: vLLM's default on a GPU, 4 on a CPU")
    llm: LLMConfig = in_key(factory=LLMConfig, help="openai backend")
    # local: this process sends every request; ray (openai backend): the items go out as Ray tasks
    # over a cluster's workers (ray.*), each calling llm.base_urls from its node; the same files result
    executor: Executor = not_in_key(
        "local",
        help="ray (with backend openai): items spread as Ray tasks over a cluster (README, \"Running on a Ray cluster\")",
    )
    ray: RayConfig = not_in_key(factory=RayConfig)
    concepts: bool = in_key(
        False,
        help="accuracy per topic and knowledge point (questions mapped as `graph extract` maps seeds)",
    )
    concepts_min_items: int = in_key(
        2, ge=1,
        help="results.md lists the weakest concepts with at least this many items",
    )
    concepts_top: int = in_key(10, ge=0, help="... this many of each kind")
    # The extraction settings: give the ones `graph extract` used for the seeds (same prompt, LLM, cache).
    concept_extraction: ExtractConfig = in_key(
        factory=ExtractConfig,
        help="the settings `graph extract` used for the seeds: same prompt, LLM, cache",
    )

    def check(self) -> None:
        """Refuse a backend the registry does not hold (importing it is light: heavy imports wait)."""
        from mathscale.eval.backends import backend_named

        backend_named(self.backend)


@dataclass
class GradeConfig:
    """``grade FILE``: a JSONL of completions, each line written back with ``correct``."""

    file: str = not_in_key("", help="JSONL, one completion per line with its reference 'answer'")
    out: str = not_in_key("", help="write the graded lines here (not given: over FILE)")
    mode: GraderMode = in_key("mathscale", help="grader: mathscale (ours) or mwpbench (the official MWPBench check)")
    # hard limit per item on the sympy path; an item over it counts as wrong (as eval's grader_timeout_s)
    timeout_s: float = not_in_key(
        5.0, gt=0,
        help="hard limit per item on the sympy path; an item over it counts as wrong",
    )
    workers: int = not_in_key(1, ge=1, help="processes for the sympy path")
