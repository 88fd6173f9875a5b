"""``mathscale run``, ``scale`` and ``plot`` end to end on tiny settings: a scripted teacher
endpoint, a tiny random student trained by real training processes, real evaluation."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from mathscale.cli import main
from mathscale.llm.fake_server import FakeServer, qa_responder

pytestmark = pytest.mark.slow


def teacher(request: dict) -> str:
    """Concepts for extraction prompts, QA pairs for generation prompts."""
    schema = (request.get("response_format") or {}).get("schema") or {}
    if "topics" in schema.get("properties", {}):
        text = request["messages"][-1]["content"]
        n = sum(map(ord, text)) % 3
        return json.dumps({"topics": ["Arithmetic", ["Algebra", "Geometry", "Counting"][n]],
                           "knowledge_points": ["Addition", ["Equations", "Area", "Products"][n]]})  # fmt: skip
    return qa_responder(request)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    from mathscale.train.tiny import build_tiny_model

    root = tmp_path_factory.mktemp("loop")
    seeds = root / "seeds.jsonl"
    seeds.write_text("".join(json.dumps({"id": f"s{i}", "question": f"What is {i} + {i + 3}? Show the steps."}) + "\n"
                             for i in range(8)))  # fmt: skip
    bench = root / "bench.jsonl"
    bench.write_text("".join(json.dumps({"data_topic": t, "data_source": t, "question_number": i,
                                         "question": f"What is {i} + {i}?", "answer": str(2 * i)}) + "\n"
                             for i, t in enumerate(["gsm8k", "gsm8k", "MATH.Algebra", "MATH.Geometry"])))  # fmt: skip
    model = build_tiny_model(root / "tiny")
    return root, seeds, bench, model


def write_config(root: Path, name: str, server: FakeServer, seeds: Path, bench: Path, model: Path, extra: str = "") -> Path:
    path = root / f"{name}.yaml"
    path.write_text(f"""
out: {root / name}
seeds: {seeds}
benchmarks: {bench}
base_model: {model}
llm: {{base_urls: ["{server.base_url}"], cache_path: "{root / 'cache.sqlite'}", progress: false}}
generate: {{n: 12, dataset: false}}
train: {{deepspeed: none, num_processes: 1, max_steps: 2, per_device_batch_size: 2, max_length: 512, logging_steps: 1}}
eval: {{max_new_tokens: 8, batch_size: 4}}
{extra}""")
    return path


def stage_runs(capsys) -> dict[str, str]:
    """Stage name -> the line the run printed about it ("[train] up to date ..." or the command)."""
    out = capsys.readouterr().out
    return {m.group(1): line for line in out.splitlines() if (m := re.match(r"\[([a-z][a-z0-9-]*)\] ", line))}


def test_run_end_to_end_then_rerun_does_nothing_then_only_what_changed(setup, capsys):
    root, seeds, bench, model = setup
    with FakeServer(responder=teacher) as server:
        config = write_config(root, "run", server, seeds, bench, model)
        assert main(["run", str(config)]) == 0
        first = stage_runs(capsys)
        assert set(first) == {"extract", "build", "generate", "train", "eval", "eval-base"}
        assert all("up to date" not in line for line in first.values())
        folder = root / "run"
        metrics = json.loads((folder / "eval" / "metrics.json").read_text())
        assert metrics["items"] == 4 and set(metrics["graders"]) == {"mathscale", "mwpbench"}
        manifest = json.loads((folder / "manifest.json").read_text())
        assert all(s["status"] == "done" for s in manifest["stages"].values())
        assert manifest["packages"]["torch"] and manifest["llm"]["total"]["prompt_tokens"] > 0
        calls = server.counts["ok"]

        assert main(["run", str(config)]) == 0  # nothing changed: nothing runs, no LLM call
        second = stage_runs(capsys)
        assert all("up to date" in line for line in second.values()) and server.counts["ok"] == calls

        assert main(["run", str(config), "generate.n=14"]) == 0
        third = stage_runs(capsys)
        assert all("up to date" in third[s] for s in ("extract", "build", "eval-base"))
        assert all("up to date" not in third[s] for s in ("generate", "train", "eval"))
    assert len((folder / "samples.jsonl").read_text().splitlines()) == 14
    with (folder / "results.csv").open() as handle:
        assert sorted({int(r["size"]) for r in csv.DictReader(handle)}) == [0, 14]
    assert (folder / "scaling.png").exists()


def test_run_config_cannot_set_what_the_run_connects(setup, capsys, tmp_path):
    root, seeds, bench, model = setup
    path = tmp_path / "bad.yaml"
    path.write_text("train: {data: other.jsonl}\n")
    assert main(["run", str(path)]) == 2
    assert "train.data is set by the run itself" in capsys.readouterr().err


def test_scale_draws_a_curve_from_three_sizes(setup, capsys):
    root, seeds, bench, model = setup
    with FakeServer(responder=teacher) as server:
        config = write_config(root, "scale", server, seeds, bench, model, "sizes: [4, 8, 12]\n")
        assert main(["scale", str(config)]) == 0
    folder = root / "scale"
    with (folder / "results.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    sizes = sorted({int(r["size"]) for r in rows})
    assert sizes == [0, 4, 8, 12]
    # one row per size, dataset and grader: gsm8k, MATH, micro, macro
    assert len(rows) == 4 * 4 * 2
    assert {r["dataset"] for r in rows} == {"gsm8k", "MATH", "micro", "macro"}
    assert (folder / "scaling.png").stat().st_size > 1000 and (folder / "scaling.svg").exists()
    # the training sets are nested prefixes of one generation
    n4 = (folder / "n4" / "samples.jsonl").read_text().splitlines()
    n12 = (folder / "n12" / "samples.jsonl").read_text().splitlines()
    assert n4 == n12[:4]
    # and the concepts they use grow with them: diversity.csv, plotted beside the accuracy
    with (folder / "diversity.csv").open() as handle:
        coverage = list(csv.DictReader(handle))
    assert [int(r["size"]) for r in coverage] == [4, 8, 12]
    used = [len({t for line in n12[:n] for t in json.loads(line)["topics"]}) for n in (4, 8, 12)]
    assert [int(r["topics"]) for r in coverage] == used

    out = root / "overlay.png"
    assert main(["plot", str(folder / "results.csv"), str(folder / "results.csv"), "--out", str(out)]) == 0
    assert out.stat().st_size > 1000
    assert main(["plot", str(seeds), "--out", str(out)]) == 2
    assert "not a results.csv" in capsys.readouterr().err
