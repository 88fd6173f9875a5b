"""How diverse a set of concept compositions is, and how that grows with its size.

MathScale's claim is that accuracy grows with data because concept coverage grows. These
figures make coverage visible, for any list of compositions (the seeds' concept sets, random
walks over the graph, the compositions generation actually used), each at N/8, N/4, N/2, N:

- ``topics``, ``kps``: distinct topics / knowledge points used;
- ``topic_pairs``: distinct pairs of topics that appear together in one composition;
- ``topic_entropy``, ``kp_entropy``: Shannon entropy (bits) of how often each is used;
  2**entropy is the number of equally used concepts that would be as diverse;
- ``hub_share``: share of compositions through at least one of the graph's hub topics (the
  10 topics with most neighbours): a graph that collapsed onto a few hubs has it near 1.

>>> rows = named_growth([(["Algebra"], ["Roots"]), (["Algebra", "Geometry"], ["Area"])], hubs=["Geometry"])
>>> rows[-1]["topic_pairs"], rows[-1]["hub_share"], rows[0]["n"]
(1, 0.5, 1)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

FRACTIONS = (1 / 8, 1 / 4, 1 / 2, 1)
HUBS = 10
KEYS = ("n", "topics", "kps", "topic_pairs", "topic_entropy", "kp_entropy", "hub_share")


def hub_topics(graph: Any, top: int = HUBS) -> list[str]:
    """Names of the ``top`` topics with the most neighbours (ties: more seeds, then name)."""
    topics = [n for n, kind in graph.nodes(data="kind") if kind == "topic"]
    topics.sort(key=lambda n: (-graph.degree(n), -graph.nodes[n].get("count", 0), n))
    return [graph.nodes[n].get("name", n) for n in topics[:top]]


def encode(sets: Iterable[tuple[Sequence[str], Sequence[str]]]) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    """(topic ids, kp ids, topic name -> id) of named compositions; rows padded with -1."""
    tid: dict[str, int] = {}
    kid: dict[str, int] = {}
    rows_t, rows_k = [], []
    for topics, kps in sets:
        rows_t.append([tid.setdefault(t, len(tid)) for t in dict.fromkeys(topics)])
        rows_k.append([kid.setdefault(k, len(kid)) for k in dict.fromkeys(kps)])
    return _pad(rows_t), _pad(rows_k), tid


def _pad(rows: list[list[int]]) -> np.ndarray:
    out = np.full((len(rows), max((len(r) for r in rows), default=0)), -1, np.int64)
    for i, row in enumerate(rows):
        out[i, : len(row)] = row
    return out


def diversity(topics: np.ndarray, kps: np.ndarray, hub_ids: Sequence[int] | np.ndarray = ()) -> dict[str, Any]:
    """The figures of the module docstring for compositions given as -1 padded id rows."""
    pairs = []
    for i in range(topics.shape[1]):
        for j in range(i + 1, topics.shape[1]):
            a, b = topics[:, i], topics[:, j]
            ok = (a >= 0) & (b >= 0) & (a != b)
            lo, hi = np.minimum(a[ok], b[ok]), np.maximum(a[ok], b[ok])
            pairs.append(lo * (int(topics.max(initial=0)) + 1) + hi)
    hubs = np.isin(topics, np.asarray(hub_ids, np.int64)).any(axis=1) if len(topics) else np.zeros(0, bool)
    return {
        "n": len(topics),
        "topics": int(len(np.unique(topics[topics >= 0]))),
        "kps": int(len(np.unique(kps[kps >= 0]))),
        "topic_pairs": int(len(np.unique(np.concatenate(pairs)))) if pairs else 0,
        "topic_entropy": _entropy(topics),
        "kp_entropy": _entropy(kps),
        "hub_share": round(float(hubs.mean()), 4) if len(hubs) else 0.0,
    }


def _entropy(ids: np.ndarray) -> float:
    _, counts = np.unique(ids[ids >= 0], return_counts=True)
    if not len(counts):
        return 0.0
    p = counts / counts.sum()
    return round(float(-(p * np.log2(p)).sum()), 4)


def growth(topics: np.ndarray, kps: np.ndarray, hub_ids: Sequence[int] | np.ndarray = (),
           fractions: Sequence[float] = FRACTIONS) -> list[dict[str, Any]]:  # fmt: skip
    """:func:`diversity` of the first N/8, N/4, N/2 and N compositions (fewer rows when N is small)."""
    n = len(topics)
    sizes = sorted({max(1, round(f * n)) for f in fractions}) if n else [0]
    return [diversity(topics[:m], kps[:m], hub_ids) for m in sizes]


def named_growth(sets: Iterable[tuple[Sequence[str], Sequence[str]]], hubs: Sequence[str],
                 fractions: Sequence[float] = FRACTIONS) -> list[dict[str, Any]]:  # fmt: skip
    """:func:`growth` of compositions given by name (seed sets, samples)."""
    topics, kps, tid = encode(sets)
    return growth(topics, kps, [tid[h] for h in hubs if h in tid], fractions)


def graph_diversity(graph: Any, walks: int = 10_000, seed: int = 0, focus: Sequence[str] = (),
                    boost: float = 1.0) -> dict[str, Any]:  # fmt: skip
    """Diversity of the graph's seeds and of ``walks`` random walks over it (default walk shape,
    focused by the ``focus`` concepts.csv files and ``boost``, as ``walk.focus``/``walk.boost``)."""
    from mathscale.graph.focus import focus_report, focused_sampler
    from mathscale.graph.sampler import Sampler

    hubs = hub_topics(graph)
    out: dict[str, Any] = {"hubs": hubs, "seeds": named_growth(graph.graph.get("seed_sets") or [], hubs)}
    if walks > 0:
        base = Sampler.from_graph(graph)
        sampler, chosen = focused_sampler(base, list(focus), boost)
        indices = np.arange(walks, dtype=np.int64)
        topics, kps = sampler.walk_arrays(seed, indices)
        out["walks"] = growth(topics, kps, sampler_hub_ids(sampler, hubs))
        if chosen is not None:
            out["focus"] = focus_report(base, sampler, chosen, seed, indices, topics, kps)
    return out


def sampler_hub_ids(sampler: Any, hubs: Sequence[str]) -> list[int]:
    """The hubs as ids of ``sampler.walk_arrays``' topic columns."""
    index = {name: i for i, name in enumerate(sampler.topics)}
    return [index[h] for h in hubs if h in index]


def format_growth(rows: list[dict[str, Any]]) -> list[str]:
    """Text lines, one per size."""
    return [f"  N={r['n']:>7}: {r['topics']} topics, {r['kps']} knowledge points, {r['topic_pairs']} topic pairs; "
            f"entropy {r['topic_entropy']:.2f} / {r['kp_entropy']:.2f} bits; through a top-{HUBS} hub {100 * r['hub_share']:.0f} %"
            for r in rows]  # fmt: skip
