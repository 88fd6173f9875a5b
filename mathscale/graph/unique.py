"""Identity of compositions: de-duplication, unique rate, novelty and concept coverage.

Two walks give the same composition when they name the same set of topics and the same
set of knowledge points (order does not matter). Rows of walk ids are sorted and hashed
to 64 bits for speed; equal hashes are then checked row by row, so results are exact.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from mathscale.graph.sampler import BATCH, Sampler, _mix


def canonical_rows(topics: np.ndarray, kps: np.ndarray) -> np.ndarray:
    """(n, width) int64 rows: sorted topic ids, then sorted kp ids (-1 padding first)."""
    return np.concatenate([np.sort(topics, axis=1), np.sort(kps, axis=1)], axis=1).astype(np.int64)


def row_hashes(rows: np.ndarray) -> np.ndarray:
    """A 64-bit hash per row (splitmix64 chained over the columns)."""
    h = np.full(len(rows), 0x2545F4914F6CDD1D, np.uint64)
    with np.errstate(over="ignore"):
        for j in range(rows.shape[1]):
            h = _mix(h ^ (rows[:, j].astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)))
    return h


def first_unique(rows: np.ndarray) -> np.ndarray:
    """Positions of the first occurrence of each distinct row, in increasing order."""
    if len(rows) == 0:
        return np.empty(0, np.int64)
    h = row_hashes(rows)
    order = np.argsort(h, kind="stable")
    hs, rs = h[order], rows[order]
    same_hash = hs[1:] == hs[:-1]
    same_row = np.all(rs[1:] == rs[:-1], axis=1)
    if np.any(same_hash & ~same_row):  # a 64-bit collision: fall back to an exact sort
        order = np.lexsort(rows.T[::-1])
        rs = rows[order]
        same_row = np.all(rs[1:] == rs[:-1], axis=1)
        new = np.concatenate([[True], ~same_row])
        # lexsort is stable, so the first of each run is the lowest position
        return np.sort(order[new])
    new = np.concatenate([[True], ~same_hash])
    return np.sort(order[new])


def sample_unique(sampler: Sampler, seed: int, n_unique: int, start: int = 0,
                  max_walks: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """Walks ``start, start+1, …`` until ``n_unique`` distinct compositions are found.

    Returns (indices, topic ids, kp ids) of the first walk of each distinct composition,
    in walk order. Stops early when ``max_walks`` walks were taken (default 50 × n_unique).
    """
    max_walks = max_walks if max_walks is not None else 50 * max(n_unique, 1)
    topics: list[np.ndarray] = []
    kps: list[np.ndarray] = []
    taken = 0
    keep = np.empty(0, np.int64)
    want = n_unique
    while len(keep) < n_unique and taken < max_walks:
        rate = len(keep) / taken if taken else 1.0
        more = int(min(max_walks - taken, max(BATCH, 1.1 * want / max(rate, 0.01))))
        t, k = sampler.walk_arrays(seed, np.arange(start + taken, start + taken + more))
        topics.append(t)
        kps.append(k)
        taken += more
        all_t, all_k = np.concatenate(topics), np.concatenate(kps)
        topics, kps = [all_t], [all_k]
        keep = first_unique(canonical_rows(all_t, all_k))
        want = n_unique - len(keep)
    keep = keep[:n_unique]
    return start + keep, topics[0][keep], kps[0][keep]


def walk_report(sampler: Sampler, topics: np.ndarray, kps: np.ndarray, walks: int,
                seed_sets: Iterable[tuple[Iterable[str], Iterable[str]]] = (),
                all_unique: bool = False) -> dict[str, Any]:  # fmt: skip
    """Unique rate, novelty and coverage of the compositions in (topics, kps).

    ``walks`` is how many walks produced them (more than the rows after ``--unique``);
    ``seed_sets`` are the seed questions' (topics, knowledge points), for novelty;
    ``all_unique``: the rows are known to be distinct (from :func:`sample_unique`).
    """
    rows = canonical_rows(topics, kps)
    unique = np.arange(len(rows)) if all_unique else first_unique(rows)
    report: dict[str, Any] = {
        "walks": walks,
        "compositions": len(rows),
        "unique": len(unique),
        "unique_rate": round(len(unique) / len(rows), 6) if len(rows) else 0.0,
        "topics_per_composition": _histogram((topics >= 0).sum(1)),
        "kps_per_composition": _histogram((kps >= 0).sum(1)),
        "topic_coverage": round(len(np.unique(topics[topics >= 0])) / max(len(sampler.topics), 1), 6),
        "kp_coverage": round(len(np.unique(kps[kps >= 0])) / max(len(sampler.kps), 1), 6),
    }
    seed_rows = _seed_rows(sampler, seed_sets)
    if seed_rows is not None:
        urows = rows[unique]
        known = np.isin(row_hashes(urows), row_hashes(seed_rows))
        report["novelty"] = round(float(1.0 - known.mean()), 6) if len(urows) else 0.0
        report["seed_sets"] = len(seed_rows)
    return report


def _seed_rows(sampler: Sampler, seed_sets: Iterable[tuple[Iterable[str], Iterable[str]]]) -> np.ndarray | None:
    tid = {name: i for i, name in enumerate(sampler.topics)}
    kid = {name: i for i, name in enumerate(sampler.kps)}
    wt, wk = sampler.width
    rows = []
    for topics, kps in seed_sets:
        t = sorted(tid[x] for x in topics if x in tid)
        k = sorted(kid[x] for x in kps if x in kid)
        if len(t) <= wt and len(k) <= wk:  # wider sets can never equal a walk
            rows.append([-1] * (wt - len(t)) + t + [-1] * (wk - len(k)) + k)
    if not rows:
        return None
    return np.array(rows, np.int64)


def _histogram(counts: np.ndarray) -> dict[str, int]:
    values, freq = np.unique(counts, return_counts=True)
    return {str(int(v)): int(f) for v, f in zip(values, freq)}
