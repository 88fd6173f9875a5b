from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from mathscale.errors import MathscaleError
from mathscale.graph.build import build_graph
from mathscale.graph.sampler import Sampler, walk_uniforms
from mathscale.graph.unique import canonical_rows, first_unique, sample_unique, walk_report
from mathscale.records import Concepts


def concepts(i: int, topics: list[str], kps: list[str]) -> Concepts:
    return Concepts(id=f"q{i}", question="?", topics=topics, knowledge_points=kps, model="m", prompt="p")


@pytest.fixture(scope="module")
def graph():
    rng = np.random.default_rng(1)
    records = []
    for i in range(300):
        t = sorted({f"T{x}" for x in rng.integers(0, 12, size=rng.integers(1, 3))})
        k = sorted({f"K{x}" for x in rng.integers(0, 40, size=rng.integers(1, 6))})
        records.append(concepts(i, t, k))
    g, skipped = build_graph(records)
    assert not skipped
    return g


def hand_graph(topic_edges, topic_kp_edges, kp_edges=()):
    """A graph with the given weighted edges (names starting with T are topics)."""
    g = nx.Graph(mathscale="graph/1")
    for a, b, w in [*topic_edges, *topic_kp_edges, *kp_edges]:
        for n in (a, b):
            kind = "topic" if n.startswith("T") else "kp"
            g.add_node(f"{kind}:{n}", kind=kind, name=n, count=1)
        ka, kb = ("topic" if a.startswith("T") else "kp"), ("topic" if b.startswith("T") else "kp")
        g.add_edge(f"{ka}:{a}", f"{kb}:{b}", kind=f"{ka}-{kb}", weight=w)
    return g


def test_uniforms_depend_only_on_seed_index_slot():
    a = walk_uniforms(7, np.arange(10), 5)
    b = walk_uniforms(7, np.array([3, 9]), 5)
    assert np.array_equal(a[[3, 9]], b)
    assert not np.array_equal(a, walk_uniforms(8, np.arange(10), 5))
    assert a.min() >= 0 and a.max() < 1
    assert walk_uniforms(-1, np.arange(2), 2).shape == (2, 2)  # any Python int seed works


def test_walk_is_a_pure_function_of_seed_and_index(graph):
    sampler = Sampler.from_graph(graph)
    topics, kps = sampler.walk_arrays(3, np.arange(500))
    again = Sampler.from_graph(graph)  # rebuilt tables, same answers
    for i in (0, 17, 499):
        walk = again.walk(3, i)
        assert walk.index == i and walk.seed == 3
        assert walk.topics == [sampler.topics[t] for t in topics[i] if t >= 0]
        assert walk.knowledge_points == [sampler.kps[k] for k in kps[i] if k >= 0]
    # a batch in another order, or split differently, gives the same rows
    order = np.random.default_rng(0).permutation(500)
    t2, k2 = sampler.walk_arrays(3, order)
    assert np.array_equal(t2, topics[order]) and np.array_equal(k2, kps[order])
    assert not np.array_equal(sampler.walk_arrays(4, np.arange(500))[0], topics)


def test_shard_union_equals_whole_run(graph):
    sampler = Sampler.from_graph(graph)
    whole = list(sampler.compositions(5, range(1000)))
    shards = [list(sampler.compositions(5, range(1000 * i // 3, 1000 * (i + 1) // 3))) for i in range(3)]
    assert [c for shard in shards for c in shard] == whole


def test_no_revisits_and_step_bounds(graph):
    sampler = Sampler.from_graph(graph)
    topics, kps = sampler.walk_arrays(0, np.arange(20_000))
    for rows in (topics, kps):
        for row in rows:
            ids = row[row >= 0]
            assert len(set(ids.tolist())) == len(ids)
            assert np.all(row[: len(ids)] >= 0)  # no gaps: ids first, padding after
    n_t, n_k = (topics >= 0).sum(1), (kps >= 0).sum(1)
    assert n_t.min() >= 1 and n_t.max() <= 3 and n_k.min() >= 1 and n_k.max() <= 5
    assert {2, 3} <= set(n_t.tolist()) and set(n_k.tolist()) == {1, 2, 3, 4, 5}  # 1 topic only at dead ends
    # every step follows an edge of the right kind
    for trow, krow in zip(topics[:2000], kps[:2000]):
        t = [sampler.topics[x] for x in trow if x >= 0]
        k = [sampler.kps[x] for x in krow if x >= 0]
        for a, b in zip(t, t[1:]):
            assert graph.has_edge(f"topic:{a}", f"topic:{b}")
        assert graph.has_edge(f"topic:{t[-1]}", f"kp:{k[0]}")
        for a, b in zip(k, k[1:]):
            assert graph.has_edge(f"kp:{a}", f"kp:{b}")


def test_configured_step_counts(graph):
    sampler = Sampler.from_graph(graph, topic_steps=(0, 0), kp_steps=(2, 2))
    topics, kps = sampler.walk_arrays(0, np.arange(2000))
    assert topics.shape == (2000, 1) and kps.shape == (2000, 3)
    with pytest.raises(MathscaleError, match="kp_steps"):
        Sampler.from_graph(graph, kp_steps=(3, 1))
    with pytest.raises(MathscaleError, match="start"):
        Sampler.from_graph(graph, start="popular")


def chi_square(counts: np.ndarray, probs: np.ndarray) -> float:
    expected = counts.sum() * probs
    return float(((counts - expected) ** 2 / expected).sum())


def test_transition_frequencies_follow_weights():
    g = hand_graph([("TA", "TB", 1), ("TA", "TC", 3), ("TA", "TD", 6)], [("TB", "k", 1), ("TC", "k", 1), ("TD", "k", 1)])
    sampler = Sampler.from_graph(g, topic_steps=(1, 1), kp_steps=(0, 0))
    topics, _ = sampler.walk_arrays(11, np.arange(200_000))
    a = sampler.topics.index("TA")
    second = topics[topics[:, 0] == a, 1]
    counts = np.array([(second == sampler.topics.index(x)).sum() for x in ("TB", "TC", "TD")])
    assert chi_square(counts, np.array([0.1, 0.3, 0.6])) < 16.3  # df 2, p = 0.0003


def test_visited_neighbours_are_excluded_exactly():
    # TA - TC - {TX (1), TY (2)}; from TC the walk must not go back to TA (weight 50)
    g = hand_graph([("TA", "TC", 50), ("TC", "TX", 1), ("TC", "TY", 2)], [(t, "k", 1) for t in ("TA", "TC", "TX", "TY")])
    sampler = Sampler.from_graph(g, topic_steps=(2, 2), kp_steps=(0, 0))
    topics, _ = sampler.walk_arrays(2, np.arange(300_000))
    name = np.array(sampler.topics)
    from_a = topics[(topics[:, 0] == sampler.topics.index("TA"))]
    assert np.all(name[from_a[:, 1]] == "TC")
    third = name[from_a[:, 2]]
    counts = np.array([(third == "TX").sum(), (third == "TY").sum()])
    assert counts.sum() == len(from_a)  # never TA again, never stuck
    assert chi_square(counts, np.array([1 / 3, 2 / 3])) < 13.0  # df 1, p = 0.0003


def test_dead_ends_end_the_phase_early():
    # TA has no other topic; the single kp k has no kp neighbour
    g = hand_graph([], [("TA", "k", 2)])
    sampler = Sampler.from_graph(g)
    walk = sampler.walk(0, 0)
    assert walk.topics == ["TA"] and walk.knowledge_points == ["k"]


def test_start_by_frequency():
    g = hand_graph([("TA", "TB", 1)], [("TA", "k", 1), ("TB", "k", 1)])
    g.nodes["topic:TA"]["count"] = 9
    topics, _ = Sampler.from_graph(g, start="frequency", topic_steps=(0, 0)).walk_arrays(0, np.arange(50_000))
    share = (topics[:, 0] == 0).mean()  # TA sorts first
    assert abs(share - 0.9) < 0.01


def test_unique_compositions_and_report(graph):
    sampler = Sampler.from_graph(graph)
    topics, kps = sampler.walk_arrays(0, np.arange(5000))
    rows = canonical_rows(topics, kps)
    keep = first_unique(rows)
    assert len({tuple(r) for r in rows.tolist()}) == len(keep)
    assert len({tuple(r) for r in rows[keep].tolist()}) == len(keep)  # and they are distinct
    idx, t, k = sample_unique(sampler, 0, n_unique=len(keep) // 2)
    assert len(idx) == len(keep) // 2 and np.array_equal(idx, keep[: len(idx)])
    report = walk_report(sampler, topics, kps, 5000, seed_sets=graph.graph["seed_sets"])
    assert report["unique"] == len(keep) and 0 < report["unique_rate"] <= 1
    assert 0 <= report["novelty"] <= 1 and 0 < report["kp_coverage"] <= 1 and report["topic_coverage"] == 1.0


def test_novelty_counts_seed_sets():
    g = hand_graph([], [("TA", "k", 1)])
    sampler = Sampler.from_graph(g)
    topics, kps = sampler.walk_arrays(0, np.arange(10))
    assert walk_report(sampler, topics, kps, 10, seed_sets=[(["TA"], ["k"])])["novelty"] == 0.0
    assert walk_report(sampler, topics, kps, 10, seed_sets=[(["TA"], ["j"])])["novelty"] == 1.0


def test_walks_do_not_depend_on_record_or_file_order(graph, tmp_path):
    from mathscale.graph.build import load_graph, save_graph

    records = [concepts(i, t, k) for i, (t, k) in enumerate(graph.graph["seed_sets"])]
    shuffled, _ = build_graph(records[::-1])
    path = tmp_path / "g.graphml"
    save_graph(shuffled, path)
    expected = list(Sampler.from_graph(graph).compositions(1, range(300)))
    assert list(Sampler.from_graph(load_graph(path)).compositions(1, range(300))) == expected
