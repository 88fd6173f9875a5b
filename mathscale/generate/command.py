"""``mathscale generate GRAPH -n N --out SAMPLES``: the command around :class:`SlotFiller`.

Everything that can be wrong with the input is checked before the first request. Beside
SAMPLES it writes ``SAMPLES.drops.jsonl`` (every attempt that did not become a sample,
with its reason), ``SAMPLES.report.json``, ``SAMPLES.usage.json`` and, once the shard is
complete, a Hugging Face dataset in ``SAMPLES.dataset/`` with a dataset card.

Exit status: 0 when the shard holds all of its samples; 3 (:class:`ShortfallError`)
when some slots used up all ``max_attempts`` attempts without an acceptable sample —
the samples written are kept, and the message gives the count, the drop reasons and
what to change; 2 for bad input.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mathscale.cli_common import parse_shard
from mathscale.config import config_to_dict, load_config
from mathscale.errors import DataError, MathscaleError, ShortfallError
from mathscale.generate.config import GenerateConfig
from mathscale.generate.pipeline import MAX_ATTEMPTS, MAX_SLOTS, REPEATED, Progress
from mathscale.io import JsonlWriter, atomic_write_json, check_output_path, read_jsonl, read_records, side_file
from mathscale.records import BenchmarkItem, QAPair


def check_config(cfg: GenerateConfig) -> None:
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
    for key in ("topic_steps", "kp_steps"):
        value = getattr(cfg.walk, key)
        if len(value) != 2 or not 0 <= value[0] <= value[1]:
            raise MathscaleError(f"walk.{key}={value}: expected [min, max] with 0 <= min <= max")


def benchmark_files(specs: list[str]) -> list[Path]:
    files: list[Path] = []
    for spec in specs:
        path = Path(spec)
        if path.is_dir():
            found = sorted(path.glob("*.jsonl"))
            if not found:
                raise MathscaleError(f"decontamination.benchmarks: {path} holds no .jsonl files")
            files += found
        elif path.is_file():
            files.append(path)
        else:
            raise MathscaleError(f"decontamination.benchmarks: {path} does not exist")
    return files


def contamination_index(files: list[Path], n: int):
    from mathscale.generate.decontaminate import ContaminationIndex

    index = ContaminationIndex(n)
    for path in files:
        for item in read_records(path, BenchmarkItem):
            index.add(item.id or f"{path.name}:{index.items}", item.question)
    return index


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
                progress.dropped[obj.get("reason", "unknown")] += 1
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


def main(args: argparse.Namespace) -> int:
    from mathscale.generate.dedup import Deduplicator
    from mathscale.generate.examples import ExampleIndex
    from mathscale.graph.build import load_graph
    from mathscale.graph.sampler import Sampler

    cfg = load_config(GenerateConfig, args.config, args.overrides)
    if args.n is not None:
        cfg.n = args.n
    if args.seed is not None:
        cfg.seed = args.seed
    check_config(cfg)
    shard, count = parse_shard(args.shard)
    out = check_output_path(args.out)
    drops_path, report_path = side_file(out, ".drops.jsonl"), side_file(out, ".report.json")
    from mathscale.generate.requests import qa_prompt, rate_prompt, solve_prompt

    qa_prompt(cfg.prompt)  # a missing or malformed prompt fails now, not in the first request
    if cfg.consensus.enabled:
        solve_prompt(cfg.consensus.prompt)
    if cfg.quality.enabled:
        rate_prompt(cfg.quality.prompt)
    graph = load_graph(args.graph)
    sampler = Sampler.from_graph(graph, cfg.walk.start, cfg.walk.topic_steps, cfg.walk.kp_steps)
    examples = ExampleIndex.from_graph(graph)
    files = benchmark_files(cfg.decontamination.benchmarks)
    contamination = contamination_index(files, cfg.decontamination.ngram) if files else None
    slots = range(cfg.n * shard // count, cfg.n * (shard + 1) // count)
    dedup = Deduplicator(cfg.dedup)
    progress, next_attempt, todo = load_progress(out, drops_path, slots, cfg.seed, cfg.max_attempts, dedup)
    done_before = progress.committed + len(progress.exhausted)
    committed_before = progress.committed

    started = time.perf_counter()
    usage_path = side_file(out, ".usage.json")
    if todo:
        repeats = repeated_walks(sampler, cfg, slots.stop) if cfg.unique_compositions else None
        inputs = Inputs(sampler, examples, contamination, dedup, repeats)
        usage = fill_slots(cfg, inputs, out, todo, next_attempt, progress, len(slots), done_before)
    else:  # a rerun of a finished command: no model server, no request
        print(f"all {len(slots)} slots are already done in {out} (filled or out of attempts); nothing to generate")
        usage = usage_total(usage_path)
    seconds = time.perf_counter() - started
    rate = round((progress.committed - committed_before) / seconds, 2) if seconds else None  # this invocation's
    report = make_report(cfg, args, slots, shard, count, progress, usage, seconds, rate, sampler, graph, files)
    if cfg.consensus.enabled:
        report["consensus"] = consensus_report(out, progress)
    atomic_write_json(report_path, report)
    if cfg.dataset and progress.committed and not todo_left(progress, slots):
        save_dataset(out, report)
    print(summary_line(report, out))
    if progress.exhausted:
        raise ShortfallError(shortfall_message(report, out, graph))
    return 0


def repeated_walks(sampler: Any, cfg: GenerateConfig, slots: int) -> Any:
    """Which walks of slots 0..slots-1 repeat an earlier walk's concept sets (hashes every walk once)."""
    from mathscale.generate.repeats import RepeatedWalks

    from mathscale.generate.pipeline import walk_index

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
    from mathscale.llm.usage_totals import append_invocation

    usage_path = side_file(out, ".usage.json")
    with open_client(cfg.llm) as llm, JsonlWriter(out) as samples, JsonlWriter(side_file(out, ".drops.jsonl")) as dropped:
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
            append_invocation(usage_path, llm.usage.to_json())  # this invocation, added to the earlier ones
            print(llm.usage.summary())
    return usage_total(usage_path)


def usage_total(usage_path: Path) -> dict[str, Any]:
    """LLM usage over every invocation that worked on these samples (first run, resumes)."""
    from mathscale.llm.usage_totals import invocations, read_usage, total

    return total(invocations(read_usage(usage_path)))


def todo_left(progress: Progress, slots: range) -> bool:
    return progress.committed + len(progress.exhausted) < len(slots)


def make_report(cfg: GenerateConfig, args: argparse.Namespace, slots: range, shard: int, count: int,
                progress: Progress, usage: dict[str, Any], seconds: float, rate: float | None, sampler: Any,
                graph: Any, benchmark_files: list[Path]) -> dict[str, Any]:  # fmt: skip
    import numpy as np

    from mathscale.graph.diversity import growth, hub_topics, sampler_hub_ids
    from mathscale.graph.unique import walk_report

    novelty: dict[str, Any] = {}
    hubs = hub_topics(graph)
    diversity: dict[str, Any] = {"hubs": hubs, "compositions": []}
    if progress.indices:
        topics, kps = sampler.walk_arrays(cfg.seed, np.array(progress.indices, np.int64))
        walks = walk_report(sampler, topics, kps, walks=len(progress.indices), seed_sets=graph.graph.get("seed_sets") or [])
        novelty = {k: walks[k] for k in ("unique_rate", "novelty", "topic_coverage", "kp_coverage") if k in walks}
        diversity["compositions"] = growth(topics, kps, sampler_hub_ids(sampler, hubs))
    config = config_to_dict(cfg)
    return {
        "graph": str(args.graph),
        "requested": len(slots),
        "produced": progress.committed,
        "slots": [slots.start, slots.stop],
        "shard": f"{shard}/{count}",
        "exhausted_slots": len(progress.exhausted),
        "dropped": dict(Counter(progress.dropped).most_common()),
        "dropped_total": sum(progress.dropped.values()),
        "walks_skipped_as_repeated_compositions": progress.dropped.get(REPEATED, 0),  # no request made for them
        "llm": usage,
        "seconds": round(seconds, 2),
        "samples_per_second": rate,
        "compositions": novelty,
        "diversity": diversity,  # of the kept samples' compositions at N/8, N/4, N/2, N (graph/diversity.py)
        "decontaminated_against": [str(p) for p in benchmark_files],
        "prompts": [cfg.prompt] + ([cfg.consensus.prompt] if cfg.consensus.enabled else [])
        + ([cfg.quality.prompt] if cfg.quality.enabled else []),
        "config": config,
    }


def consensus_report(out: Path, progress: Progress) -> dict[str, Any]:
    """The vote over the kept samples (read back from ``out``, so a resumed run counts them all)
    and the questions it dropped."""
    from mathscale.generate.consensus import vote_summary

    metas = (obj.get("meta") or {} for _, obj in read_jsonl(out)) if out.exists() else iter(())
    return {**vote_summary(metas), "dropped_weak_majority": progress.dropped.get("weak_majority", 0),
            "dropped_no_solution": progress.dropped.get("consensus_failed", 0)}  # fmt: skip


def summary_line(report: dict[str, Any], out: Path) -> str:
    drops = ", ".join(f"{k} {v}" for k, v in report["dropped"].items()) or "none"
    text = f"{report['produced']}/{report['requested']} samples -> {out}; dropped attempts: {drops}"
    if used := (report.get("diversity") or {}).get("compositions"):
        last = used[-1]
        text += (f"; compositions used: {last['topics']} topics, {last['kps']} knowledge points, "
                 f"{last['topic_pairs']} topic pairs, {100 * last['hub_share']:.0f} % through a hub topic")  # fmt: skip
    if "consensus" in report:
        vote = report["consensus"]
        text += (f"; vote: {vote['overturned']} of {vote['voted']} answers overturned, "
                 f"{vote['dropped_weak_majority']} questions without a clear majority dropped")  # fmt: skip
    if report["exhausted_slots"]:
        text += f"; {report['exhausted_slots']} slots ran out of attempts"
    return text


def shortfall_message(report: dict[str, Any], out: Path, graph: Any) -> str:
    """Why a shard holds fewer samples than asked for, and what to change."""
    kinds = Counter(kind for _, kind in graph.nodes(data="kind"))
    produced, requested = report["produced"], report["requested"]
    drops = ", ".join(f"{k} {v}" for k, v in report["dropped"].items()) or "none"
    attempts = report["config"]["max_attempts"]
    return (f"{out}: {produced} of {requested} samples; {report['exhausted_slots']} slots used all {attempts} "
            f"attempts without an acceptable sample (dropped attempts: {drops}; every one is in "
            f"{side_file(out, '.drops.jsonl')}). The graph ({kinds.get('topic', 0)} topics, {kinds.get('kp', 0)} "
            f"knowledge points) and this teacher stopped yielding new acceptable questions. To get {requested}: "
            f"build the graph from more seed questions, raise max_attempts (now {attempts}, at most {MAX_ATTEMPTS}), "
            f"use a stronger teacher or loosen the filters that drop the most, or ask for fewer (-n {produced}). "
            f"The {produced} samples are kept; after changing settings write to another --out "
            "(the LLM cache keeps every reply)")  # fmt: skip


def save_dataset(out: Path, report: dict[str, Any], folder: Path | None = None) -> None:
    """A Hugging Face ``datasets`` copy of the samples, with a dataset card (in ``folder``,
    by default ``SAMPLES.dataset``). Rows stream through an Arrow file, so millions fit."""
    import tempfile

    import datasets

    def rows():  # lines this command wrote (or the merge validated): no second validation
        for _, obj in read_jsonl(out):
            yield {**obj, "meta": json.dumps(obj.get("meta", {}), ensure_ascii=False)}

    folder = folder or side_file(out, ".dataset")
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=f".{out.name}.arrow-") as cache:
        data = datasets.Dataset.from_generator(rows, cache_dir=cache)
        data.save_to_disk(str(folder))
    (folder / "README.md").write_text(dataset_card(report), encoding="utf-8")


def consensus_line(report: dict[str, Any]) -> str:
    vote = report.get("consensus")
    if not vote:
        return ""
    k = report["config"]["consensus"]["k"]
    return (f"\n- answers verified by vote ({k} more solutions per question): {vote['overturned']} of "
            f"{vote['voted']} kept answers overturned; {vote['dropped_weak_majority']} questions dropped for "
            "want of a clear majority")  # fmt: skip


def dataset_card(report: dict[str, Any]) -> str:
    llm = report.get("llm") or {}
    cost = llm.get("cost_usd")
    drops = "\n".join(f"| {k} | {v} |" for k, v in report["dropped"].items()) or "| (none) | 0 |"
    filters = report["config"]["filters"]
    return f"""# MathScale-style synthetic QA pairs

Generated by `mathscale generate` from the concept graph `{report['graph']}`.

- samples: {report['produced']} of {report['requested']} requested (slots {report['slots'][0]}..{report['slots'][1] - 1}, shard {report['shard']})
- model: {llm.get('model', '?')}; prompts: {', '.join(report['prompts'])}
- tokens, all {llm.get('invocations', 1)} invocations together: {llm.get('prompt_tokens', 0)} prompt, {llm.get('completion_tokens', 0)} completion billed; {llm.get('cached_prompt_tokens', 0)} prompt, {llm.get('cached_completion_tokens', 0)} completion served from the cache; estimated cost: {'unknown price (the model is not in llm.prices)' if cost is None else f'${cost:.4f}'}
- composition novelty: {report['compositions'].get('novelty', 'n/a')}; unique rate {report['compositions'].get('unique_rate', 'n/a')}
- decontaminated against: {', '.join(report['decontaminated_against']) or 'nothing (no benchmarks configured)'}{consensus_line(report)}
- filters: choice phrasing {'on' if filters['drop_choice_questions'] else 'off'}; question {filters['min_question_chars']}–{filters['max_question_chars']} chars; solution {filters['min_solution_chars']}–{filters['max_solution_chars']} chars; exact and near duplicates removed

## Dropped attempts by reason

| reason | attempts |
|---|---|
{drops}

Each sample's `meta` (a JSON string) holds its slot, attempt and seed; with the consensus
vote on, the vote (every answer, the group sizes, the answer kept, its share, whether it
overturned the generated answer); with the quality filter on, the question's score.
"""
