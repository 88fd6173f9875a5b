"""Diversity figures of concept compositions: hand-checked values, growth with N, graph stats."""

from __future__ import annotations

import json
import math

import pytest

from mathscale import cli
from mathscale.graph.build import build_graph, save_graph
from mathscale.graph.diversity import diversity, encode, graph_diversity, growth, hub_topics, named_growth
from mathscale.records import Concepts

SETS = [
    (["Algebra", "Geometry"], ["Area", "Roots"]),
    (["Algebra"], ["Roots"]),
    (["Geometry", "Algebra"], ["Area"]),  # the same pair in the other order
    (["Probability", "Counting"], ["Dice", "Roots"]),
]


def test_figures_of_a_hand_built_set():
    topics, kps, tid = encode(SETS)
    got = diversity(topics, kps, hub_ids=[tid["Algebra"]])
    # topic mentions: Algebra 3, Geometry 2, Probability 1, Counting 1 (7 in all)
    entropy = -sum(c / 7 * math.log2(c / 7) for c in (3, 2, 1, 1))
    # kp mentions: Area 2, Roots 3, Dice 1 (6 in all)
    kp_entropy = -sum(c / 6 * math.log2(c / 6) for c in (2, 3, 1))
    assert got == {"n": 4, "topics": 4, "kps": 3, "topic_pairs": 2, "topic_entropy": pytest.approx(entropy, abs=1e-4),
                   "kp_entropy": pytest.approx(kp_entropy, abs=1e-4), "hub_share": 0.75}  # fmt: skip


def test_a_collapsed_set_has_low_entropy_and_all_walks_through_the_hub():
    topics, kps, tid = encode([(["Statistics"], ["Mean"])] * 8)
    got = diversity(topics, kps, [tid["Statistics"]])
    assert (got["topics"], got["topic_pairs"], got["topic_entropy"], got["hub_share"]) == (1, 0, 0.0, 1.0)


def test_growth_at_fractions_of_n():
    rows = named_growth(SETS * 4, hubs=["Probability"])
    assert [r["n"] for r in rows] == [2, 4, 8, 16]
    assert [r["topics"] for r in rows] == [2, 4, 4, 4] and rows[0]["topic_pairs"] == 1
    assert [r["hub_share"] for r in rows] == [0.0, 0.25, 0.25, 0.25]
    assert [r["n"] for r in named_growth(SETS[:2], hubs=[])] == [1, 2]  # small N: fewer, distinct sizes
    empty = growth(*encode([])[:2])
    assert empty == [{"n": 0, "topics": 0, "kps": 0, "topic_pairs": 0, "topic_entropy": 0.0, "kp_entropy": 0.0,
                      "hub_share": 0.0}]  # fmt: skip


def graph():
    records = [Concepts(id=str(i), question="?", topics=t, knowledge_points=k, model="m", prompt="p")
               for i, (t, k) in enumerate(SETS)]  # fmt: skip
    return build_graph(records)[0]


def test_hubs_are_the_topics_with_most_neighbours():
    # Algebra: Geometry + Area + Roots = 3 neighbours; Geometry: Algebra, Area, Roots = 3 (fewer seeds)
    assert hub_topics(graph(), top=2) == ["Algebra", "Geometry"]


def test_graph_diversity_and_stats_json(tmp_path, capsys):
    g = graph()
    div = graph_diversity(g, walks=400)
    assert div["hubs"][0] == "Algebra" and [r["n"] for r in div["walks"]] == [50, 100, 200, 400]
    assert div["seeds"][-1]["topics"] == 4 and div["seeds"][-1]["n"] == 4
    assert div["walks"][-1]["topics"] <= 4 and div["walks"][-1]["hub_share"] > 0
    path = tmp_path / "g.json"
    save_graph(g, path)
    assert cli.main(["graph", "stats", str(path), "--json", "--walks", "400"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["diversity"]["walks"] == div["walks"] and stats["diversity"]["seeds"] == div["seeds"]
    assert cli.main(["graph", "stats", str(path), "--walks", "0"]) == 0
    text = capsys.readouterr().out
    assert "diversity of the seed questions:" in text and "random walks" not in text and "hub topics" in text
    assert cli.main(["graph", "stats", str(path), "--walks", "-1"]) == 2
