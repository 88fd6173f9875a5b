"""Every command creates the folders its outputs go in, when it first writes: ``--out
new/deeper/file`` works without a mkdir, and a command that fails before writing leaves no
folder behind. (train and eval: tests/models/test_hub_models.py writes into new folders too.)"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from mathscale.cli import main
from tests.support.fake_server import FakeServer, qa_responder

CONCEPTS = [
    {"schema": "concepts/1", "id": f"q{i}", "question": f"What is {i} + {i}?", "topics": ["Algebra", t],
     "knowledge_points": ["Addition", k], "model": "m", "prompt": "p"}
    for i, (t, k) in enumerate([("Geometry", "Area"), ("Counting", "Products"), ("Geometry", "Sums")] * 4)
]  # fmt: skip


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def llm(server: FakeServer, tmp_path: Path) -> list[str]:
    return [f"llm.base_urls=[{server.base_url}]", f"llm.cache_path={tmp_path}/cache.sqlite", "llm.progress=false"]


@pytest.fixture
def graph(tmp_path) -> Path:
    out = tmp_path / "new" / "graph" / "graph.json"
    assert main(["graph", "build", str(write_jsonl(tmp_path / "c.jsonl", CONCEPTS)), "--out", str(out)]) == 0
    assert out.is_file() and (out.parent / "graph.merges.json").is_file()
    return out


def test_graph_commands_create_their_folders(graph, tmp_path):
    walks = tmp_path / "a" / "b" / "walks.jsonl"
    assert main(["graph", "sample", str(graph), "-n", "5", "--out", str(walks)]) == 0
    assert len(walks.read_text().splitlines()) == 5 and walks.with_name("walks.report.json").is_file()
    png = tmp_path / "pictures" / "g.png"
    assert main(["graph", "plot", str(graph), "--out", str(png)]) == 0
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_llm_commands_create_their_folders(graph, tmp_path):
    def teacher(request):
        if "name the concepts" in json.dumps(request.get("messages")).lower():  # the extraction prompt
            return json.dumps({"topics": ["Arithmetic"], "knowledge_points": ["Addition"]})
        return qa_responder(request)

    seeds = write_jsonl(tmp_path / "seeds.jsonl", [{"id": "s1", "question": "What is 1 + 2?"}])
    with FakeServer(responder=teacher) as server:
        concepts = tmp_path / "x" / "concepts.jsonl"
        assert main(["graph", "extract", str(seeds), "--out", str(concepts), *llm(server, tmp_path)]) == 0
        assert len(concepts.read_text().splitlines()) == 1 and concepts.with_name("concepts.report.json").is_file()
        samples = tmp_path / "out" / "deeper" / "samples.jsonl"
        assert main(["generate", str(graph), "-n", "3", "--out", str(samples), "dataset=false",
                     *llm(server, tmp_path)]) == 0  # fmt: skip
        assert len(samples.read_text().splitlines()) == 3
        usage = tmp_path / "usage" / "ping.json"
        assert main(["ping", "--usage-out", str(usage), *llm(server, tmp_path)]) == 0
        assert json.loads(usage.read_text())["api_calls"] == 1


def test_grade_and_plot_create_their_folders(tmp_path):
    preds = write_jsonl(tmp_path / "p.jsonl", [{"completion": "The answer is 4.", "answer": "4"}])
    graded = tmp_path / "graded" / "p.jsonl"
    assert main(["grade", str(preds), "--out", str(graded)]) == 0
    assert json.loads(graded.read_text())["correct"] is True

    results = tmp_path / "results.csv"
    with results.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["run", "size", "dataset", "grader", "accuracy"])
        writer.writeheader()
        writer.writerows([{"run": "r", "size": n, "dataset": "micro", "grader": "mathscale", "accuracy": a}
                          for n, a in ((0, 1.0), (10, 5.0))])  # fmt: skip
    plot = tmp_path / "plots" / "curve.png"
    assert main(["plot", str(results), "--out", str(plot)]) == 0
    assert plot.read_bytes()[:4] == b"\x89PNG" and plot.with_suffix(".svg").is_file()


def test_a_command_that_fails_before_writing_leaves_no_folder(tmp_path, capsys):
    bad = write_jsonl(tmp_path / "bad.jsonl", [{**CONCEPTS[0], "topics": "Algebra"}])
    assert main(["graph", "build", str(bad), "--out", str(tmp_path / "new" / "g.json")]) == 2
    assert "bad.jsonl:1: field 'topics'" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()


def test_train_and_eval_refuse_an_out_under_a_file(tmp_path, capsys):
    (tmp_path / "blocker").write_text("")
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")  # enough for the checks before loading
    samples = write_jsonl(tmp_path / "s.jsonl", [{"question": "1+1?", "solution": "2"}])
    assert main(["train", "--data", str(samples), "--model", str(model), "--out", str(tmp_path / "blocker" / "run"),
                 "--dry-run", "launch.device=cpu"]) == 2  # fmt: skip
    assert "blocker is a file, so folder" in capsys.readouterr().err
    bench = write_jsonl(tmp_path / "b.jsonl", [{"question": "1+1?", "answer": "2"}])
    assert main(["eval", "--model", str(model), "--benchmarks", str(bench), "--out",
                 str(tmp_path / "blocker" / "eval")]) == 2  # fmt: skip
    assert "blocker is a file, so folder" in capsys.readouterr().err
