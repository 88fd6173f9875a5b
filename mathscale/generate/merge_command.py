"""``mathscale generate merge SHARD... --out SAMPLES``: the command around :mod:`mathscale.generate.merge`.

>>> main(MergeConfig(shards=["shard0.jsonl", "shard1.jsonl"], out="samples.jsonl"))  # doctest: +SKIP

Writes SAMPLES (the kept samples in slot order), ``SAMPLES.drops.jsonl`` (the shards' drops
and the merge's, each with its reason), ``SAMPLES.report.json``, ``SAMPLES.usage.json``
(the shards' LLM usage added up) and the Hugging Face dataset ``SAMPLES.dataset/`` with its
card. Every file is written to a temporary name and renamed, and nothing depends on the
clock, so a merge killed at any moment and run again gives the same bytes.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mathscale.config import require
from mathscale.errors import MathscaleError
from mathscale.generate.config import MergeConfig
from mathscale.io import atomic_open, atomic_write_json, check_output_path, read_jsonl, side_file
from mathscale.ownership import owned_output


@dataclass(frozen=True)
class MergeResult:
    samples: Path  # the merged samples file (cfg.out)
    report: Path  # SAMPLES.report.json
    read: int  # samples read from the shards
    produced: int  # samples in the merged file, refills included
    removed: dict[str, int]  # samples the merge removed, by reason (exact_duplicate, near_duplicate, contaminated)
    refilled: tuple[int, ...]  # slots whose removed sample a refill replaced
    dataset: Path | None  # SAMPLES.dataset/, the Hugging Face copy (None with dataset=false or nothing kept)


def main(cfg: MergeConfig) -> MergeResult:
    from mathscale.generate.command import check_config

    require(cfg, {"shards": "SHARD", "out": "--out"})
    check_config(cfg)
    out = check_output_path(cfg.out)
    shards = [Path(s) for s in cfg.shards]
    for path in shards:
        if not path.is_file():
            raise MathscaleError(f"{path}: shard file not found")
    with owned_output(out, inputs={"SHARD": shards, "--refill": cfg.refill,
                                   "decontamination.benchmarks": list(cfg.decontamination.benchmarks)}):  # fmt: skip
        return _merge(cfg, out, shards)


def check_shards(shards: list[Path], reports: list[dict[str, Any]], allow_partial: bool) -> dict[str, Any]:
    """Every shard i/k of one run (same k, -n, seed, graph and prompt) must be given, once.

    Returns what the merge report records: the shards found, the missing ones and whether
    the merge is partial (``allow_partial`` lets missing shards through; mixed runs never).
    """
    runs, present = {}, {}
    for path, report in zip(shards, reports, strict=True):
        if not report:
            if allow_partial:
                continue
            raise MathscaleError(f"{path}: no {side_file(path, '.report.json').name} beside it, so the shard is not "
                                 "finished; rerun its generate command, or --allow-partial to merge it as it is")  # fmt: skip
        shard = str(report.get("shard", "0/1"))
        config, inputs = report.get("config") or {}, report.get("inputs") or {}
        run = {"k": shard.split("/")[-1], "-n": config.get("n"), "seed": config.get("seed"),
               "graph sha256": inputs.get("graph_sha256"), "prompt": inputs.get("prompt", config.get("prompt"))}  # fmt: skip
        runs[path] = run
        if shard in present:
            raise MathscaleError(f"{path}: is shard {shard}, and so is {present[shard]}; give each shard once")
        present[shard] = path
    first = next(iter(runs.items()), None)
    for path, run in runs.items():
        if first and run != first[1]:
            diff = ", ".join(f"{k} {first[1][k]} vs {v}" for k, v in run.items() if first[1][k] != v)
            raise MathscaleError(f"{path}: is not a shard of the same run as {first[0]} ({diff}); "
                                 "merge the shards of one run")  # fmt: skip
    k = int(first[1]["k"]) if first else 0
    missing = [f"{i}/{k}" for i in range(k) if f"{i}/{k}" not in present]
    if missing and not allow_partial:
        raise MathscaleError(f"shard {', '.join(missing)} of this run (-n {first[1]['-n']}) not given; "  # type: ignore[index]
                             "give every shard, or --allow-partial to merge those present")  # fmt: skip
    return {"shards_of_run": k, "missing_shards": missing, "partial": bool(missing) or len(runs) < len(shards)}


def _merge(cfg: MergeConfig, out: Path, shards: list[Path]) -> MergeResult:
    from mathscale.generate.decontaminate import benchmark_questions, contamination_index
    from mathscale.generate.merge import read_shards, select, shard_reports, write_kept
    from mathscale.generate.report import save_dataset
    from mathscale.llm.usage_totals import add_usage

    started = time.perf_counter()
    benchmarks = benchmark_questions(cfg.decontamination.benchmarks)
    contamination = contamination_index(benchmarks, cfg.decontamination.ngram) if benchmarks and cfg.refill else None
    pool = read_shards(shards, cfg.dedup, benchmarks, cfg.decontamination.ngram)
    completeness = check_shards(shards, shard_reports(shards), cfg.allow_partial)
    kept, drops = select(pool, cfg.dedup)
    refills: dict[int, bytes] = {}
    refill_usage: list[dict[str, Any]] = []
    if cfg.refill and drops:  # the slots the merge emptied go on with their next walks
        from mathscale.generate.merge import kept_lines
        from mathscale.generate.refill import refill_slots

        questions = ((f"slot{slot}", json.loads(line)["question"]) for slot, line in kept_lines(pool, kept))
        refills, refill_drops, usage = refill_slots(cfg, Path(cfg.refill), drops, questions, contamination)
        drops += refill_drops
        refill_usage.append({**usage, "source": "merge refill"})
    with atomic_open(out, "wb") as handle:
        write_kept(pool, kept, handle, refills)
    reports = shard_reports(shards)
    with atomic_open(side_file(out, ".drops.jsonl")) as handle:
        for path in shards:
            if (shard_drops := side_file(path, ".drops.jsonl")).exists():
                handle.writelines(json.dumps(obj, ensure_ascii=False) + "\n" for _, obj in read_jsonl(shard_drops))
        handle.writelines(json.dumps(d, ensure_ascii=False) + "\n" for d in drops)
    usage = add_usage([side_file(p, ".usage.json") for p in shards], extra=refill_usage)
    atomic_write_json(side_file(out, ".usage.json"), usage)
    report = merge_report(cfg, shards, reports, pool, kept, drops, usage)
    report["produced"] += len(refills)
    report["refilled_slots"] = sorted(refills)
    report.update(completeness)
    atomic_write_json(side_file(out, ".report.json"), report)
    dataset = None
    if cfg.dataset and len(kept):
        dataset = save_dataset_atomically(out, report, save_dataset)
    removed = ", ".join(f"{k} {v}" for k, v in report["removed_by_merge"].items()) or "none"
    print(f"{len(kept)} samples from {len(shards)} shards -> {out}; removed across shards: {removed}; "
          f"{time.perf_counter() - started:.1f} s")  # fmt: skip
    if completeness["missing_shards"]:
        print(f"partial merge (--allow-partial): shard {', '.join(completeness['missing_shards'])} missing, "
              f"recorded in {side_file(out, '.report.json')}")  # fmt: skip
    return MergeResult(out, side_file(out, ".report.json"), report["read"], report["produced"],
                       report["removed_by_merge"], tuple(sorted(refills)), dataset)  # fmt: skip


def merge_report(cfg: MergeConfig, shards: list[Path], reports: list[dict[str, Any]], pool: Any, kept: Any,
                 drops: list[dict[str, Any]], usage: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
    """The merged dataset's report: the keys of a generate report (for the card) plus the merge's counts."""
    from collections import Counter

    from mathscale.generate.merge import merged_drops
    from mathscale.generate.report import settings

    spans = [r.get("slots") for r in reports if r.get("slots")]
    slots = [min(s[0] for s in spans), max(s[1] for s in spans)] if spans else [min(pool.slots, default=0), max(pool.slots, default=-1) + 1]
    removed = Counter(d["reason"] for d in drops if d.get("stage") == "merge")
    return {
        "graph": next((r["graph"] for r in reports if r.get("graph")), ""),
        "shards": [str(p) for p in shards],
        "requested": sum(r.get("requested", 0) for r in reports) or slots[1] - slots[0],
        "produced": int(len(kept)),
        "slots": slots,
        "shard": f"merged from {len(shards)}",
        "read": len(pool.slots),
        "removed_by_merge": dict(removed.most_common()),
        "exhausted_slots": sum(r.get("exhausted_slots", 0) for r in reports),
        "dropped": dict(merged_drops(reports, drops).most_common()),
        "dropped_total": sum(merged_drops(reports, drops).values()),
        "llm": usage,
        "compositions": {},
        "decontaminated_against": list(cfg.decontamination.benchmarks),
        "prompts": next((r["prompts"] for r in reports if r.get("prompts")), [cfg.prompt]),
        "config": settings(cfg),
    }


def save_dataset_atomically(out: Path, report: dict[str, Any], save_dataset: Any) -> Path:
    """The Hugging Face copy, built beside and swapped in, so a kill never leaves half a folder; returns it."""
    folder = side_file(out, ".dataset")
    staging = folder.with_name(folder.name + ".partial")
    if staging.exists():
        shutil.rmtree(staging)  # our own leftover from a killed merge
    save_dataset(out, report, folder=staging)
    if folder.exists():
        shutil.rmtree(folder)
    staging.rename(folder)
    return folder
