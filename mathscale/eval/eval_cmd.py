"""``mathscale eval``: generate answers to MWPBench questions, grade them, write the report.

Output folder (DESIGN.md, "Data contracts")::

    DIR/predictions/<data_topic>.jsonl   one Prediction per item (graded by config.grader)
    DIR/metrics.json                     per dataset and topic, micro, macro; both graders
    DIR/results.md                       the markdown table, both graders side by side
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from mathscale.config import load_config
from mathscale.errors import MathscaleError
from mathscale.eval.backends import BACKENDS, GenerationSettings
from mathscale.eval.benchmarks import Task, load_tasks
from mathscale.eval.grader import MODES, GradeItem, grade_all
from mathscale.eval.metrics import compute_metrics, markdown_table
from mathscale.templates import STOP_STRINGS, check_template, format_prompt
from mathscale.io import atomic_open, atomic_write, atomic_write_json, check_output_path
from mathscale.llm.config import LLMConfig
from mathscale.models import check_model
from mathscale.records import Prediction

log = logging.getLogger(__name__)


@dataclass
class EvalConfig:
    # hf, vllm: a folder, a hub id (org/name[@revision]) or a named model; openai: the endpoint's model name (optional)
    model: str = ""
    benchmarks: str = ""  # MWPBench JSONL, a folder of them, or a Hugging Face dataset id (org/name[@revision])
    out: str = ""  # output folder
    backend: Literal["hf", "vllm", "openai"] = "hf"
    template: str = ""  # alpaca, alpaca_force_ans (the official strings) or chat; empty: the one the model was trained on, else alpaca
    max_new_tokens: int = 2048
    batch_size: int = 16  # hf: prompts per generate() call
    limit: int = 0  # items per data_topic (0 = all), for smoke runs
    split: str = "test"  # split of a Hugging Face dataset
    grader: Literal["mathscale", "mwpbench"] = "mathscale"  # the verdict stored in predictions/
    grader_timeout_s: float = 5.0
    dtype: str = "auto"  # hf/vllm weights: auto, bfloat16, float16, float32
    tensor_parallel: int = 1  # vllm
    llm: LLMConfig = field(default_factory=LLMConfig)  # openai backend


def _apply_flags(cfg: EvalConfig, args: argparse.Namespace) -> EvalConfig:
    for name in ("model", "benchmarks", "out", "backend", "template", "limit"):
        value = getattr(args, name, None)
        if value is not None:
            setattr(cfg, name, value)
    return cfg


def run_eval(cfg: EvalConfig, tasks: list[Task]) -> dict:
    """Generate, grade with both graders, write DIR; returns metrics.json's content."""
    out = Path(cfg.out)
    prompts = [format_prompt(cfg.template, t.item.question) for t in tasks]
    settings = GenerationSettings(
        model=cfg.model, chat=cfg.template == "chat", max_new_tokens=cfg.max_new_tokens,
        stop=STOP_STRINGS[cfg.template], batch_size=cfg.batch_size, dtype=cfg.dtype,
        tensor_parallel=cfg.tensor_parallel, llm=cfg.llm,
    )  # fmt: skip
    if cfg.backend == "openai" and cfg.model:
        settings.llm.model = cfg.model
    started = time.perf_counter()
    completions = BACKENDS[cfg.backend](prompts, settings)
    gen_seconds = time.perf_counter() - started
    items = [GradeItem(c, t.item.answer, t.options) for c, t in zip(completions, tasks)]
    reports = {mode: grade_all(items, mode, timeout=cfg.grader_timeout_s) for mode in MODES}
    by_grader = {mode: compute_metrics((t.item.data_topic, v.correct) for t, v in zip(tasks, r.verdicts)) for mode, r in reports.items()}

    (out / "predictions").mkdir(parents=True, exist_ok=True)
    by_topic: dict[str, list[Prediction]] = defaultdict(list)
    for task, completion, verdict in zip(tasks, completions, reports[cfg.grader].verdicts):
        item = task.item
        by_topic[item.data_topic].append(
            Prediction(item.id, item.data_topic, item.question, item.answer, completion, verdict.extracted, verdict.correct)
        )
    for topic, predictions in by_topic.items():
        with atomic_open(out / "predictions" / f"{topic.replace('/', '_')}.jsonl") as handle:
            for p in predictions:
                handle.write(json.dumps(p.to_json(), ensure_ascii=False) + "\n")
    main = by_grader[cfg.grader].to_json()
    metrics = {
        "model": settings.model, "backend": cfg.backend, "template": cfg.template,
        "benchmarks": cfg.benchmarks, "grader": cfg.grader, **main,
        "graders": {mode: m.to_json() for mode, m in by_grader.items()},
        "grader_timeouts": {mode: r.timeouts for mode, r in reports.items()},
        "generation_seconds": gen_seconds, "items": len(tasks),
    }  # fmt: skip
    atomic_write_json(out / "metrics.json", metrics)
    header = f"# {metrics['model']} ({cfg.backend}, template {cfg.template})\n\nAccuracy in %.\n\n"
    atomic_write(out / "results.md", header + markdown_table(by_grader))
    return metrics


def trained_template(model: str) -> str | None:
    """The template ``mathscale train`` saved with ``model`` (a merged model sits one level down)."""
    for folder in (Path(model), Path(model).parent):
        path = folder / "mathscale_template.json"
        if path.is_file():
            try:
                return json.loads(path.read_text(encoding="utf-8"))["template"]
            except (ValueError, KeyError, TypeError):
                raise MathscaleError(f"{path}: not a template file written by `mathscale train`") from None
    return None


def main(args: argparse.Namespace) -> int:
    cfg = _apply_flags(load_config(EvalConfig, args.config, args.overrides), args)
    local = check_model(cfg.model) if cfg.backend in ("hf", "vllm") else None  # before any work
    if not cfg.template:
        saved = trained_template(str(local or cfg.model)) if cfg.model else None
        cfg.template = saved or "alpaca"
        print(f"template {cfg.template} ({'the one the model was trained on' if saved else 'default'})")
    check_template(cfg.template)
    if not cfg.benchmarks:
        raise MathscaleError("no benchmarks given (option --benchmarks)")
    if not cfg.out:
        raise MathscaleError("no output folder given (option --out)")
    if Path(cfg.out).is_file():
        raise MathscaleError(f"{cfg.out}: is a file; --out takes a folder")
    check_output_path(Path(cfg.out) / "metrics.json")  # the folder is created when the results are written
    tasks = load_tasks(cfg.benchmarks, cfg.limit, cfg.split)
    print(f"{len(tasks)} items from {cfg.benchmarks}; backend {cfg.backend}, template {cfg.template}")
    metrics = run_eval(cfg, tasks)
    print((Path(cfg.out) / "results.md").read_text(encoding="utf-8"))
    rate = metrics["items"] / max(metrics["generation_seconds"], 1e-9)
    print(f"generation {metrics['generation_seconds']:.1f} s ({rate:.2f} items/s); wrote {cfg.out}/")
    return 0
