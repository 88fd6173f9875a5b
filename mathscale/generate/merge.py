"""One dataset from many generation shards: cross-shard duplicates and contamination removed.

Each shard of ``mathscale generate --shard i/k`` de-duplicates only against itself. The
merge puts every sample back in slot order and checks each against the samples kept
before it, exactly as a one-process run checks at commit time: decontamination first,
then exact, then near duplicates (the same MinHash signatures, bands and threshold as
:class:`mathscale.generate.dedup.Deduplicator`). The lower slot always wins, so the
result depends neither on the order the shards are given in nor on when they were made;
with no duplicate across shards it is, byte for byte, the one-process run's file (lines
are copied, never re-serialised).

Memory stays small at millions of samples: one pass keeps per sample only its slot,
where its line is, an 8-byte text digest and a 64 x 4-byte signature (about 300 bytes);
near-duplicate candidates come from sorting band hashes instead of dictionaries; a
second pass copies the kept lines.
"""

from __future__ import annotations

import json
from array import array
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mathscale.errors import DataError
from mathscale.generate.config import DedupConfig
from mathscale.generate.dedup import Deduplicator, _digest, normalize_text
from mathscale.generate.drops import DropReason
from mathscale.records import QAPair

SIGN_BLOCK = 512  # samples whose MinHash signatures are computed together


@dataclass
class Pool:
    """What the first pass keeps of every sample, in the order read."""

    files: list[Path]
    slots: array = field(default_factory=lambda: array("q"))
    attempts: array = field(default_factory=lambda: array("q"))
    indices: array = field(default_factory=lambda: array("q"))  # walk indices
    ids: list[str] = field(default_factory=list)
    file_of: array = field(default_factory=lambda: array("q"))
    offsets: array = field(default_factory=lambda: array("q"))
    digests: array = field(default_factory=lambda: array("Q"))
    contaminated: dict[int, str] = field(default_factory=dict)  # position -> benchmark item
    signatures: np.ndarray | None = None
    seed: int | None = None


def read_shards(files: list[Path], dedup: DedupConfig, benchmarks: Sequence[tuple[str, str]] = (), ngram: int = 13,
                workers: int | None = None) -> Pool:  # fmt: skip
    """Validate every line of every shard and keep what the merge needs (not the text).

    ``benchmarks``: the (id, question) pairs to decontaminate against
    (:func:`mathscale.generate.decontaminate.benchmark_questions`); each reader indexes them.

    Shards are read in parallel, one process each (up to the cores there are); then the
    parts are joined, checking that all share one seed and that no slot is in two shards.
    """
    import os
    from concurrent.futures import ProcessPoolExecutor

    jobs = [(path, dedup, list(benchmarks), ngram) for path in files]
    workers = min(len(files), workers or os.cpu_count() or 1)
    if workers > 1:
        # a fresh process per shard: a reader's freed memory goes back to the system, not to the next shard
        with ProcessPoolExecutor(workers, max_tasks_per_child=1) as pool_:
            parts = list(pool_.map(_read_shard, jobs))
    else:
        parts = [_read_shard(job) for job in jobs]
    pool = Pool(files)
    owner: dict[int, int] = {}
    for number, (path, part) in enumerate(zip(files, parts)):
        if part["seed"] is not None:
            if pool.seed is None:
                pool.seed = part["seed"]
            elif part["seed"] != pool.seed:
                raise DataError(f"{path}:1: generated with seed {part['seed']}, but {files[0]} with seed {pool.seed}; "
                                "shards of one dataset share one seed")  # fmt: skip
        for line, slot in enumerate(part["slots"], 1):
            if (other := owner.setdefault(slot, number)) != number:
                raise DataError(f"{path}:{line}: slot {slot} is also in {files[other]}; shards must not overlap "
                                "(give each shard once, all from the same -n)")  # fmt: skip
        base = len(pool.slots)
        for key in ("slots", "attempts", "indices", "offsets", "digests"):
            getattr(pool, key).extend(part[key])
        pool.file_of.extend([number] * len(part["slots"]))
        pool.ids.extend(part["ids"])
        pool.contaminated.update({base + i: item for i, item in part["contaminated"].items()})
    pool.signatures = np.concatenate([p["signatures"] for p in parts]) if parts else np.empty((0, dedup.num_perm), np.uint32)
    return pool


def _read_shard(job: tuple[Path, DedupConfig, list[tuple[str, str]], int]) -> dict[str, Any]:
    """One shard's part of :class:`Pool` (runs in a worker process)."""
    path, dedup, benchmarks, ngram = job
    contamination = None
    if benchmarks:
        from mathscale.generate.decontaminate import contamination_index

        contamination = contamination_index(benchmarks, ngram)
    signer = Deduplicator(dedup)
    blocks: list[np.ndarray] = []
    norms: list[str] = []

    def flush() -> None:  # signatures a block at a time: one numpy pass instead of one per sample
        if norms:
            blocks.append(signer.signatures(norms) if dedup.near else np.zeros((len(norms), dedup.num_perm), np.uint32))
            norms.clear()

    part: dict[str, Any] = {k: array("q") for k in ("slots", "attempts", "indices", "offsets")}
    part.update(digests=array("Q"), ids=[], contaminated={}, seed=None)
    previous, offset = -1, 0
    with path.open("rb") as handle:
        for line_no, raw in enumerate(handle, 1):
            where = f"{path}:{line_no}"
            if not raw.endswith(b"\n"):
                raise DataError(f"{where}: the last line is cut off (a shard killed mid-write); "
                                "rerun that shard's generate command to finish it, then merge")  # fmt: skip
            try:
                obj = json.loads(raw)
            except ValueError:
                raise DataError(f"{where}: not valid JSON") from None
            sample = QAPair.from_json(obj, where)
            slot, seed = sample.meta.get("slot"), sample.meta.get("seed")
            if not isinstance(slot, int):
                raise DataError(f"{where}: meta.slot is missing; not a sample written by mathscale generate")
            if part["seed"] is None:
                part["seed"] = seed
            elif seed != part["seed"]:
                raise DataError(f"{where}: generated with seed {seed}, but line 1 with seed {part['seed']}")
            if slot <= previous:
                raise DataError(f"{where}: slot {slot} after slot {previous}; a shard holds each slot once, in order")
            previous = slot
            position = len(part["slots"])
            norm = normalize_text(sample.question)
            norms.append(norm)
            if len(norms) == SIGN_BLOCK:
                flush()
            part["slots"].append(slot)
            part["attempts"].append(int(sample.meta.get("attempt", 0)))
            part["indices"].append(sample.index)
            part["ids"].append(sample.id)
            part["offsets"].append(offset)
            part["digests"].append(int.from_bytes(_digest(norm), "little"))
            if contamination is not None and (item := contamination.match(sample.question)) is not None:
                part["contaminated"][position] = item
            offset += len(raw)
    flush()
    part["signatures"] = np.concatenate(blocks) if blocks else np.empty((0, dedup.num_perm), np.uint32)
    return part


def select(pool: Pool, dedup: DedupConfig) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Positions kept, in slot order, and one drop record per sample removed (lower slot wins)."""
    order = np.argsort(np.asarray(pool.slots, np.int64), kind="stable")
    rank = np.empty(len(order), np.int64)
    rank[order] = np.arange(len(order))
    bands, rows = Deduplicator(dedup).bands, Deduplicator(dedup).rows
    groups = _band_groups(pool.signatures, rank, bands, rows) if dedup.near and len(order) else []
    kept_digest: dict[int, int] = {}
    kept = np.zeros(len(order), bool)
    drops: list[dict[str, Any]] = []
    for position in order.tolist():
        reason, matched = None, ""
        if position in pool.contaminated:
            reason, matched = DropReason.CONTAMINATED, pool.contaminated[position]
        elif dedup.exact and (earlier := kept_digest.get(pool.digests[position])) is not None:
            reason, matched = DropReason.EXACT_DUPLICATE, pool.ids[earlier]
        elif dedup.near and (earlier := _near(pool, groups, rank, kept, position, dedup.near_threshold)) is not None:
            reason, matched = DropReason.NEAR_DUPLICATE, pool.ids[earlier]
        if reason is None:
            kept[position] = True
            kept_digest.setdefault(pool.digests[position], position)
        else:
            drops.append({"slot": pool.slots[position], "attempt": pool.attempts[position],
                          "index": pool.indices[position], "reason": reason, "matched": matched,
                          "stage": "merge", "shard": str(pool.files[pool.file_of[position]])})  # fmt: skip
    return order[kept[order]], drops


def _band_groups(signatures: np.ndarray, rank: np.ndarray, bands: int, rows: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per band: positions sorted by (band value, slot rank), and each position's place in that order."""
    groups = []
    for b in range(bands):
        part = np.ascontiguousarray(signatures[:, b * rows : (b + 1) * rows])
        value = np.frombuffer(part.tobytes(), dtype=f"V{part.shape[1] * 4}")  # exact band bytes
        key = np.unique(value, return_inverse=True)[1].astype(np.int64)
        order = np.lexsort((rank, key))
        place = np.empty(len(order), np.int64)
        place[order] = np.arange(len(order))
        groups.append((order, key[order], place))
    return groups


def _near(pool: Pool, groups: list, rank: np.ndarray, kept: np.ndarray, position: int, threshold: float) -> int | None:
    """The earliest kept sample sharing a band with ``position`` and similar enough, as the
    Deduplicator finds it (candidates by slot order, the first at or above the threshold)."""
    candidates: set[int] = set()
    for order, keys, place in groups:
        at = place[position]
        key = keys[at]
        i = at - 1
        while i >= 0 and keys[i] == key:  # same band value, lower slot
            if kept[order[i]]:
                candidates.add(int(order[i]))
            i -= 1
    signature = pool.signatures[position]
    for other in sorted(candidates, key=lambda p: rank[p]):
        if float(np.mean(pool.signatures[other] == signature)) >= threshold:
            return other
    return None


def kept_lines(pool: Pool, kept: np.ndarray) -> Any:
    """(slot, line bytes) of the kept samples, in slot order, read from the shards."""
    files = [path.open("rb") for path in pool.files]
    try:
        for position in kept.tolist():
            source = files[pool.file_of[position]]
            source.seek(pool.offsets[position])
            yield pool.slots[position], source.readline()
    finally:
        for source in files:
            source.close()


def write_kept(pool: Pool, kept: np.ndarray, handle: Any, extra: dict[int, bytes] | None = None) -> None:
    """Copy the kept lines, byte for byte, in slot order; ``extra``: slot -> line to put in its place."""
    extra = dict(extra or {})
    for slot, line in kept_lines(pool, kept):
        for refill in sorted(s for s in extra if s < slot):
            handle.write(extra.pop(refill))
        handle.write(line)
    for refill in sorted(extra):
        handle.write(extra[refill])


def shard_reports(files: list[Path]) -> list[dict[str, Any]]:
    """Each shard's ``.report.json`` (an empty dict where a shard has none)."""
    from mathscale.io import side_file

    reports = []
    for path in files:
        report = side_file(path, ".report.json")
        reports.append(json.loads(report.read_text(encoding="utf-8")) if report.exists() else {})
    return reports


def merged_drops(reports: list[dict[str, Any]], merge_drops: list[dict[str, Any]]) -> Counter[str]:
    """Dropped attempts by reason: the shards' own and the merge's."""
    total: Counter[str] = Counter()
    for report in reports:
        total.update(report.get("dropped") or {})
    total.update(d["reason"] for d in merge_drops)
    return total
