"""MathScale's concept composition: a random walk over precomputed transition tables.

A walk starts at a topic (uniformly or by frequency), takes 1–2 steps in the topic
subgraph, one step from its last topic to a knowledge point, then 0–4 steps among
knowledge points; it never revisits a concept, and each step picks a neighbour with
probability proportional to the co-occurrence weight. A walk that reaches a concept whose
neighbours are all visited ends that phase early.

Walk ``i`` under ``seed`` is a pure function of (graph, seed, i): its random numbers are a
counter-based hash (splitmix64) of (seed, i, slot), so walks can be computed in any order,
in batches of any size, on any machine, and shards never overlap.

>>> sampler = Sampler.from_graph(graph)                 # doctest: +SKIP
>>> sampler.walk(seed=0, index=7)                       # doctest: +SKIP
Composition(index=7, topics=['Fractions', 'Ratios'], knowledge_points=[...], seed=0)
>>> topics, kps = sampler.walk_arrays(0, np.arange(100_000))   # the fast path # doctest: +SKIP

Tables are CSR arrays (row pointers, neighbour ids, running sums of integer weights), so
a batch of walks advances together with a few numpy calls per step; excluding visited
neighbours is exact (their weight intervals are cut out of the running sum), not rejection.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mathscale.errors import MathscaleError
from mathscale.records import Composition

_M64 = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
BATCH = 1 << 16  # walks advanced together; bounds the memory of one batch


def _mix(z: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser on a uint64 array (wrapping arithmetic)."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def walk_uniforms(seed: int, indices: np.ndarray, slots: int) -> np.ndarray:
    """Uniforms in [0, 1) of shape (len(indices), slots): a pure function of (seed, index, slot)."""
    key = int(_mix(np.array([(seed * _GOLDEN + 0x632BE59BD9B4E019) & _M64], dtype=np.uint64))[0])
    with np.errstate(over="ignore"):
        h = _mix(np.uint64(key) + np.asarray(indices, dtype=np.int64).astype(np.uint64) * np.uint64(_GOLDEN))
        salts = _mix(np.arange(1, slots + 1, dtype=np.uint64) * np.uint64(0xD1B54A32D192ED03))
        bits = _mix(h[:, None] ^ salts[None, :])
    return (bits >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


@dataclass(frozen=True, eq=False)
class Table:
    """Weighted adjacency in CSR form: row r's edges are ``indptr[r]:indptr[r+1]``."""

    indptr: np.ndarray  # int64, n_rows + 1
    indices: np.ndarray  # int32 neighbour ids, sorted within each row
    cum: np.ndarray  # int64, n_edges + 1: running sum of weights, cum[0] = 0
    keys: np.ndarray  # int64 row * n_cols + col, globally sorted (to find an edge fast)
    n_cols: int

    @classmethod
    def from_edges(cls, src: np.ndarray, dst: np.ndarray, weight: np.ndarray, n_rows: int, n_cols: int) -> Table:
        src, dst = np.asarray(src, np.int64), np.asarray(dst, np.int64)
        weight = np.asarray(weight, np.int64)
        keys = src * n_cols + dst
        order = np.argsort(keys, kind="stable")
        keys, dst, weight = keys[order], dst[order], weight[order]
        indptr = np.zeros(n_rows + 1, np.int64)
        np.cumsum(np.bincount(src, minlength=n_rows), out=indptr[1:])
        cum = np.zeros(len(weight) + 1, np.int64)
        np.cumsum(weight, out=cum[1:])
        return cls(indptr, dst.astype(np.int32), cum, keys, n_cols)

    def reweighted(self, col_weights: np.ndarray) -> Table:
        """The same edges, each weight multiplied by its neighbour's integer ``col_weights`` entry."""
        weight = np.diff(self.cum) * np.asarray(col_weights, np.int64)[self.indices]
        cum = np.zeros(len(weight) + 1, np.int64)
        np.cumsum(weight, out=cum[1:])
        return Table(self.indptr, self.indices, cum, self.keys, self.n_cols)

    def step(self, cur: np.ndarray, excluded: np.ndarray, u: np.ndarray) -> np.ndarray:
        """For each walk, a neighbour of ``cur`` not in its ``excluded`` row, chosen with
        probability ∝ weight using ``u``; -1 where every neighbour is excluded (or none)."""
        if len(self.indices) == 0 or len(cur) == 0:
            return np.full(len(cur), -1, np.int64)
        start, end = self.indptr[cur], self.indptr[cur + 1]
        base = self.cum[start]
        remaining = self.cum[end] - base
        cut_at: list[np.ndarray] = []  # row-local start of each excluded neighbour's interval
        cut_w: list[np.ndarray] = []
        for j in range(excluded.shape[1]):
            other = excluded[:, j].astype(np.int64)
            key = cur * self.n_cols + other
            pos = np.minimum(np.searchsorted(self.keys, key), len(self.keys) - 1)
            hit = (other >= 0) & (self.keys[pos] == key)
            w = np.where(hit, self.cum[pos + 1] - self.cum[pos], 0)
            cut_at.append(np.where(hit, self.cum[pos] - base, np.iinfo(np.int64).max))
            cut_w.append(w)
            remaining = remaining - w
        ok = remaining > 0
        t = np.minimum((u * remaining).astype(np.int64), remaining - 1)
        if cut_at:  # map t from the reduced range onto the full one, skipping cut intervals
            at, w = np.stack(cut_at, 1), np.stack(cut_w, 1)
            order = np.argsort(at, axis=1)
            at, w = np.take_along_axis(at, order, 1), np.take_along_axis(w, order, 1)
            for j in range(at.shape[1]):
                t = t + np.where(at[:, j] <= t, w[:, j], 0)
        edge = np.searchsorted(self.cum, base + np.maximum(t, 0), side="right") - 1
        edge = np.clip(edge, 0, len(self.indices) - 1)
        return np.where(ok, self.indices[edge], -1)


@dataclass(frozen=True, eq=False)
class Sampler:
    """Transition tables of one concept graph and the walk's shape.

    Build with :meth:`from_graph`; ``topics``/``kps`` map the integer ids of
    :meth:`walk_arrays` back to concept names.
    """

    topics: tuple[str, ...]
    kps: tuple[str, ...]
    topic_counts: np.ndarray
    topic_topic: Table
    topic_kp: Table
    kp_kp: Table
    start: str = "uniform"  # "uniform" | "frequency"
    topic_steps: tuple[int, int] = (1, 2)
    kp_steps: tuple[int, int] = (0, 4)
    start_cum: np.ndarray | None = None  # focused walks: running sum of integer start weights per topic

    @classmethod
    def from_graph(cls, graph: Any, start: str = "uniform", topic_steps: Sequence[int] = (1, 2),
                   kp_steps: Sequence[int] = (0, 4)) -> Sampler:  # fmt: skip
        """Tables for a graph from :func:`mathscale.graph.build.build_graph` (or a loaded file)."""
        if start not in ("uniform", "frequency"):
            raise MathscaleError(f"start must be 'uniform' or 'frequency', got {start!r}")
        for name, (lo, hi) in (("topic_steps", topic_steps), ("kp_steps", kp_steps)):
            if not 0 <= lo <= hi:
                raise MathscaleError(f"{name} must be [min, max] with 0 <= min <= max, got {[lo, hi]}")
        kinds = dict(graph.nodes(data="kind"))
        topic_nodes = sorted(n for n, k in kinds.items() if k == "topic")
        kp_nodes = sorted(n for n, k in kinds.items() if k == "kp")
        if not topic_nodes:
            raise MathscaleError("the graph has no topic nodes; nothing to start a walk from")
        tid = {n: i for i, n in enumerate(topic_nodes)}
        kid = {n: i for i, n in enumerate(kp_nodes)}
        edges: dict[str, tuple[list[int], list[int], list[int]]] = {k: ([], [], []) for k in ("tt", "tk", "kk")}
        for a, b, w in graph.edges(data="weight", default=1):
            ka, kb = kinds[a], kinds[b]
            if ka == "kp" and kb == "topic":
                a, b, ka, kb = b, a, kb, ka
            if ka == kb == "topic":
                _add_both(edges["tt"], tid[a], tid[b], w)
            elif ka == kb == "kp":
                _add_both(edges["kk"], kid[a], kid[b], w)
            else:
                s, d, ww = edges["tk"]
                s.append(tid[a]), d.append(kid[b]), ww.append(w)
        nt, nk = len(topic_nodes), len(kp_nodes)
        return cls(
            topics=tuple(graph.nodes[n].get("name", n) for n in topic_nodes),
            kps=tuple(graph.nodes[n].get("name", n) for n in kp_nodes),
            topic_counts=np.array([graph.nodes[n].get("count", 1) for n in topic_nodes], np.int64),
            topic_topic=Table.from_edges(*edges["tt"], nt, nt),
            topic_kp=Table.from_edges(*edges["tk"], nt, nk),
            kp_kp=Table.from_edges(*edges["kk"], nk, nk),
            start=start, topic_steps=tuple(topic_steps), kp_steps=tuple(kp_steps),
        )  # fmt: skip

    def reweighted(self, topic_weights: np.ndarray, kp_weights: np.ndarray) -> Sampler:
        """A sampler whose start and steps favour concepts by integer weights (:mod:`mathscale.graph.focus`):
        a topic's start share and every edge towards a concept are multiplied by its weight."""
        import dataclasses

        topic_weights, kp_weights = np.asarray(topic_weights, np.int64), np.asarray(kp_weights, np.int64)
        base = self.topic_counts if self.start == "frequency" else np.ones(len(self.topics), np.int64)
        return dataclasses.replace(
            self, start_cum=np.cumsum(base * topic_weights), topic_topic=self.topic_topic.reweighted(topic_weights),
            topic_kp=self.topic_kp.reweighted(kp_weights), kp_kp=self.kp_kp.reweighted(kp_weights),
        )  # fmt: skip

    @property
    def width(self) -> tuple[int, int]:
        """Columns of :meth:`walk_arrays`' outputs: most topics, most knowledge points."""
        return 1 + self.topic_steps[1], 1 + self.kp_steps[1]

    def walk(self, seed: int, index: int) -> Composition:
        """Walk ``index`` under ``seed`` (the same as that row of any batch containing it)."""
        return next(self.compositions(seed, [index]))

    def compositions(self, seed: int, indices: Sequence[int] | np.ndarray) -> Iterator[Composition]:
        """Composition records for the given walk indices, in that order."""
        indices = np.asarray(indices, np.int64)
        for lo in range(0, len(indices), BATCH):
            chunk = indices[lo : lo + BATCH]
            topics, kps = self.walk_arrays(seed, chunk)
            yield from self.to_records(seed, chunk, topics, kps)

    def to_records(self, seed: int, indices: np.ndarray, topics: np.ndarray, kps: np.ndarray) -> Iterator[Composition]:
        names_t, names_k = self.topics, self.kps
        for i, trow, krow in zip(indices.tolist(), topics.tolist(), kps.tolist()):
            yield Composition(
                index=i, seed=seed,
                topics=[names_t[t] for t in trow if t >= 0],
                knowledge_points=[names_k[k] for k in krow if k >= 0],
            )  # fmt: skip

    def walk_arrays(self, seed: int, indices: Sequence[int] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The fast path: (topic ids, kp ids) in walk order, shape (n, width), -1 padded."""
        indices = np.asarray(indices, np.int64)
        if len(indices) > BATCH:
            parts = [self.walk_arrays(seed, indices[lo : lo + BATCH]) for lo in range(0, len(indices), BATCH)]
            return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
        (t_lo, t_hi), (k_lo, k_hi) = self.topic_steps, self.kp_steps
        n = len(indices)
        u = walk_uniforms(seed, indices, 4 + t_hi + k_hi)
        topics = np.full((n, 1 + t_hi), -1, np.int32)
        kps = np.full((n, 1 + k_hi), -1, np.int32)
        if self.start_cum is not None:  # focused
            cum = self.start_cum
            cur = np.minimum(np.searchsorted(cum, u[:, 0] * cum[-1], side="right"), len(self.topics) - 1)
        elif self.start == "uniform":
            cur = np.minimum((u[:, 0] * len(self.topics)).astype(np.int64), len(self.topics) - 1)
        else:
            cum = np.cumsum(self.topic_counts)
            cur = np.minimum(np.searchsorted(cum, u[:, 0] * cum[-1], side="right"), len(self.topics) - 1)
        topics[:, 0] = cur
        n_steps = t_lo + (u[:, 1] * (t_hi - t_lo + 1)).astype(np.int64)
        self._phase(self.topic_topic, topics, cur, n_steps, u[:, 4 : 4 + t_hi])
        first = self.topic_kp.step(cur, np.empty((n, 0), np.int64), u[:, 3])
        kps[:, 0] = first
        n_steps = np.where(first >= 0, k_lo + (u[:, 2] * (k_hi - k_lo + 1)).astype(np.int64), 0)
        self._phase(self.kp_kp, kps, np.maximum(first, 0), n_steps, u[:, 4 + t_hi :])
        return topics, kps

    @staticmethod
    def _phase(table: Table, path: np.ndarray, cur: np.ndarray, n_steps: np.ndarray, u: np.ndarray) -> None:
        """Advance every walk up to its ``n_steps`` in ``table``, filling ``path`` and ``cur`` in place."""
        alive = n_steps > 0
        for s in range(path.shape[1] - 1):
            act = np.nonzero(alive & (n_steps > s))[0]
            if not len(act):
                break
            nxt = table.step(cur[act], path[act, :s], u[act, s])
            moved = nxt >= 0
            alive[act[~moved]] = False
            act = act[moved]
            path[act, s + 1] = nxt[moved]
            cur[act] = nxt[moved]


def _add_both(edges: tuple[list[int], list[int], list[int]], a: int, b: int, w: int) -> None:
    src, dst, weight = edges
    src += (a, b)
    dst += (b, a)
    weight += (w, w)
