from __future__ import annotations

import json

import numpy as np
import pytest

from mathscale.errors import DataError, MathscaleError
from mathscale.graph.build import build_graph, check_graph, load_graph, save_graph
from mathscale.graph.normalize import fold, generic_reason, learn_normalizer
from mathscale.graph.stats import format_stats, graph_stats
from mathscale.records import Concepts


def rec(i, topics, kps) -> Concepts:
    return Concepts(id=f"q{i}", question="?", topics=topics, knowledge_points=kps, model="m", prompt="p")


HAND = [
    rec(1, ["Algebra", "Geometry"], ["Area", "Equations"]),
    rec(2, ["Algebra"], ["Equations", "Factoring", "Area"]),
    rec(3, ["Geometry"], ["Area"]),
]


def test_weights_on_a_hand_built_example():
    g, skipped = build_graph(HAND)
    assert not skipped and g.graph["mathscale"] == "graph/1" and g.graph["records"] == 3
    node = g.nodes
    assert (node["topic:Algebra"]["count"], node["topic:Geometry"]["count"]) == (2, 2)
    assert (node["kp:Area"]["count"], node["kp:Equations"]["count"], node["kp:Factoring"]["count"]) == (3, 2, 1)
    weight = lambda a, b: g.edges[a, b]["weight"]  # noqa: E731
    assert weight("topic:Algebra", "topic:Geometry") == 1
    assert weight("topic:Algebra", "kp:Area") == 2
    assert weight("topic:Algebra", "kp:Equations") == 2
    assert weight("topic:Geometry", "kp:Area") == 2
    assert not g.has_edge("topic:Geometry", "kp:Factoring")
    assert weight("kp:Area", "kp:Equations") == 2
    assert weight("kp:Equations", "kp:Factoring") == 1
    assert g.edges["topic:Algebra", "kp:Area"]["kind"] == "topic-kp"
    assert g.edges["kp:Area", "kp:Equations"]["kind"] == "kp-kp"
    assert g.number_of_edges() == 1 + 5 + 3  # topic-topic, topic-kp, kp-kp
    check_graph(g)


def test_same_name_as_topic_and_kp_are_two_nodes():
    g, _ = build_graph([rec(1, ["Fractions"], ["Fractions", "Ratios"])])
    assert g.nodes["topic:Fractions"]["kind"] == "topic" and g.nodes["kp:Fractions"]["kind"] == "kp"
    assert g.edges["topic:Fractions", "kp:Fractions"]["weight"] == 1


def test_empty_lists_and_duplicate_ids_are_counted_skips():
    g, skipped = build_graph([*HAND, rec(4, [], ["Area"]), rec(5, ["Algebra"], []), rec(1, ["X"], ["Y"])])
    assert skipped == {"no_topics": 1, "no_knowledge_points": 1, "duplicate_id": 1}
    assert g.graph["records"] == 3 and "topic:X" not in g


@pytest.mark.parametrize("a, b", [
    ("Linear Equations", "linear equation"), ("Pythagorean theorem.", "pythagorean  Theorem"),
    ("Probabilities", "probability"), ("order-of-operations", "Order of operations"),
    ("Boxes", "box"), ("Quadratic formulas", "quadratic formula"),
])  # fmt: skip
def test_fold_joins_spellings(a, b):
    assert fold(a) == fold(b)


@pytest.mark.parametrize("a, b", [("Area", "Arc"), ("Sine", "Cosine"), ("Calculus", "Calculu"), ("Basis", "Bases")])
def test_fold_keeps_distinct_names(a, b):
    assert fold(a) != fold(b)


def test_normalizer_keeps_most_frequent_spelling_and_lists_merges():
    records = [rec(1, ["Linear equations"], ["Slope"]), rec(2, ["Linear equations"], ["slopes"]),
               rec(3, ["linear Equation"], ["Slope", "Slope."]), rec(4, ["???"], ["Slope"])]  # fmt: skip
    norm = learn_normalizer(records)
    applied = [norm.apply(r) for r in records]
    assert applied[2].topics == ["Linear equations"] and applied[2].knowledge_points == ["Slope"]
    assert applied[3].topics == []  # folds to nothing: dropped, then skipped by build
    merges = {m.into: m for m in norm.merges}
    assert merges["Linear equations"].names == {"Linear equations": 2, "linear Equation": 1}
    assert set(merges["Slope"].names) == {"Slope", "slopes", "Slope."}
    assert norm.mapping_json()["schema"] == "concept-merges/1"
    g, skipped = build_graph(applied)
    assert skipped == {"no_topics": 1} and g.nodes["kp:Slope"]["count"] == 3


@pytest.mark.parametrize("name, reason", [
    ("Mathematics", "generic"), ("math", "generic"), ("Maths.", "generic"), ("Problem-solving", "generic"),
    ("Word problems", "generic"), ("42", "number"), ("3/4", "number"), ("  ", "number"),
    ("Linear equations", None), ("Arithmetic", None), ("Mathematical induction", None), ("Base 10 numerals", None),
])  # fmt: skip
def test_generic_reason(name, reason):
    assert generic_reason(name) == reason


def test_generic_names_are_dropped_and_counted():
    records = [rec(1, ["Mathematics", "Percentages"], ["Problem solving", "Percent of a quantity"]),
               rec(2, ["Math"], ["12", "Percent change"]), rec(3, ["Percentages"], ["Percent change"])]  # fmt: skip
    norm = learn_normalizer(records)
    applied = [norm.apply(r) for r in records]
    assert (applied[0].topics, applied[0].knowledge_points) == (["Percentages"], ["Percent of a quantity"])
    assert (applied[1].topics, applied[1].knowledge_points) == ([], ["Percent change"])
    assert norm.dropped_counts() == {"topic": {"generic": 2}, "kp": {"generic": 1, "number": 1}}
    dropped = {(d["kind"], d["name"]): (d["reason"], d["count"]) for d in norm.mapping_json()["dropped"]}
    assert dropped == {("topic", "Mathematics"): ("generic", 1), ("topic", "Math"): ("generic", 1),
                       ("kp", "Problem solving"): ("generic", 1), ("kp", "12"): ("number", 1)}  # fmt: skip
    g, skipped = build_graph(applied)
    assert skipped == {"no_topics": 1} and "topic:Mathematics" not in g and g.graph["records"] == 2
    kept = learn_normalizer(records, drop_generic=False)
    assert kept.apply(records[1]).topics == ["Math"] and kept.dropped_counts() == {"topic": {}, "kp": {}}


def test_embedding_merge_with_a_given_embedder():
    vectors = {"Area of a circle": [1, 0, 0], "Circle area": [0.99, 0.05, 0], "Perimeter": [0, 1, 0], "Algebra": [0, 0, 1]}
    records = [rec(1, ["Algebra"], ["Area of a circle", "Perimeter"]), rec(2, ["Algebra"], ["Area of a circle"]),
               rec(3, ["Algebra"], ["Circle area"])]  # fmt: skip
    norm = learn_normalizer(records, embed=lambda names: np.array([vectors[n] for n in names], float), threshold=0.9)
    assert norm.apply(records[2]).knowledge_points == ["Area of a circle"]
    (merge,) = [m for m in norm.merges if m.reason == "embedding"]
    assert merge.into == "Area of a circle" and merge.names == {"Area of a circle": 2, "Circle area": 1}
    assert merge.similarity > 0.9


@pytest.mark.slow
def test_embedding_merge_with_the_bundled_minilm_model():
    from mathscale.graph.normalize import load_embedder

    records = [rec(1, ["Algebra"], ["Solving linear equations", "Area of a circle"]),
               rec(2, ["Algebra"], ["Solving linear equations"]), rec(3, ["Geometry"], ["Linear equation solving"]),
               rec(4, ["Number theory"], ["Prime factorization"])]  # fmt: skip
    norm = learn_normalizer(records, embed=load_embedder(), threshold=0.9)
    (merge,) = [m for m in norm.merges if m.reason == "embedding"]
    assert merge.into == "Solving linear equations" and set(merge.names) == {"Solving linear equations",
                                                                              "Linear equation solving"}  # fmt: skip
    assert norm.apply(records[3]).knowledge_points == ["Prime factorization"]


@pytest.mark.parametrize("suffix", [".json", ".graphml"])
def test_save_load_round_trip(tmp_path, suffix):
    g, _ = build_graph(HAND)
    path = tmp_path / f"g{suffix}"
    save_graph(g, path)
    back = load_graph(path)
    assert sorted(back.nodes(data=True)) == sorted(g.nodes(data=True))
    assert sorted(back.edges(data=True)) == sorted(g.edges(data=True))
    assert back.graph["seed_sets"] == g.graph["seed_sets"]
    assert back.graph["seed_questions"] == g.graph["seed_questions"]


def test_wrong_kind_of_graph_file(tmp_path):
    import networkx as nx

    cases = {
        "notjson.json": "{not json",
        "list.json": "[1, 2]",
        "plain.json": json.dumps(nx.node_link_data(nx.path_graph(3), edges="edges")),
        "other.json": json.dumps({"graph": {"mathscale": "qa/1"}, "nodes": [], "edges": []}),
    }
    for name, text in cases.items():
        (tmp_path / name).write_text(text)
    with pytest.raises(DataError, match=r"notjson\.json:1: not valid JSON"):
        load_graph(tmp_path / "notjson.json")
    with pytest.raises(DataError, match=r"list\.json: not a node-link graph"):
        load_graph(tmp_path / "list.json")
    with pytest.raises(DataError, match=r"plain\.json: not a mathscale concept graph \(it has no graph attribute"):
        load_graph(tmp_path / "plain.json")
    with pytest.raises(DataError, match=r"other\.json: not a mathscale concept graph \(it is marked 'qa/1'"):
        load_graph(tmp_path / "other.json")
    with pytest.raises(MathscaleError, match="no such file"):
        load_graph(tmp_path / "missing.json")


def test_bad_attributes_name_the_node_or_edge(tmp_path):
    g, _ = build_graph(HAND)
    g.edges["kp:Area", "kp:Equations"]["weight"] = 0
    path = tmp_path / "g.json"
    save_graph(g, path)
    with pytest.raises(DataError, match=r"g\.json: edge 'kp:Area'-'kp:Equations': 'weight' must be a positive integer"):
        load_graph(path)
    g, _ = build_graph(HAND)
    g.nodes["kp:Area"]["kind"] = "skill"
    save_graph(g, path)
    with pytest.raises(DataError, match=r"node 'kp:Area': 'kind' must be 'topic' or 'kp'"):
        load_graph(path)


def test_stats():
    g, _ = build_graph(HAND)
    stats = graph_stats(g, top=2)
    assert stats["nodes"] == {"topic": 2, "kp": 3}
    assert stats["edges"] == {"topic-topic": 1, "topic-kp": 5, "kp-kp": 3}
    assert stats["components"] == {"count": 1, "largest": 5}
    assert stats["most_frequent"]["kp"][0] == {"name": "Area", "count": 3}
    text = format_stats(stats)
    assert "2 topics, 3 knowledge points" in text and "Area" in text
    json.dumps(stats)  # JSON-ready for --json
