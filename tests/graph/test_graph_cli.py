"""``mathscale graph ...`` end to end on tiny data (an OpenAI-compatible fake for extraction)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from mathscale import cli
from mathscale.graph.config import BuildConfig, ExtractConfig, GraphPlotConfig, SampleConfig, StatsConfig, WalkConfig
from mathscale.records import Composition

COMMANDS = ["graph extract", "graph build", "graph stats", "graph plot", "graph sample"]


def write_jsonl(path: Path, rows) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


CONCEPTS = [
    {"schema": "concepts/1", "id": "q1", "question": "?", "topics": ["Algebra", "Geometry"],
     "knowledge_points": ["Area", "Linear equations"], "model": "m", "prompt": "p"},
    {"schema": "concepts/1", "id": "q2", "question": "?", "topics": ["algebra"],
     "knowledge_points": ["Linear equation", "Factoring", "Area"], "model": "m", "prompt": "p"},
    {"schema": "concepts/1", "id": "q3", "question": "?", "topics": ["Geometry", "Trigonometry"],
     "knowledge_points": ["Area", "Sine rule"], "model": "m", "prompt": "p"},
    {"schema": "concepts/1", "id": "q4", "question": "?", "topics": ["Trigonometry"],
     "knowledge_points": ["Sine rule", "Cosine rule", "Factoring"], "model": "m", "prompt": "p"},
    {"schema": "concepts/1", "id": "q5", "question": "?", "topics": ["Algebra"], "knowledge_points": [],
     "model": "m", "prompt": "p"},
]  # fmt: skip


@pytest.mark.parametrize("command", COMMANDS)
def test_help(command, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main([*command.split(), "--help"])
    assert info.value.code == 0 and capsys.readouterr().out.startswith(f"usage: mathscale {command}")


def test_help_shows_the_dataclass_defaults(capsys):
    for command, shown in [("graph stats", ["(default: 10)", "(default: 10000)"]), ("graph plot", ["(default: 40)"]),
                           ("graph sample", ["(default: 1000)", "(default: 0)", "walk.start"]),
                           ("graph extract", ["(default: 0)"])]:  # fmt: skip
        with pytest.raises(SystemExit):
            cli.main([*command.split(), "--help"])
        out = " ".join(capsys.readouterr().out.split())
        assert all(text in out for text in shown), (command, shown, out)


def test_extract_end_to_end_resumes_and_lists_failures(tmp_path, capsys):
    from tests.support.fake_server import FakeServer

    def responder(request):
        text = request["messages"][-1]["content"]
        if "hopeless" in text or "could not be used" in text:
            return "no idea"
        if "3+3?" in text:
            return json.dumps({"topics": ["Mathematics", "Arithmetic"], "knowledge_points": ["Addition", "6"]})
        return json.dumps({"topics": ["Arithmetic"], "knowledge_points": ["Addition"]})

    seeds = write_jsonl(tmp_path / "seeds.jsonl", [
        {"id": "a", "question": "1+1?"}, {"id": "b"}, {"id": "a", "question": "dup"},
        {"data_source": "gsm8k", "question_number": 3, "question": "2+2?", "answer": 4},
        {"id": "h", "question": "hopeless"}, {"id": "z", "question": "3+3?"},
    ])  # fmt: skip
    out = tmp_path / "concepts.jsonl"
    with FakeServer(responder=responder) as server:
        args = ["graph", "extract", str(seeds), "--out", str(out), f"llm.base_urls=[{server.base_url}]",
                f"llm.cache_path={tmp_path}/c.sqlite", "llm.progress=false", "llm.max_retries=0"]  # fmt: skip
        assert cli.main(args) == 0
        first_calls = sum(server.counts.values())
        records = [json.loads(line) for line in out.read_text().splitlines()]
        assert sorted(r["id"] for r in records) == ["a", "gsm8k:3", "z"]
        assert all(r["schema"] == "concepts/1" and r["prompt"] == "extract_concepts.v2" for r in records)
        failures = [json.loads(line) for line in (tmp_path / "concepts.failures.jsonl").read_text().splitlines()]
        assert sorted((f["id"], f["reason"]) for f in failures) == [("a", "duplicate_id"), ("b", "bad_seed"), ("h", "parse")]
        assert any(f.get("where") == f"{seeds}:2" for f in failures)
        report = json.loads((tmp_path / "concepts.report.json").read_text())
        assert report["extracted"] == 3 and report["failed"] == 3 and report["usage"]["requests"] == 4
        assert report["generic_names"] == {"topic": {"generic": 1}, "kp": {"number": 1}}
        printed = capsys.readouterr().out
        assert "3 concept records written" in printed and "graph build will drop: 1 topics, 1 knowledge points" in printed
        # a rerun does only what is missing: the one failed seed (answered from nothing: it was not cached)
        assert cli.main(args) == 0
        report = json.loads((tmp_path / "concepts.report.json").read_text())
        assert report["already_done"] == 3 and report["extracted"] == 0
        assert report["usage"]["requests"] == 5 and report["usage"]["invocations"] == 2  # usage adds up over reruns
        assert sum(server.counts.values()) > first_calls
        assert len(out.read_text().splitlines()) == 3
    old = write_jsonl(tmp_path / "old.jsonl", [{"id": "x", "prompt": "extract_concepts.v0"}])
    args[args.index(str(out))] = str(old)
    assert cli.main(args) == 2  # no mixing of prompt versions in one file
    assert f"{old}:1: this file holds records made with prompt 'extract_concepts.v0'" in capsys.readouterr().err


def test_extract_limit_and_bad_inputs(tmp_path, capsys):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    assert cli.main(["graph", "extract", str(empty), "--out", str(tmp_path / "c.jsonl")]) == 2
    assert "empty.jsonl: the file holds no records" in capsys.readouterr().err
    seeds = write_jsonl(tmp_path / "s.jsonl", [{"id": "a", "question": "1+1?"}])
    (tmp_path / "blocker").write_text("")
    assert cli.main(["graph", "extract", str(seeds), "--out", str(tmp_path / "blocker" / "c.jsonl")]) == 2
    assert "blocker is a file, so folder" in capsys.readouterr().err
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "question": "1+1?"}\n{oops\n')
    assert cli.main(["graph", "extract", str(bad), "--out", str(tmp_path / "c.jsonl")]) == 2
    assert f"{bad}:2: not valid JSON" in capsys.readouterr().err
    assert cli.main(["graph", "extract", str(seeds), "--out", str(tmp_path / "c.jsonl"), "prompt=nope.v1"]) == 2
    assert "no file mathscale/prompts/nope.v1.txt" in capsys.readouterr().err


@pytest.fixture
def graph_file(tmp_path):
    concepts = write_jsonl(tmp_path / "concepts.jsonl", CONCEPTS)
    out = tmp_path / "graph.json"
    assert cli.main(["graph", "build", str(concepts), "--out", str(out)]) == 0
    return out


def test_build_folds_names_and_writes_merges(graph_file, capsys):
    from mathscale.graph.build import load_graph

    g = load_graph(graph_file)
    assert g.nodes["topic:Algebra"]["count"] == 2 and "topic:algebra" not in g
    assert g.nodes["kp:Linear equation"]["count"] == 2  # a tie of spellings: the first alphabetically
    merges = json.loads(graph_file.with_name("graph.merges.json").read_text())
    assert {m["into"] for m in merges["merges"]} == {"Algebra", "Linear equation"}
    assert merges["skipped"] == {"no_knowledge_points": 1}


def test_build_drops_generic_names_and_counts_them(tmp_path, capsys):
    from mathscale.graph.build import load_graph

    generic = {**CONCEPTS[0], "id": "g", "topics": ["Mathematics"], "knowledge_points": ["Problem solving", "Area"]}
    concepts = write_jsonl(tmp_path / "c.jsonl", [*CONCEPTS, generic])
    assert cli.main(["graph", "build", str(concepts), "--out", str(tmp_path / "g.json")]) == 0
    assert "generic names dropped: topic generic 1; kp generic 1" in capsys.readouterr().out
    merges = json.loads((tmp_path / "g.merges.json").read_text())
    assert merges["skipped"] == {"no_knowledge_points": 1, "no_topics": 1}
    assert merges["dropped_counts"] == {"topic": {"generic": 1}, "kp": {"generic": 1}}
    assert "topic:Mathematics" not in load_graph(tmp_path / "g.json")
    assert cli.main(["graph", "build", str(concepts), "--out", str(tmp_path / "k.json"), "drop_generic=false"]) == 0
    assert "topic:Mathematics" in load_graph(tmp_path / "k.json")


def test_build_options_and_bad_concepts(tmp_path, capsys):
    concepts = write_jsonl(tmp_path / "c.jsonl", CONCEPTS)
    assert cli.main(["graph", "build", str(concepts), "--out", str(tmp_path / "g.graphml"), "fold=false"]) == 0
    assert "topic:algebra" in (tmp_path / "g.graphml").read_text()
    bad = write_jsonl(tmp_path / "bad.jsonl", [CONCEPTS[0], {**CONCEPTS[1], "topics": "Algebra"}])
    assert cli.main(["graph", "build", str(bad), "--out", str(tmp_path / "g.json")]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:2: field 'topics': expected a list" in err and err.count("\n") == 1
    empty = write_jsonl(tmp_path / "empty.jsonl", [CONCEPTS[4]])
    assert cli.main(["graph", "build", str(empty), "--out", str(tmp_path / "g.json")]) == 2
    assert "nothing to build" in capsys.readouterr().err


def test_stats_and_plot(graph_file, tmp_path, capsys):
    assert cli.main(["graph", "stats", str(graph_file)]) == 0
    assert "3 topics, 5 knowledge points" in capsys.readouterr().out
    assert cli.main(["graph", "stats", str(graph_file), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["nodes"] == {"topic": 3, "kp": 5}
    png = tmp_path / "g.png"
    assert cli.main(["graph", "plot", str(graph_file), "--out", str(png)]) == 0
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_sample_shards_union_equals_whole(graph_file, tmp_path, capsys):
    whole = tmp_path / "whole.jsonl"
    assert cli.main(["graph", "sample", str(graph_file), "-n", "300", "--seed", "9", "--out", str(whole)]) == 0
    lines = whole.read_text().splitlines()
    records = [Composition.from_json(json.loads(line)) for line in lines]
    assert [r.index for r in records] == list(range(300)) and all(r.seed == 9 for r in records)
    parts = []
    for i in range(3):
        part = tmp_path / f"part{i}.jsonl"
        assert cli.main(["graph", "sample", str(graph_file), "-n", "300", "--seed", "9", "--shard", f"{i}/3",
                         "--out", str(part)]) == 0  # fmt: skip
        parts += part.read_text().splitlines()
    assert parts == lines
    report = json.loads((tmp_path / "whole.report.json").read_text())
    assert report["walks"] == 300 and 0 < report["unique_rate"] <= 1 and 0 <= report["novelty"] <= 1
    assert report["topic_coverage"] == 1.0


def test_sample_unique_writes_exactly_n_and_shards_concatenate(graph_file, tmp_path, capsys):
    out = tmp_path / "u.jsonl"
    argv = ["graph", "sample", str(graph_file), "-n", "40", "--unique", "--seed", "3", "walk.kp_steps=[1,2]"]
    assert cli.main([*argv, "--out", str(out)]) == 0
    records = [json.loads(line) for line in out.read_text().splitlines()]
    keys = {(frozenset(r["topics"]), frozenset(r["knowledge_points"])) for r in records}
    assert len(records) == 40 and len(keys) == 40
    assert all(2 <= len(r["knowledge_points"]) <= 3 for r in records)
    indices = [r["index"] for r in records]
    assert indices == sorted(indices) and indices[-1] >= 40  # walked past n, in walk order
    # each kept walk is the first walk with its sets: every skipped walk repeats an earlier kept one
    from mathscale.graph.build import load_graph
    from mathscale.graph.sampler import Sampler

    sampler = Sampler.from_graph(load_graph(graph_file), kp_steps=[1, 2])
    seen = set()
    for comp in sampler.compositions(3, range(indices[-1] + 1)):
        key = (frozenset(comp.topics), frozenset(comp.knowledge_points))
        assert (comp.index in indices) == (key not in seen)
        seen.add(key)
    report = json.loads((tmp_path / "u.report.json").read_text())
    assert report["written"] == 40 and report["walks"] == indices[-1] + 1 and report["unique"] == 40
    assert "40 compositions" in capsys.readouterr().out
    parts = []
    for i in range(3):
        part = tmp_path / f"u{i}.jsonl"
        assert cli.main([*argv, "--shard", f"{i}/3", "--out", str(part)]) == 0
        parts += part.read_text().splitlines()
    assert parts == out.read_text().splitlines()
    assert cli.main([*argv[:3], "-n", "2000", "--unique", "--out", str(tmp_path / "too_many.jsonl")]) == 2
    assert "the graph yields only" in capsys.readouterr().err and not (tmp_path / "too_many.jsonl").exists()


def test_composition_lines_equal_json_dumps(graph_file):
    import numpy as np

    from mathscale.graph.build import load_graph
    from mathscale.graph.command import composition_lines
    from mathscale.graph.sampler import Sampler

    sampler = Sampler.from_graph(load_graph(graph_file))
    indices = np.arange(5, 405)
    topics, kps = sampler.walk_arrays(11, indices)
    kps[:3] = -1  # a walk whose topic had no knowledge point
    expected = "".join(json.dumps(c.to_json(), ensure_ascii=False) + "\n"
                       for c in sampler.to_records(11, indices, topics, kps))  # fmt: skip
    assert "".join(composition_lines(sampler, 11, indices, topics, kps, block=64)) == expected
    assert '"knowledge_points": []' in expected


def test_sample_bad_inputs(graph_file, tmp_path, capsys):
    out = str(tmp_path / "s.jsonl")
    assert cli.main(["graph", "sample", str(graph_file), "-n", "10", "--shard", "3/3", "--out", out]) == 2
    assert "--shard '3/3': expected i/k" in capsys.readouterr().err
    assert cli.main(["graph", "sample", str(graph_file), "-n", "10", "--out", out, "walk.start=popular"]) == 2
    assert "key 'walk.start': expected one of 'uniform', 'frequency'" in capsys.readouterr().err
    concepts = write_jsonl(tmp_path / "c.jsonl", CONCEPTS)  # concepts, not a graph
    assert cli.main(["graph", "sample", str(concepts), "-n", "10", "--out", out]) == 2
    err = capsys.readouterr().err
    assert f"{concepts}:2: not valid JSON" in err or f"{concepts}: not a" in err
    assert err.count("\n") == 1


def test_commands_in_process_take_a_config_and_return_a_result(tmp_path, capsys):
    """How `run` calls the stage: dataclasses.replace(cfg.extract, llm=..., seeds=..., out=...) -> extract_main."""
    from mathscale.graph.command import build_main, extract_main, plot_main, sample_main, stats_main
    from mathscale.llm.config import LLMConfig
    from tests.support.fake_server import FakeServer

    def responder(request):
        return json.dumps({"topics": ["Arithmetic", "Algebra"], "knowledge_points": ["Addition", "Equations"]})

    seeds = write_jsonl(tmp_path / "seeds.jsonl", [{"id": f"s{i}", "question": f"{i}+1?"} for i in range(4)])
    concepts, graph = tmp_path / "c" / "concepts.jsonl", tmp_path / "g" / "graph.json"
    with FakeServer(responder=responder) as server:
        llm = LLMConfig(base_urls=[server.base_url], cache_path=str(tmp_path / "c.sqlite"), progress=False)
        done = extract_main(dataclasses.replace(ExtractConfig(), llm=llm, seeds=str(seeds), out=str(concepts), limit=3))
    assert (done.out, done.extracted, done.already_done, done.failed) == (concepts, 3, 0, 0)
    assert done.report == tmp_path / "c" / "concepts.report.json" and done.report.is_file() and done.failures.is_file()
    built = build_main(dataclasses.replace(BuildConfig(), concepts=str(concepts), out=str(graph),
                                           mapping=str(tmp_path / "m" / "merges.json")))  # fmt: skip
    assert (built.out, built.records, built.topics, built.knowledge_points) == (graph, 3, 2, 2)
    assert built.mapping.is_file() and not graph.with_name("graph.merges.json").exists()
    assert built.edges == 1 + 4 + 1 and built.merges == 0 and built.skipped == {}
    cfg = SampleConfig(graph=str(graph), out=str(tmp_path / "s.jsonl"), shard="1/2", n=10, seed=4,
                       walk=WalkConfig(start="frequency", kp_steps=[1, 1]))  # fmt: skip
    sampled = sample_main(cfg)
    assert (sampled.written, sampled.indices, sampled.walks) == (5, (5, 10), 5)
    rows = [json.loads(line) for line in sampled.out.read_text().splitlines()]
    assert [r["index"] for r in rows] == [5, 6, 7, 8, 9] and all(len(r["knowledge_points"]) == 2 for r in rows)
    assert json.loads(sampled.report.read_text())["start"] == "frequency"
    capsys.readouterr()
    stats = stats_main(StatsConfig(graph=str(graph), json=True, walks=0))
    assert stats.stats["nodes"] == {"topic": 2, "kp": 2} and "walks" not in stats.stats["diversity"]
    assert json.loads(capsys.readouterr().out) == stats.stats  # what it printed
    plotted = plot_main(GraphPlotConfig(graph=str(graph), out=str(tmp_path / "p.png"), top=5))
    assert plotted.out.read_bytes()[:4] == b"\x89PNG"


def test_inputs_from_a_config_file_and_flags_over_it(graph_file, tmp_path, capsys):
    cfg = tmp_path / "sample.yaml"
    cfg.write_text(f"graph: {graph_file}\nout: {tmp_path / 'from_yaml.jsonl'}\nn: 7\nwalk:\n  kp_steps: [2, 2]\n")
    assert cli.main(["graph", "sample", "--config", str(cfg)]) == 0  # no GRAPH, no --out: the file gives them
    rows = [json.loads(line) for line in (tmp_path / "from_yaml.jsonl").read_text().splitlines()]
    assert len(rows) == 7 and all(len(r["knowledge_points"]) == 3 for r in rows)
    assert cli.main(["graph", "sample", str(graph_file), "--config", str(cfg), "-n", "3", "walk.kp_steps=[0,0]"]) == 0
    rows = [json.loads(line) for line in (tmp_path / "from_yaml.jsonl").read_text().splitlines()]
    assert len(rows) == 3 and all(len(r["knowledge_points"]) == 1 for r in rows)  # the flag and override beat the file
    mapping = tmp_path / "lists" / "merges.json"
    concepts = write_jsonl(tmp_path / "c.jsonl", CONCEPTS)
    assert cli.main(["graph", "build", str(concepts), "--out", str(tmp_path / "g.json"), "--mapping", str(mapping)]) == 0
    assert json.loads(mapping.read_text())["skipped"] == {"no_knowledge_points": 1}
    assert not (tmp_path / "g.merges.json").exists() and f"listed in {mapping}" in capsys.readouterr().out


def test_missing_inputs_and_bad_walks_are_one_line_errors(graph_file, tmp_path, capsys):
    out = str(tmp_path / "s.jsonl")
    for argv, message in [
        (["graph", "extract", "--out", out], "no SEEDS given (or seeds: in the config)"),
        (["graph", "build", str(tmp_path / "c.jsonl")], "no --out given (or out: in the config)"),
        (["graph", "stats"], "no GRAPH given (or graph: in the config)"),
        (["graph", "plot", str(graph_file)], "no --out given (or out: in the config)"),
        (["graph", "sample", "--out", out], "no GRAPH given (or graph: in the config)"),
        (["graph", "sample", str(graph_file), "--out", out, "walk.kp_steps=[3,1]"],
         "walk.kp_steps=[3, 1]: expected [min, max] with 0 <= min <= max"),
        (["graph", "sample", str(graph_file), "--out", out, "walk.topic_steps=[1]"],
         "walk.topic_steps=[1]: expected [min, max]"),
        (["graph", "sample", str(graph_file), "--out", out, "kp_steps=[1,2]"], "key 'kp_steps': unknown key"),
    ]:  # fmt: skip
        assert cli.main(argv) == 2, argv
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, (argv, err)
    assert not Path(out).exists()
