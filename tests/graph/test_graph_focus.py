"""Focused walks (``walk.focus``, ``walk.boost``): weights from concepts.csv, the floor, purity, identity at boost 1."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from mathscale import cli
from mathscale.errors import MathscaleError
from mathscale.graph.build import build_graph, save_graph
from mathscale.graph.focus import (
    SCALE,
    ConceptRow,
    concepts_csv,
    focus_share,
    focused_sampler,
    items_to_move,
    read_concepts_csv,
    wilson_interval,
)
from mathscale.graph.sampler import Sampler
from mathscale.records import Concepts

# sha256 of `graph sample GRAPH -n 3000 --seed 5` on the graph of `records()`, written by the code
# before focus existed (main at b0144b8): boost=1 and no focus must keep writing these bytes.
UNFOCUSED_SHA256 = {
    "uniform": "26abae914be300aeb09e072b54b29a97685aabffc1cccd83a9c4b5a27559f225",
    "frequency": "ecd0509c94f8022880bba3a0f2a1db7933022124bc14ea14f6d8ba01dca4dbb2",
}


def records() -> list[Concepts]:
    rng = np.random.default_rng(1)
    out = []
    for i in range(300):
        t = sorted({f"T{x}" for x in rng.integers(0, 12, size=rng.integers(1, 3))})
        k = sorted({f"K{x}" for x in rng.integers(0, 40, size=rng.integers(1, 6))})
        out.append(Concepts(id=f"q{i}", question="?", topics=t, knowledge_points=k, model="m", prompt="p"))
    return out


@pytest.fixture(scope="module")
def graph():
    g, _ = build_graph(records())
    return g


@pytest.fixture
def graph_file(graph, tmp_path):
    path = tmp_path / "graph.json"
    save_graph(graph, path)
    return path


def write_focus(path, weak_topics=(), items=40, extra=()):
    """Every topic of the test graph at accuracy 1 with ``items`` items, ``weak_topics`` at 0."""
    rows = [ConceptRow(f"T{t}", "topic", items, 0 if f"T{t}" in weak_topics else items) for t in range(12)]
    rows += [ConceptRow(f"K{k}", "kp", items, items) for k in range(40)]
    path.write_text(concepts_csv([*rows, *extra]))
    return path


def test_wilson_interval_and_how_many_items_move_a_weight():
    assert wilson_interval(0, 0) == (0.0, 1.0)
    lo, hi = wilson_interval(5, 10)
    assert lo == pytest.approx(0.2366, abs=1e-4) and hi == pytest.approx(0.7634, abs=1e-4)
    assert wilson_interval(10, 10)[1] == 1.0 and wilson_interval(0, 10)[0] == 0.0
    assert ConceptRow("a", "topic", 1, 0).weakness < 0.25  # one wrong item barely moves a weight
    assert items_to_move(3.0) == 4 and ConceptRow("a", "topic", 4, 0).weakness >= 0.5


def test_bad_focus_files_are_one_line_errors(tmp_path, graph):
    sampler = Sampler.from_graph(graph)
    with pytest.raises(MathscaleError, match="no such file"):
        focused_sampler(sampler, [str(tmp_path / "none.csv")], 3)
    bad = tmp_path / "bad.csv"
    bad.write_text("name,items\nT1,3\n")
    with pytest.raises(MathscaleError, match=f"{bad}:1: not a concepts.csv"):
        focused_sampler(sampler, [str(bad)], 3)
    bad.write_text("concept,kind,items,correct,accuracy,lower,upper\nT1,topic,3,1,,,\nT2,topic,three,1,,,\n")
    with pytest.raises(MathscaleError, match=f"{bad}:3: expected concept,kind,items,correct"):
        read_concepts_csv(bad)
    bad.write_text("concept,kind,items,correct,accuracy,lower,upper\nT1,subject,3,1,,,\n")
    with pytest.raises(MathscaleError, match=f"{bad}:2: kind 'subject'"):
        read_concepts_csv(bad)
    with pytest.raises(MathscaleError, match="walk.boost=0.5"):
        focused_sampler(sampler, [str(write_focus(tmp_path / "c.csv"))], 0.5)


def test_focus_favours_weak_concepts_keeps_every_one_reachable_and_walks_pure(tmp_path, graph):
    base = Sampler.from_graph(graph)
    path = write_focus(tmp_path / "c.csv", weak_topics={"T3"}, extra=[ConceptRow("T99", "topic", 9, 0)])
    sampler, focus = focused_sampler(base, [str(path)], 3.0)
    assert sampler is not base and focus.missing == {"topic": ["T99"], "kp": []}  # named, not an error
    t3 = base.topics.index("T3")
    assert focus.topic_weights[t3] == round(SCALE * (1 + 2 * (1 - wilson_interval(0, 40)[1])))
    assert (np.delete(focus.topic_weights, t3) == SCALE).all() and (focus.kp_weights == SCALE).all()
    idx = np.arange(20_000)
    bt, bk = base.walk_arrays(2, idx)
    ft, fk = sampler.walk_arrays(2, idx)
    assert (ft[:, 0] == t3).mean() > 2 * (bt[:, 0] == t3).mean()  # the start leans towards T3
    assert focus_share(focus, ft, fk) > 1.5 * focus_share(focus, bt, bk)
    assert set(np.unique(ft[ft >= 0])) == set(np.unique(bt[bt >= 0]))  # the floor: nothing unreachable
    assert set(np.unique(fk[fk >= 0])) == set(np.unique(bk[bk >= 0]))
    for i in (0, 17, 19_999):  # walk i depends on (graph, seed, focus contents, i), not on the batch
        one_t, one_k = sampler.walk_arrays(2, [i])
        assert (one_t[0] == ft[i]).all() and (one_k[0] == fk[i]).all()
    again, _ = focused_sampler(Sampler.from_graph(graph), [str(path)], 3.0)
    assert (again.walk_arrays(2, idx)[1] == fk).all()


def test_boost_one_or_only_strong_concepts_leave_the_sampler_alone(tmp_path, graph):
    base = Sampler.from_graph(graph)
    weak = write_focus(tmp_path / "weak.csv", weak_topics={"T3"})
    assert focused_sampler(base, [str(weak)], 1.0)[0] is base
    assert focused_sampler(base, [str(write_focus(tmp_path / "strong.csv"))], 5.0)[0] is base
    assert focused_sampler(base, [], 3.0) == (base, None)


def test_several_files_take_the_largest_weakness(tmp_path, graph):
    base = Sampler.from_graph(graph)
    a = write_focus(tmp_path / "a.csv", weak_topics={"T1"})
    b = write_focus(tmp_path / "b.csv", weak_topics={"T2"})
    _, focus = focused_sampler(base, [str(a), str(b)], 3.0)
    assert [base.topics[i] for i in np.nonzero(focus.topic_focus)[0]] == ["T1", "T2"]


@pytest.mark.parametrize("start", ["uniform", "frequency"])
def test_sample_without_focus_or_at_boost_one_writes_todays_bytes(start, graph_file, tmp_path, capsys):
    focus = write_focus(tmp_path / "c.csv", weak_topics={"T3"})
    digests = []
    for extra in ([], [f"walk.focus={focus}", "walk.boost=1"]):
        out = tmp_path / f"s{len(digests)}.jsonl"
        assert cli.main(["graph", "sample", str(graph_file), "-n", "3000", "--seed", "5", "--out", str(out),
                         f"walk.start={start}", *extra]) == 0  # fmt: skip
        digests.append(hashlib.sha256(out.read_bytes()).hexdigest())
    assert digests == [UNFOCUSED_SHA256[start]] * 2


def test_sample_with_focus_reports_the_shares_and_missing_concepts(graph_file, tmp_path, capsys):
    focus = write_focus(tmp_path / "c.csv", weak_topics={"T3", "T7"}, extra=[ConceptRow("Nowhere", "kp", 5, 0)])
    out = tmp_path / "s.jsonl"
    assert cli.main(["graph", "sample", str(graph_file), "-n", "5000", "--out", str(out),
                     f"walk.focus=[{focus}]", "walk.boost=3"]) == 0  # fmt: skip
    text = capsys.readouterr().out
    report = json.loads((tmp_path / "s.report.json").read_text())["focus"]
    assert report["boosted"] == {"topic": 2, "kp": 0} and report["missing_names"] == {"topic": [], "kp": ["Nowhere"]}
    assert report["share_with_focus"] > 1.3 * report["share_without_focus"] > 0
    assert "not in the graph: 0 topics, 1 knowledge points (Nowhere)" in text
    assert cli.main(["graph", "sample", str(graph_file), "--out", str(out), "walk.focus=nope.csv", "walk.boost=3"]) == 2
    assert "walk.focus: nope.csv: no such file" in capsys.readouterr().err
    assert cli.main(["graph", "sample", str(graph_file), "--out", str(out), "walk.boost=200"]) == 2
    assert "walk.boost=200" in capsys.readouterr().err


def test_stats_walks_take_the_focus(graph_file, tmp_path, capsys):
    focus = write_focus(tmp_path / "c.csv", weak_topics={"T3"})
    assert cli.main(["graph", "stats", str(graph_file), "--walks", "2000", "--focus", str(focus), "--boost", "3",
                     "--json"]) == 0  # fmt: skip
    stats = json.loads(capsys.readouterr().out)
    shares = stats["diversity"]["focus"]
    assert shares["share_with_focus"] > shares["share_without_focus"] > 0


def test_generate_refuses_to_resume_with_other_focus_files(graph_file, tmp_path):
    """The walks depend on the focus files' contents: SAMPLES.inputs.json records their hashes."""
    import dataclasses

    from mathscale.generate.command import check_same_inputs
    from mathscale.generate.config import GenerateConfig

    focus, out = write_focus(tmp_path / "c.csv", weak_topics={"T3"}), tmp_path / "s.jsonl"
    cfg = GenerateConfig(graph=str(graph_file), out=str(out))
    cfg = dataclasses.replace(cfg, walk=dataclasses.replace(cfg.walk, focus=str(focus), boost=3.0))
    recorded = check_same_inputs(out, cfg)
    assert list(recorded["focus_sha256"]) == [str(focus)]
    out.write_text('{"question": "a sample of the first run"}\n')
    assert check_same_inputs(out, cfg) == recorded  # a resume with the same files
    write_focus(focus, weak_topics={"T7"})  # the model was evaluated again: other weak concepts
    with pytest.raises(MathscaleError, match="walked with walk.focus"):
        check_same_inputs(out, cfg)
    unfocused = dataclasses.replace(cfg, walk=dataclasses.replace(cfg.walk, focus=""))
    with pytest.raises(MathscaleError, match="not none"):
        check_same_inputs(out, unfocused)
