"""``mathscale eval``: generate answers to MWPBench questions, grade them, write the report.

Output folder::

    DIR/predictions/<data_topic>.jsonl   one Prediction per item (graded by config.grader)
    DIR/run.json                         the settings the predictions were generated with
    DIR/metrics.json                     per dataset and topic, micro, macro; both graders;
                                         under a suite, the official driver's scores too
    DIR/results.md                       the markdown tables and how the numbers were made

Predictions are appended one line per item as soon as the backend has it (``hf``: after each
batch). Rerunning the same command after a crash or SIGKILL generates only the items that are
missing; at the end every ``predictions/`` file is rewritten whole, in benchmark order, so
an interrupted-and-resumed run leaves the same files as an uninterrupted one. Predictions
made with other settings (model weights, template, decoding, benchmarks, cap) are never
mixed in: they are moved to ``DIR/stale-<time>/`` and the run starts over, saying so.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mathscale.config import require
from mathscale.errors import MathscaleError
from mathscale.eval.backends import BACKENDS, GenerationSettings, backend_named, require_installed
from mathscale.eval.benchmarks import Task, limit_per_topic, load_tasks
from mathscale.eval.config import GRADER_MODES, EvalConfig
from mathscale.eval.grader import GradeItem, Verdict, grade_all
from mathscale.eval.metrics import compute_metrics, markdown_table, official_metrics, official_table
from mathscale.eval.predictions import PredictionStore
from mathscale.graph.focus import CONCEPTS_CSV
from mathscale.eval.suite import OFFICIAL_CAP, OFFICIAL_STOP, SuiteSelection, select_suite
from mathscale.io import atomic_write, atomic_write_json, check_output_path
from mathscale.ownership import owned_output
from mathscale.models.hub import check_model
from mathscale.records import Prediction
from mathscale.vllm_engine import resolve_dtype
from mathscale.templates import STOP_STRINGS, TEMPLATE_FILE, check_template, format_prompt

log = logging.getLogger(__name__)


def stop_strings(cfg: EvalConfig) -> list[str]:
    """The official stop strings under a suite (whatever the template), else the template's."""
    return list(OFFICIAL_STOP) if cfg.suite else list(STOP_STRINGS[cfg.template])


def select_tasks(cfg: EvalConfig, tasks: list[Task]) -> tuple[list[Task], SuiteSelection | None]:
    """The items to evaluate: the suite's (capped, overlap handled) or the first ``limit`` per topic."""
    if not cfg.suite:
        if cfg.exclude_overlap:
            raise MathscaleError("exclude_overlap=true needs suite=mwpbench (option suite)")
        return limit_per_topic(tasks, max(cfg.limit, 0)), None
    cap = OFFICIAL_CAP if cfg.limit == 0 else max(cfg.limit, 0)
    selection = select_suite(tasks, cfg.suite, cap, cfg.exclude_overlap)
    return selection.tasks, selection


def with_unique_ids(tasks: list[Task]) -> tuple[list[Task], int]:
    """Predictions are saved and resumed by (data_topic, id): a repeated id gets ``#2``, ``#3``... (in data order)."""
    seen: dict[tuple[str, str], int] = {}
    out, renamed = [], 0
    for task in tasks:
        key = (task.item.data_topic, task.item.id)
        seen[key] = seen.get(key, 0) + 1
        if seen[key] > 1:
            task = dataclasses.replace(task, item=dataclasses.replace(task.item, id=f"{task.item.id}#{seen[key]}"))
            renamed += 1
        out.append(task)
    return out, renamed


def _model_fingerprint(model: str) -> dict[str, Any]:
    """Name, and for a local folder the size and time of its weight and config files."""
    path = Path(model).expanduser()
    if not model or not path.is_dir():
        return {"model": model}
    files = sorted(p for p in path.iterdir() if p.suffix in (".safetensors", ".bin", ".json") and p.is_file())
    return {"model": model, "files": {p.name: [p.stat().st_size, int(p.stat().st_mtime)] for p in files}}


def run_signature(cfg: EvalConfig, stop: list[str]) -> dict[str, Any]:
    """What the completions depend on; a resumed run must match it exactly."""
    return {
        **_model_fingerprint(cfg.model), "backend": cfg.backend, "template": cfg.template,
        "max_new_tokens": cfg.max_new_tokens, "stop": stop, "decoding": "greedy", "dtype": cfg.dtype,
        "benchmarks": cfg.benchmarks, "split": cfg.split, "suite": cfg.suite, "limit": cfg.limit,
        "exclude_overlap": cfg.exclude_overlap,
    }  # fmt: skip


def generate_missing(cfg: EvalConfig, tasks: list[Task], store: PredictionStore,
                     stop: list[str]) -> tuple[int, float, dict]:  # fmt: skip
    """Generate the completions ``store`` lacks, appending each as it comes; (items generated, seconds, engine report)."""
    missing = [t for t in tasks if store.completion(t) is None]
    if not missing:
        return 0, 0.0, {}
    prompts = [format_prompt(cfg.template, t.item.question) for t in missing]
    settings = GenerationSettings(
        model=cfg.model, chat=cfg.template == "chat", max_new_tokens=cfg.max_new_tokens, stop=stop,
        batch_size=cfg.batch_size, dtype=cfg.dtype, tensor_parallel=cfg.tensor_parallel, llm=cfg.llm,
        static_cache=cfg.static_cache, kv_cache_gb=cfg.kv_cache_gb,
        on_result=lambda i, text: store.add(missing[i], text, cfg.grader),
    )  # fmt: skip
    if cfg.model and not backend_named(cfg.backend).local_weights:
        settings.llm.model = cfg.model  # the endpoint's model name
    started = time.perf_counter()
    if cfg.executor == "ray":
        from mathscale.eval.ray_executor import generate_on_ray

        completions = generate_on_ray(prompts, settings, cfg.ray)
    else:
        completions = backend_named(cfg.backend).generate(prompts, settings)
    seconds = time.perf_counter() - started
    for task, completion in zip(missing, completions):  # backends that do not report early
        if store.completion(task) is None:
            store.add(task, completion, cfg.grader)
    if not cfg.model:
        cfg.model = settings.model  # the one the endpoint named, for the report
    return len(missing), seconds, settings.report


def score(cfg: EvalConfig, tasks: list[Task], completions: list[str], selection: SuiteSelection | None) -> tuple[dict, dict]:
    """Both graders over every item: (metrics.json content, the verdicts per grader)."""
    items = [GradeItem(c, t.item.answer, t.options) for c, t in zip(completions, tasks)]
    reports = {mode: grade_all(items, mode, timeout=cfg.grader_timeout_s) for mode in GRADER_MODES}
    pairs = {mode: [(t.item.data_topic, v.correct) for t, v in zip(tasks, r.verdicts)] for mode, r in reports.items()}
    by_grader = {mode: compute_metrics(p) for mode, p in pairs.items()}
    metrics = {
        "model": cfg.model, "backend": cfg.backend, "template": cfg.template, "benchmarks": cfg.benchmarks,
        "grader": cfg.grader, "dtype": cfg.dtype if backend_named(cfg.backend).local_weights else None, **by_grader[cfg.grader].to_json(),
        "graders": {mode: m.to_json() for mode, m in by_grader.items()},
        "grader_timeouts": {mode: r.timeouts for mode, r in reports.items()},
        "decoding": {"greedy": True, "max_new_tokens": cfg.max_new_tokens, "stop": stop_strings(cfg)},
        "items": len(tasks),
    }  # fmt: skip
    if selection is not None:
        metrics["suite"] = selection.to_json()
        metrics["official"] = official_metrics(pairs["mwpbench"])  # the official driver's numbers
    return metrics, {mode: r.verdicts for mode, r in reports.items()}


def concept_report(cfg: EvalConfig, tasks: list[Task], verdicts: list[Verdict]) -> tuple[dict, str, str]:
    """metrics.json's ``concepts``, the results.md section on the weakest concepts and the text of
    ``concepts.csv`` (per concept: items, right answers, accuracy and its Wilson interval)."""
    from mathscale.eval.concepts import concept_rows, concept_scores, map_questions, weakest_markdown
    from mathscale.graph.focus import concepts_csv

    mapped, failures = map_questions(tasks, cfg.concept_extraction)
    scores = concept_scores((m[0], m[1], v.correct) for m, v in zip(mapped, verdicts) if m is not None)
    unmapped = sum(failures.values())
    data = {
        "grader": cfg.grader, "prompt": cfg.concept_extraction.prompt, "mapped": len(tasks) - unmapped,
        "unmapped": dict(failures), **{kind: [s.to_json() for s in rows] for kind, rows in scores.items()},
    }  # fmt: skip
    text = "\n".join(["",
        f"## Weakest concepts ({cfg.grader} grader; at least {cfg.concepts_min_items} items each)", "",
        f"Questions mapped to topics and knowledge points with prompt {cfg.concept_extraction.prompt} (as the seeds): "
        f"{data['mapped']} of {len(tasks)}" + (f"; not mapped: {json.dumps(dict(failures))}" if unmapped else "") + ".", "",
        weakest_markdown(scores, cfg.concepts_min_items, cfg.concepts_top),
        f"Every concept, with a 95 % Wilson interval: {CONCEPTS_CSV} (what `walk.focus` reads).", "",
    ])  # fmt: skip
    return data, text, concepts_csv(concept_rows(scores))


def _cap_text(cfg: EvalConfig, selection: SuiteSelection | None) -> str:
    cap = selection.cap if selection else max(cfg.limit, 0)
    official = " (the official driver's)" if selection and cap == OFFICIAL_CAP else ""
    return f"{cap} items per task{official}" if cap else "none (every item)"


def results_markdown(cfg: EvalConfig, metrics: dict, selection: SuiteSelection | None) -> str:
    from mathscale.eval.metrics import Metrics, Score

    def rebuild(data: dict) -> Metrics:
        m = Metrics()
        for name, s in data["datasets"].items():
            m.datasets[name] = Score(s["correct"], s["size"])
        return m

    by_grader = {mode: rebuild(m) for mode, m in metrics["graders"].items()}
    how = [
        f"# {metrics['model']}",
        "",
        f"- suite: {cfg.suite or 'none (every topic given)'}; benchmarks: {cfg.benchmarks}",
        f"- cap: {_cap_text(cfg, selection)}",
        f"- template: {cfg.template}; backend: {cfg.backend}",
        f"- decoding: greedy, max {cfg.max_new_tokens} new tokens, stop strings {json.dumps(stop_strings(cfg))}"
        + (" (the official ones)" if cfg.suite else " (the template's)"),
        f"- graders: mathscale (ours) and mwpbench (the official check); predictions/ holds the {cfg.grader} verdicts",
        "",
        "Accuracy in %.",
        "",
        markdown_table(by_grader),
    ]  # fmt: skip
    if selection is not None:
        how += ["## MWPBench, as the official driver computes it (official check, official arithmetic)", "",
                "```", selection.report(), "```", "", official_table(metrics["official"])]  # fmt: skip
        if selection.missing:
            how.append("Missing tasks are left out of micro and macro, as in the official driver (which scores what "
                       "its data file holds); MATH and college_math count as 0 in its macro when absent.\n")  # fmt: skip
    return "\n".join(how)


def run_eval(cfg: EvalConfig, tasks: list[Task], selection: SuiteSelection | None = None) -> dict:
    """Generate what is missing, grade with both graders, write DIR; returns metrics.json's content."""
    out = Path(cfg.out)
    stop = stop_strings(cfg)
    store = PredictionStore.open(out, tasks, run_signature(cfg, stop))
    if store.resumed:
        print(f"resuming: {store.done} of {len(tasks)} items already in {out}/predictions")
    try:
        generated, seconds, engine = generate_missing(cfg, tasks, store, stop)
    finally:
        store.close()
    completions = [store.completion(t) or "" for t in tasks]
    metrics, verdicts = score(cfg, tasks, completions, selection)
    metrics.update(generated=generated, generation_seconds=seconds)
    if engine:
        metrics["engine"] = engine  # the backend's dtype, start-up and generation seconds (this call's)
    concepts_text = concepts_table = ""
    if cfg.concepts:
        metrics["concepts"], concepts_text, concepts_table = concept_report(cfg, tasks, verdicts[cfg.grader])
    store.finalise([
        Prediction(t.item.id, t.item.data_topic, t.item.question, t.item.answer, c, v.extracted, v.correct)
        for t, c, v in zip(tasks, completions, verdicts[cfg.grader])
    ])  # fmt: skip
    atomic_write_json(out / "metrics.json", metrics)
    atomic_write(out / "results.md", results_markdown(cfg, metrics, selection) + concepts_text)
    if cfg.concepts:
        atomic_write(out / CONCEPTS_CSV, concepts_table)
    return metrics


def check_ray_eval(cfg: EvalConfig) -> None:
    """``executor: ray`` spreads an endpoint backend's requests (``openai``); the settings, before any work."""
    from mathscale.cluster.session import check_ray_config, worker_llm

    if not backend_named(cfg.backend).ray:
        spread = " or ".join(f"--backend {name}" for name, backend in BACKENDS.items() if backend.ray)
        raise MathscaleError(f"executor=ray runs {spread} (each node calling llm.base_urls, e.g. `vllm serve` "
                             f"on every node); --backend {cfg.backend} runs with executor=local")  # fmt: skip
    check_ray_config(cfg.ray)
    worker_llm(cfg.llm, "eval")


def trained_template(model: str) -> str | None:
    """The template ``mathscale train`` saved with ``model`` (a merged model sits one level down)."""
    for folder in (Path(model), Path(model).parent):
        path = folder / TEMPLATE_FILE
        if path.is_file():
            try:
                return json.loads(path.read_text(encoding="utf-8"))["template"]
            except (ValueError, KeyError, TypeError):
                raise MathscaleError(f"{path}: not a template file written by `mathscale train`") from None
    return None


@dataclass(frozen=True)
class EvalResult:
    metrics_path: Path  # DIR/metrics.json (DIR/results.md beside it)
    micro: float  # accuracy over every item, by the config's grader (0 to 1)
    macro: float  # mean accuracy over the datasets, same grader
    items: int  # items evaluated
    generated: int  # items generated by this call (the others were resumed from DIR/predictions)


def main(cfg: EvalConfig) -> EvalResult:
    """Evaluate ``cfg.model`` on ``cfg.benchmarks`` into ``cfg.out``; the caller's ``cfg`` is left as given."""
    cfg = copy.deepcopy(cfg)  # the template and, on openai, the endpoint's model name are resolved into it
    local = check_model(cfg.model) if backend_named(cfg.backend).local_weights else None  # before any work
    if not cfg.template:
        saved = trained_template(str(local or cfg.model)) if cfg.model else None
        cfg.template = saved or "alpaca"
        print(f"template {cfg.template} ({'the one the model was trained on' if saved else 'default'})")
    check_template(cfg.template)
    require(cfg, {"benchmarks": "--benchmarks", "out": "--out"})
    if Path(cfg.out).is_file():
        raise MathscaleError(f"{cfg.out}: is a file; --out takes a folder")
    check_output_path(Path(cfg.out) / "metrics.json")  # the folder is created when the results are written
    require_installed(cfg.backend)  # what it needs installed, before anything is written
    if local is not None:  # one meaning of dtype for every local backend: auto is the checkpoint's own
        cfg.dtype = resolve_dtype(cfg.dtype, local)
    if cfg.executor == "ray":
        check_ray_eval(cfg)
    if cfg.benchmarks == "mwpbench" and not Path(cfg.benchmarks).exists():
        raise MathscaleError("--benchmarks takes the data (a folder of MWPBench JSONL files or full_test.json); "
                             "for the canonical suite add --suite mwpbench")  # fmt: skip
    tasks, selection = select_tasks(cfg, load_tasks(cfg.benchmarks, 0, cfg.split))
    tasks, renamed = with_unique_ids(tasks)
    if renamed:
        print(f"{renamed} items repeat an id of their data_topic; saved as ID#2, ID#3, ... (in data order)")
    if selection is not None:
        print(selection.report())
    print(f"{len(tasks)} items from {cfg.benchmarks}; backend {cfg.backend}, template {cfg.template}")
    with owned_output(Path(cfg.out), inputs={"MODEL": local or "", "--benchmarks": cfg.benchmarks}):
        metrics = run_eval(cfg, tasks, selection)
    print((Path(cfg.out) / "results.md").read_text(encoding="utf-8"))
    rate = metrics["generated"] / max(metrics["generation_seconds"], 1e-9)
    print(f"generated {metrics['generated']} items in {metrics['generation_seconds']:.1f} s ({rate:.2f} items/s); wrote {cfg.out}/")
    return EvalResult(metrics_path=Path(cfg.out) / "metrics.json", micro=metrics["micro"], macro=metrics["macro"],
                      items=metrics["items"], generated=metrics["generated"])  # fmt: skip
