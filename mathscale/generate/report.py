"""What a generate run says about itself: ``SAMPLES.report.json``, the summary line, the
shortfall message, and the Hugging Face copy of the samples with its dataset card.

The summary line, the shortfall message and the card are written from the report (a merge
writes a report of the same keys and reuses the card).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from mathscale.config import config_to_dict, parse_shard
from mathscale.generate.config import FilterConfig, GenerateConfig
from mathscale.generate.drops import DropReason
from mathscale.generate.pipeline import MAX_ATTEMPTS, Progress
from mathscale.io import read_jsonl, side_file
from mathscale.llm.accounting import cost_text

# Fields that say where files lie, left out of a report's "config": the report names its graph,
# shard and shards itself, and the same work reports the same bytes wherever it was written.
PATH_FIELDS = ("graph", "out", "shard", "shards", "refill")


def settings(cfg: GenerateConfig) -> dict[str, Any]:
    """``cfg`` as plain data, without the paths of its inputs and outputs (:data:`PATH_FIELDS`)."""
    return {k: v for k, v in config_to_dict(cfg).items() if k not in PATH_FIELDS}


def make_report(cfg: GenerateConfig, slots: range, progress: Progress, usage: dict[str, Any], seconds: float,
                rate: float | None, sampler: Any, graph: Any, base: Any = None, focus: Any = None) -> dict[str, Any]:  # fmt: skip
    """The report of the shard ``slots`` of ``cfg``: counts, drops by reason, LLM usage, diversity, the config;
    with ``walk.focus`` (``focus``, and ``base``: the unfocused sampler) also the share of the kept samples'
    compositions through the focus concepts, and of the unfocused walks of the same indices."""
    import numpy as np

    from mathscale.graph.diversity import growth, hub_topics, sampler_hub_ids
    from mathscale.graph.focus import focus_report
    from mathscale.graph.unique import walk_report

    novelty: dict[str, Any] = {}
    focused: dict[str, Any] = {}
    hubs = hub_topics(graph)
    diversity: dict[str, Any] = {"hubs": hubs, "compositions": []}
    if progress.indices:
        topics, kps = sampler.walk_arrays(cfg.seed, np.array(progress.indices, np.int64))
        walks = walk_report(sampler, topics, kps, walks=len(progress.indices), seed_sets=graph.graph.get("seed_sets") or [])
        novelty = {k: walks[k] for k in ("unique_rate", "novelty", "topic_coverage", "kp_coverage") if k in walks}
        diversity["compositions"] = growth(topics, kps, sampler_hub_ids(sampler, hubs))
        focused = focus_report(base, sampler, focus, cfg.seed, np.array(progress.indices, np.int64), topics, kps)
    elif focus is not None:
        empty = np.zeros((0, 1), np.int64)
        focused = focus_report(base, sampler, focus, cfg.seed, np.zeros(0, np.int64), empty, empty)
    shard, count = parse_shard(cfg.shard)
    report = {
        "graph": cfg.graph,
        "requested": len(slots),
        "produced": progress.committed,
        "slots": [slots.start, slots.stop],
        "shard": f"{shard}/{count}",
        "exhausted_slots": len(progress.exhausted),
        "dropped": dict(Counter(progress.dropped).most_common()),
        "dropped_total": sum(progress.dropped.values()),
        "walks_skipped_as_repeated_compositions": progress.dropped.get(DropReason.REPEATED_COMPOSITION, 0),  # no request made for them
        "llm": usage,
        "seconds": round(seconds, 2),
        "samples_per_second": rate,
        "compositions": novelty,
        "diversity": diversity,  # of the kept samples' compositions at N/8, N/4, N/2, N (graph/diversity.py)
        "decontaminated_against": list(cfg.decontamination.benchmarks),  # as given: files, folders, dataset ids
        "prompts": [cfg.prompt] + ([cfg.consensus.prompt] if cfg.consensus.enabled else [])
        + ([cfg.quality.prompt] if cfg.quality.enabled else []),
        "config": settings(cfg),
    }
    if focus is not None:
        report["focus"] = focused  # shares: the kept samples' compositions, with focus and without
    return report


def consensus_report(out: Path, progress: Progress) -> dict[str, Any]:
    """The vote over the kept samples (read back from ``out``, so a resumed run counts them all)
    and the questions it dropped: ``dropped_<reason>`` for each of the vote's drop reasons."""
    from mathscale.generate.consensus import vote_summary

    metas = (obj.get("meta") or {} for _, obj in read_jsonl(out)) if out.exists() else iter(())
    drops = (DropReason.WEAK_MAJORITY, DropReason.CONSENSUS_FAILED)  # the vote's own drop reasons
    return {**vote_summary(metas), **{f"dropped_{reason}": progress.dropped.get(reason, 0) for reason in drops}}


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
    fewer = f", or ask for fewer (-n {produced})" if produced else ""  # -n 0 would ask for nothing
    return (f"{out}: {produced} of {requested} samples; {report['exhausted_slots']} slots used all {attempts} "
            f"attempts without an acceptable sample (dropped attempts: {drops}; every one is in "
            f"{side_file(out, '.drops.jsonl')}). The graph ({kinds.get('topic', 0)} topics, {kinds.get('kp', 0)} "
            f"knowledge points) and this teacher stopped yielding new acceptable questions. To get {requested}: "
            f"build the graph from more seed questions, raise max_attempts (now {attempts}, at most {MAX_ATTEMPTS}), "
            f"use a stronger teacher or loosen the filters that drop the most{fewer}. "
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


def duplicates_line(dedup: dict[str, Any]) -> str:
    """What the card says of the duplicate checks, from the report's ``config.dedup``."""
    removed = (["exact"] if dedup["exact"] else []) + ([f"near (estimated Jaccard >= {dedup['near_threshold']})"] if dedup["near"] else [])
    return f"{' and '.join(removed)} duplicates of an earlier sample removed" if removed else "not checked"


def dataset_card(report: dict[str, Any]) -> str:
    from mathscale.generate.filters import describe_filters

    llm = report.get("llm") or {}
    drops = "\n".join(f"| {k} | {v} |" for k, v in report["dropped"].items()) or "| (none) | 0 |"
    filters = "\n".join(f"| {name} | {text} |" for name, text in describe_filters(FilterConfig(**report["config"]["filters"])))
    return f"""# MathScale-style synthetic QA pairs

Generated by `mathscale generate` from the concept graph `{report['graph']}`.

- samples: {report['produced']} of {report['requested']} requested (slots {report['slots'][0]}..{report['slots'][1] - 1}, shard {report['shard']})
- model: {llm.get('model', '?')}; prompts: {', '.join(report['prompts'])}
- tokens, all {llm.get('invocations', 1)} invocations together: {llm.get('prompt_tokens', 0)} prompt, {llm.get('completion_tokens', 0)} completion billed; {llm.get('cached_prompt_tokens', 0)} prompt, {llm.get('cached_completion_tokens', 0)} completion served from the cache; estimated cost: {cost_text(llm.get('cost_usd'))}
- composition novelty: {report['compositions'].get('novelty', 'n/a')}; unique rate {report['compositions'].get('unique_rate', 'n/a')}
- decontaminated against: {', '.join(report['decontaminated_against']) or 'nothing (no benchmarks configured)'}{consensus_line(report)}
- duplicates: {duplicates_line(report['config']['dedup'])}

## Sample filters

Each drops a sample for the reason it is named by (counted below); they run in this order.

| filter | drops a sample when |
|---|---|
{filters}

## Dropped attempts by reason

| reason | attempts |
|---|---|
{drops}

Each sample's `meta` (a JSON string) holds its slot, attempt and seed; with the consensus
vote on, the vote (every answer, the group sizes, the answer kept, its share, whether it
overturned the generated answer); with the quality filter on, the question's score.
"""
