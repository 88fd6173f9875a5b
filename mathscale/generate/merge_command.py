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
    from mathscale.generate.decontaminate import benchmark_questions, contamination_index
    from mathscale.generate.merge import read_shards, select, shard_reports, write_kept
    from mathscale.generate.report import save_dataset
    from mathscale.llm.usage_totals import add_usage

    require(cfg, {"shards": "SHARD", "out": "--out"})
    check_config(cfg)
    out = check_output_path(cfg.out)
    shards = [Path(s) for s in cfg.shards]
    for path in shards:
        if not path.is_file():
            raise MathscaleError(f"{path}: shard file not found")
        if path.resolve() == out.resolve():
            raise MathscaleError(f"--out {out}: is also a shard; write the merge to a new file")
    started = time.perf_counter()
    benchmarks = benchmark_questions(cfg.decontamination.benchmarks)
    contamination = contamination_index(benchmarks, cfg.decontamination.ngram) if benchmarks and cfg.refill else None
    pool = read_shards(shards, cfg.dedup, benchmarks, cfg.decontamination.ngram)
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
    atomic_write_json(side_file(out, ".report.json"), report)
    dataset = None
    if cfg.dataset and len(kept):
        dataset = save_dataset_atomically(out, report, save_dataset)
    removed = ", ".join(f"{k} {v}" for k, v in report["removed_by_merge"].items()) or "none"
    print(f"{len(kept)} samples from {len(shards)} shards -> {out}; removed across shards: {removed}; "
          f"{time.perf_counter() - started:.1f} s")  # fmt: skip
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
