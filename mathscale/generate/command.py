"""``mathscale generate GRAPH -n N --out SAMPLES``: the command around :class:`SlotFiller`.

>>> main(GenerateConfig(graph="graph.json", n=1000, out="samples.jsonl"))  # doctest: +SKIP

Everything that can be wrong with the input is checked before the first request. Beside
SAMPLES it writes ``SAMPLES.drops.jsonl`` (every attempt that did not become a sample,
with its reason), ``SAMPLES.report.json``, ``SAMPLES.usage.json`` and, once the shard is
complete, a Hugging Face dataset in ``SAMPLES.dataset/`` with a dataset card.

:func:`main` returns a :class:`GenerateResult` when the shard holds all of its samples. It
raises :class:`PendingError` (exit status 4) when requests failed in transport after the
client's retries (5xx, 429, timeouts): those slots spent no attempt and the rerun fills
them; it :class:`ShortfallError` (exit status 3) when some slots used up all ``max_attempts``
attempts without an acceptable sample — the samples written are kept, with their report,
and the message gives the count, the drop reasons and what to change — and
:class:`MathscaleError` (exit status 2) for bad input.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mathscale.config import parse_shard, require
from mathscale.errors import DataError, MathscaleError, PendingError, ShortfallError
from mathscale.generate.config import GenerateConfig
from mathscale.generate.drops import DropReason
from mathscale.generate.pipeline import MAX_ATTEMPTS, MAX_SLOTS, Progress
from mathscale.io import JsonlWriter, atomic_write_json, check_output_path, read_jsonl, side_file
from mathscale.ownership import owned_output
from mathscale.records import QAPair


@dataclass(frozen=True)
class GenerateResult:
    samples: Path  # the samples file (cfg.out)
    report: Path  # SAMPLES.report.json
    produced: int  # samples in the file: one for each of the shard's slots
    new: int  # of them, made by this call (0 when an earlier run had finished them all)
    dataset: Path | None  # SAMPLES.dataset/, the Hugging Face copy (None with dataset=false)


def check_config(cfg: GenerateConfig) -> None:
    """The checks of the settings alone (no file read): ``run --dry-run`` makes them too."""
    if not 0 < cfg.n <= MAX_SLOTS:
        raise MathscaleError(f"-n {cfg.n}: the number of samples must be positive (and at most {MAX_SLOTS})")
    if not 1 <= cfg.max_attempts <= MAX_ATTEMPTS:
        raise MathscaleError(f"max_attempts={cfg.max_attempts}: must be between 1 and {MAX_ATTEMPTS}")
    if cfg.examples < 0:
        raise MathscaleError(f"examples={cfg.examples}: cannot be negative")
    if cfg.consensus.enabled and (cfg.consensus.k < 1 or not 0 <= cfg.consensus.threshold <= 1):
        raise MathscaleError(f"consensus: k={cfg.consensus.k}, threshold={cfg.consensus.threshold}: "
                             "k must be >= 1 and threshold between 0 and 1")  # fmt: skip
    if cfg.quality.enabled and not 0 <= cfg.quality.threshold <= 1:
        raise MathscaleError(f"quality.threshold={cfg.quality.threshold}: must be between 0 and 1")
    if cfg.decontamination.ngram < 1:
        raise MathscaleError(f"decontamination.ngram={cfg.decontamination.ngram}: must be at least 1")
    cfg.walk.check()
    if cfg.executor == "ray":
        from mathscale.cluster.session import check_ray_config, worker_llm

        check_ray_config(cfg.ray)
        worker_llm(cfg.llm, "generate")  # the workers need an endpoint: fail now, not on the cluster


def load_progress(out: Path, drops: Path, slots: range, seed: int, max_attempts: int,
                  dedup: Any) -> tuple[Progress, dict[int, int], list[int]]:  # fmt: skip
    """What an earlier run of the same command left, and the slots still to fill.

    Returns the progress (committed samples, slots that used up their attempts, drops by
    reason), the next attempt of each slot that has drops, and the slots to fill. A slot
    is used up when the drops file holds all of its ``max_attempts`` attempts; a slot
    with no sample before the last committed one must be used up, else the file was
    written with other settings.
    """
    progress = Progress()
    committed: set[int] = set()
    last = slots.start - 1
    if out.exists() and out.stat().st_size:
        for where, obj in read_jsonl(out):
            sample = QAPair.from_json(obj, where)
            slot, sample_seed = sample.meta.get("slot"), sample.meta.get("seed")
            if sample_seed != seed:
                raise DataError(f"{where}: this sample was generated with seed {sample_seed}, not {seed}; "
                                "use the same --seed or another --out")  # fmt: skip
            if slot not in slots or slot <= last:
                raise DataError(f"{where}: slot {slot} does not belong to this run's slots "
                                f"{slots.start}..{slots.stop - 1}; use the same -n and --shard or another --out")  # fmt: skip
            last = slot
            committed.add(slot)
            dedup.check(sample.id, sample.question)
            progress.committed += 1
            progress.indices.append(sample.index)
    next_attempt: dict[int, int] = {}
    if drops.exists():
        for _, obj in read_jsonl(drops):
            slot, attempt = obj.get("slot"), obj.get("attempt")
            if isinstance(slot, int) and isinstance(attempt, int) and slot in slots:
                next_attempt[slot] = max(next_attempt.get(slot, 0), attempt + 1)
                progress.dropped[obj.get("reason", DropReason.UNKNOWN)] += 1
    used_up = {s for s, a in next_attempt.items() if a >= max_attempts and s not in committed}
    for slot in range(slots.start, last):
        if slot not in committed and slot not in used_up:
            raise DataError(f"{out}: slot {slot} has no sample, but {drops} holds only {next_attempt.get(slot, 0)} "
                            f"of the {max_attempts} attempts this run allows it: the file was written with another "
                            "max_attempts (or the drops file was changed); use the same settings, or another --out "
                            "(the LLM cache keeps every reply)")  # fmt: skip
    progress.exhausted = sorted(used_up)
    todo = [s for s in slots if s > last and s not in used_up]
    return progress, next_attempt, todo


def main(cfg: GenerateConfig) -> GenerateResult:
    require(cfg, {"graph": "GRAPH", "out": "--out"})
    out = check_output_path(cfg.out)
    inputs = {"GRAPH": cfg.graph, "decontamination.benchmarks": list(cfg.decontamination.benchmarks)}
    with owned_output(out, inputs=inputs, appended=[out, side_file(out, ".drops.jsonl")]):
        return _generate(cfg)


def check_same_inputs(out: Path, cfg: GenerateConfig) -> dict[str, Any]:
    """The graph's content hash, the walk.focus files' and the prompt, recorded in ``SAMPLES.inputs.json`` by the first run;
    a resume or an extension with another graph, focus or prompt is refused. Returns the record."""
    from mathscale.ownership import file_sha256

    record = {"graph": str(cfg.graph), "graph_sha256": file_sha256(cfg.graph), "prompt": cfg.prompt}
    if cfg.walk.focus_files:  # the walks depend on these files' contents
        record["focus_sha256"] = {f: file_sha256(f) for f in cfg.walk.focus_files}
    path = side_file(out, ".inputs.json")
    earlier = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
    if earlier and out.exists() and out.stat().st_size:
        if earlier.get("graph_sha256") != record["graph_sha256"]:
            raise MathscaleError(f"{out}: its samples were made from another graph ({earlier.get('graph')}, sha256 "
                                 f"{str(earlier.get('graph_sha256'))[:12]}), not {cfg.graph} (sha256 "
                                 f"{record['graph_sha256'][:12]}); give another --out, or the same graph")  # fmt: skip
        if earlier.get("focus_sha256") != record.get("focus_sha256"):
            raise MathscaleError(f"{out}: its samples were walked with walk.focus {earlier.get('focus_sha256') or 'none'}, "
                                 f"not {record.get('focus_sha256') or 'none'}; give another --out, or the same focus files")  # fmt: skip
        if earlier.get("prompt") != record["prompt"]:
            raise MathscaleError(f"{out}: its samples were made with prompt {earlier.get('prompt')!r}, not "
                                 f"{cfg.prompt!r}; give another --out, or prompt={earlier.get('prompt')}")  # fmt: skip
    elif out.exists() and out.stat().st_size:  # samples without the record: a run from before it existed
        for where, obj in read_jsonl(out):
            if isinstance(obj, dict) and obj.get("prompt") not in (None, qa_prompt_name(cfg.prompt)):
                raise MathscaleError(f"{where}: this sample was made with prompt {obj.get('prompt')!r}, not "
                                     f"{cfg.prompt!r}; give another --out")  # fmt: skip
            break
    if earlier != record:
        atomic_write_json(path, record)
    return record


def qa_prompt_name(name: str) -> str:
    from mathscale.generate.requests import qa_prompt

    return qa_prompt(name).name


def _generate(cfg: GenerateConfig) -> GenerateResult:
    from mathscale.generate.decontaminate import benchmark_questions, contamination_index
    from mathscale.generate.dedup import Deduplicator
    from mathscale.generate.examples import ExampleIndex
    from mathscale.generate.report import consensus_report, make_report, save_dataset, shortfall_message, summary_line
    from mathscale.generate.requests import qa_prompt, rate_prompt, solve_prompt
    from mathscale.graph.build import load_graph
    from mathscale.graph.focus import focus_line, walk_sampler

    require(cfg, {"graph": "GRAPH", "out": "--out"})
    check_config(cfg)
    shard, count = parse_shard(cfg.shard)
    out = check_output_path(cfg.out)
    drops_path, report_path = side_file(out, ".drops.jsonl"), side_file(out, ".report.json")
    qa_prompt(cfg.prompt)  # a missing or malformed prompt fails now, not in the first request
    if cfg.consensus.enabled:
        solve_prompt(cfg.consensus.prompt)
    if cfg.quality.enabled:
        rate_prompt(cfg.quality.prompt)
    graph = load_graph(cfg.graph)
    base, sampler, focus = walk_sampler(graph, cfg.walk)  # a missing or malformed focus file fails here
    recorded_inputs = check_same_inputs(out, cfg)
    examples = ExampleIndex.from_graph(graph)
    benchmarks = benchmark_questions(cfg.decontamination.benchmarks)
    contamination = contamination_index(benchmarks, cfg.decontamination.ngram) if benchmarks else None
    slots = range(cfg.n * shard // count, cfg.n * (shard + 1) // count)
    dedup = Deduplicator(cfg.dedup)
    progress, next_attempt, todo = load_progress(out, drops_path, slots, cfg.seed, cfg.max_attempts, dedup)
    done_before = progress.committed + len(progress.exhausted)
    committed_before = progress.committed

    started = time.perf_counter()
    usage_path = side_file(out, ".usage.json")
    cluster = None  # with executor=ray: what the cluster did
    if todo:
        repeats = repeated_walks(sampler, cfg, slots.stop) if cfg.unique_compositions else None
        inputs = Inputs(sampler, examples, contamination, dedup, repeats)
        if cfg.executor == "ray":
            from mathscale.generate.ray_executor import fill_slots_ray

            usage, cluster = fill_slots_ray(cfg, inputs, out, slots, todo, next_attempt, progress, done_before)
        else:
            usage = fill_slots(cfg, inputs, out, todo, next_attempt, progress, len(slots), done_before)
    else:  # a rerun of a finished command: no model server, no request
        print(f"all {len(slots)} slots are already done in {out} (filled or out of attempts); nothing to generate")
        usage = usage_total(usage_path)
    seconds = time.perf_counter() - started
    new = progress.committed - committed_before
    rate = round(new / seconds, 2) if seconds else None  # this invocation's
    report = make_report(cfg, slots, progress, usage, seconds, rate, sampler, graph, base, focus)
    report["pending_slots"] = len(slots) - progress.committed - len(progress.exhausted)
    report["inputs"] = recorded_inputs
    if cfg.consensus.enabled:
        report["consensus"] = consensus_report(out, progress)
    if cluster is not None:
        report["cluster"] = cluster  # this invocation's Ray tasks: per node, the samples committed
        print(cluster_line(cluster))
    atomic_write_json(report_path, report)
    dataset = None
    if cfg.dataset and progress.committed and not todo_left(progress, slots):
        save_dataset(out, report)
        dataset = side_file(out, ".dataset")
    print(summary_line(report, out))
    if focus is not None:
        print(focus_line(report["focus"]))
    if report["pending_slots"] and progress.pending:
        raise PendingError(pending_message(progress, report["pending_slots"], len(slots), out))
    if progress.exhausted:
        raise ShortfallError(shortfall_message(report, out, graph))
    return GenerateResult(out, report_path, progress.committed, new, dataset)


def pending_message(progress: Progress, pending: int, total: int, out: Path) -> str:
    """The one line of a run that left slots pending: how many, why, and that a rerun fills them."""
    from collections import Counter

    reasons = Counter(p.reason for p in progress.pending)
    first = progress.pending[0]
    return (f"{out}: {pending} of {total} slots are pending: {len(progress.pending)} requests failed after the "
            f"client's retries ({', '.join(f'{r} {n}' for r, n in reasons.most_common())}; first: {first.detail[:120]}); "
            "no attempt was counted for them. Rerun the same command when the endpoint works: it asks only for "
            "what is pending")  # fmt: skip


def repeated_walks(sampler: Any, cfg: GenerateConfig, slots: int) -> Any:
    """Which walks of slots 0..slots-1 repeat an earlier walk's concept sets (hashes every walk once)."""
    from mathscale.generate.pipeline import walk_index
    from mathscale.generate.repeated_walks import RepeatedWalks

    return RepeatedWalks(sampler, cfg.seed, slots, cfg.max_attempts, walk_index)


@dataclass
class Inputs:
    """What every attempt reads: the walks, the example questions, the filters' indexes."""

    sampler: Any
    examples: Any
    contamination: Any
    dedup: Any
    repeats: Any = None  # RepeatedWalks: skip a walk whose concept sets were already used


def fill_slots(cfg: GenerateConfig, inputs: Inputs, out: Path, todo: list[int], next_attempt: dict[int, int],
               progress: Progress, total: int, done_before: int) -> dict[str, Any]:  # fmt: skip
    """Run the slots through the LLM, streaming samples and drops to disk; returns the LLM usage."""
    from tqdm import tqdm

    from mathscale.generate.pipeline import SlotFiller
    from mathscale.llm.client import open_client
    from mathscale.llm.usage_totals import InvocationLog

    usage_path = side_file(out, ".usage.json")
    with open_client(cfg.llm) as llm, JsonlWriter(out) as samples, JsonlWriter(side_file(out, ".drops.jsonl")) as dropped:
        usage_log = InvocationLog(usage_path, llm.usage.to_json)  # kept current: a killed run's requests count
        llm.on_account = usage_log.tick
        filler = SlotFiller(cfg, inputs.sampler, inputs.examples, llm, inputs.contamination, inputs.dedup,
                            commit=samples.write, drop=lambda d: dropped.write(d.to_json()),
                            repeats=inputs.repeats)  # fmt: skip
        bar = tqdm(total=total, initial=done_before, desc="generate", unit="sample", disable=not cfg.llm.progress)

        async def run() -> None:
            try:
                await filler.fill(todo, next_attempt, progress, on_commit=lambda: bar.update(1))
            finally:
                await llm.aclose()

        try:
            asyncio.run(run())
        finally:
            bar.close()
            usage_log.write()  # this invocation, added to the earlier ones
            print(llm.usage.summary())
    return usage_total(usage_path)


def usage_total(usage_path: Path) -> dict[str, Any]:
    """LLM usage over every invocation that worked on these samples (first run, resumes)."""
    from mathscale.llm.usage_totals import invocations, read_usage, total

    return total(invocations(read_usage(usage_path)))


def cluster_line(cluster: dict[str, Any]) -> str:
    """What the Ray tasks did, in one line: samples per node."""
    nodes = ", ".join(f"{n['address']} ({n['node'][:8]}) {n['samples']} samples from {n['tasks']} tasks" for n in cluster["nodes"])
    return (f"on the cluster: {cluster['tasks']} tasks ({cluster['task_restarts']} started again after a worker died, "
            f"{cluster['tasks_reused']} reused from an interrupted run), {cluster['remote_attempts']} single attempts "
            f"asked again; per node: {nodes or 'none'}")  # fmt: skip


def todo_left(progress: Progress, slots: range) -> bool:
    return progress.committed + len(progress.exhausted) < len(slots)
