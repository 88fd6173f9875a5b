"""``mathscale run``, ``scale`` and ``plot`` end to end on tiny settings: a scripted teacher
endpoint, a tiny random student trained by real training processes, real evaluation."""

from __future__ import annotations

import csv
import hashlib
import json
import re
from pathlib import Path

import pytest

from mathscale.cli import main
from tests.support import REPO
from tests.support.fake_server import FakeServer, qa_responder, reply_as_asked

pytestmark = pytest.mark.slow


def asks_for_concepts(request: dict) -> bool:
    """An extraction request (its prompt asks for "knowledge_points"), whatever the structured-output mode."""
    return '"knowledge_points"' in " ".join(str(m.get("content")) for m in request.get("messages", []))


def teacher(request: dict) -> str:
    """Concepts for extraction prompts, QA pairs for generation prompts.

    Concepts vary with the question (2 of 7 topics, up to 3 of 9 knowledge points), so even
    a few seeds give a graph with enough distinct concept sets for generate's one call per set."""
    if asks_for_concepts(request):
        h = hashlib.sha256(request["messages"][-1]["content"].encode()).digest()
        topics = ["Arithmetic", ["Algebra", "Geometry", "Counting", "Fractions", "Ratios", "Percent"][h[0] % 6]]
        kps = ["Addition", *dict.fromkeys(["Equations", "Area", "Products", "Sums", "Halves", "Rates", "Shares",
                                           "Angles"][i % 8] for i in h[1:3])]  # fmt: skip
        return json.dumps({"topics": topics, "knowledge_points": kps})
    return qa_responder(request)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    from tests.support.tiny import build_tiny_model

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
    """Stage name -> the lines the run printed about it ("[train] up to date ..." or the command)."""
    out = capsys.readouterr().out
    lines: dict[str, str] = {}
    for line in out.splitlines():
        if m := re.match(r"\[([a-z][a-z0-9-]*)\] ", line):
            lines[m.group(1)] = lines.get(m.group(1), "") + line + "\n"
    return lines


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

        # settings that cannot change a result: nothing reruns, not one request
        assert main(["run", str(config), "train.logging_steps=5", "llm.concurrency=3", "llm.timeout_s=30"]) == 0
        assert all("up to date" in line for line in stage_runs(capsys).values()) and server.counts["ok"] == calls

        # growth: generate asks only for the new slots (no cache, so every attempt reaches the server)
        first_samples = (folder / "samples.jsonl").read_bytes()
        old_model = manifest["stages"]["train"]["key"]
        assert main(["run", str(config), "generate.n=16", "llm.cache=false"]) == 0
        third = stage_runs(capsys)
        assert all("up to date" in third[s] for s in ("extract", "build", "eval-base"))
        assert "extending n=12 to 16" in third["generate"]
        assert all("up to date" not in third[s] for s in ("train", "eval"))
        samples = (folder / "samples.jsonl").read_bytes()
        report = json.loads((folder / "samples.report.json").read_text())
        new = len(samples.splitlines()) - len(first_samples.splitlines())
        assert samples.startswith(first_samples) and new + report["exhausted_slots"] >= 4 and new > 0
        drops = [json.loads(line) for line in (folder / "samples.drops.jsonl").read_text().splitlines()]
        requested = [d for d in drops if d["slot"] >= 12 and d["reason"] != "repeated_composition"]
        assert server.counts["ok"] - calls == new + len(requested)
        # the model trained on 12 samples is kept, not deleted; --prune removes it, saying so
        superseded = folder / "superseded" / f"train-{old_model}" / "model"
        assert (superseded / "config.json").exists() and (folder / "model" / "config.json").exists()
        assert (folder / "superseded" / f"eval-{manifest['stages']['eval']['key']}" / "eval" / "metrics.json").exists()
        assert main(["run", str(config), "generate.n=16", "--prune"]) == 0
        out = capsys.readouterr().out
        assert f"pruned {folder / 'superseded' / f'train-{old_model}'}" in out and not (folder / "superseded").exists()
    assert (folder / "samples.jsonl").read_bytes() == samples  # prune removes only what was superseded
    with (folder / "results.csv").open() as handle:
        assert sorted({int(r["size"]) for r in csv.DictReader(handle)}) == [0, 16]
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
        assert main(["scale", str(config), "generate.unique_compositions=false"]) == 0
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

    # a new size extends the generation and trains only that size
    capsys.readouterr()
    with FakeServer(responder=teacher) as server:
        assert main(["scale", str(config), "sizes=[4, 8, 16]", "generate.unique_compositions=false",
                     f"llm.base_urls=[{server.base_url}]"]) == 0  # a new port: URLs are not in the key
        runs = stage_runs(capsys)
    assert "extending n=12 to 16" in runs["generate"]
    assert all("up to date" in runs[s] for s in ("extract", "build", "train-n4", "eval-n4", "train-n8", "eval-n8"))
    assert "up to date" not in runs["train-n16"]
    assert (folder / "n16" / "samples.jsonl").read_text().splitlines()[:12] == n12

    out = root / "overlay.png"
    assert main(["plot", str(folder / "results.csv"), str(folder / "results.csv"), "--out", str(out)]) == 0
    assert out.stat().st_size > 1000
    assert main(["plot", str(seeds), "--out", str(out)]) == 2
    assert "not a results.csv" in capsys.readouterr().err


def few_questions_teacher(request: dict) -> str:
    """Concepts as ``teacher``; for generation, only ten different questions (chosen by a hash)."""
    if asks_for_concepts(request):
        return teacher(request)
    k = hashlib.sha256(json.dumps(request["messages"]).encode() + str(request.get("seed")).encode()).digest()[0] % 10
    return reply_as_asked(request, {
        "question": f"A shelf holds {k + 2} rows of {k + 3} books each. How many books are on it?",
        "solution": f"Multiply the rows by the books per row: {k + 2} * {k + 3} = {(k + 2) * (k + 3)}.",
        "answer": str((k + 2) * (k + 3)),
    })


def test_scale_with_one_size_short_trains_the_others_and_marks_it(setup, capsys):
    root, seeds, bench, model = setup
    with FakeServer(responder=few_questions_teacher) as server:
        config = write_config(root, "short", server, seeds, bench, model, "sizes: [4, 8, 12]\n")
        cache = f"llm.cache_path={root / 'short-cache.sqlite'}"  # not the replies of the other tests' teacher
        assert main(["scale", str(config), cache]) == 3
        out = capsys.readouterr().out
        calls = server.counts["ok"]
        assert main(["scale", str(config), cache]) == 3  # a rerun: nothing to redo, the same verdict, no request
        again = capsys.readouterr().out
        assert server.counts["ok"] == calls
    folder = root / "short"
    available = len((folder / "samples.jsonl").read_text().splitlines())
    assert 8 <= available < 12  # the teacher knows ten questions
    assert f"{available} of 12 samples" in out and "raise max_attempts" in out
    assert "not reached: size 12" in out and "not reached: size 12" in again
    assert all("up to date" in line for name, line in stage_runs_of(again).items() if name != "generate")
    with (folder / "results.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert sorted({int(r["size"]) for r in rows if r["status"] == "ok"}) == [0, 4, 8]
    [missing] = [r for r in rows if r["status"] != "ok"]
    assert missing["size"] == "12" and missing["accuracy"] == ""
    assert missing["status"] == f"not reached: generate wrote {available} of 12 samples"
    assert (folder / "n8" / "eval" / "metrics.json").exists() and not (folder / "n12").exists()
    assert (folder / "scaling.png").stat().st_size > 1000
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["stages"]["generate"]["status"] == "short" and manifest["stages"]["eval-n8"]["status"] == "done"


def stage_runs_of(text: str) -> dict[str, str]:
    return {m.group(1): line for line in text.splitlines() if (m := re.match(r"\[([a-z][a-z0-9-]*)\] ", line))}


@pytest.mark.parametrize("name, sizes", [("quickstart", [0, 32]), ("scale_quickstart", [0, 16, 32, 64])])
def test_the_shipped_examples_run_with_a_scripted_teacher_and_a_tiny_student(setup, tmp_path, name, sizes):
    """configs/run/*.yaml as shipped; only the teacher (a local endpoint) and the student (tiny) differ."""
    root, seeds, bench, model = setup
    config = REPO / "configs" / "run" / f"{name}.yaml"
    command = "run" if name == "quickstart" else "scale"
    with FakeServer(responder=teacher) as server:
        assert main([command, str(config), f"out={tmp_path / name}", f"base_model={model}",
                     f"llm.base_urls=[{server.base_url}]", f"llm.cache_path={tmp_path / 'cache.sqlite'}",
                     "llm.progress=false"]) == 0  # fmt: skip
    folder = tmp_path / name
    with (folder / "results.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert sorted({int(r["size"]) for r in rows}) == sizes and all(r["status"] == "ok" for r in rows)
    assert {r["dataset"] for r in rows} >= {"micro", "macro"}
    assert (folder / "scaling.png").stat().st_size > 1000
    trained = json.loads((folder / ("model" if command == "run" else "n16/model") / "train_metrics.json").read_text())
    assert trained["lora"] is True


def test_scale_repeats_give_each_seed_its_samples_and_the_plot_a_band(setup):
    root, seeds, bench, model = setup
    with FakeServer(responder=teacher) as server:
        config = write_config(root, "repeats", server, seeds, bench, model, "sizes: [4]\nrepeats: 2\neval_base: false\n")
        assert main(["scale", str(config)]) == 0
    folder = root / "repeats"
    first = (folder / "n4" / "samples.jsonl").read_text().splitlines()
    second = (folder / "repeat1" / "n4" / "samples.jsonl").read_text().splitlines()
    assert len(first) == len(second) == 4 and not set(first) & set(second)
    assert {json.loads(line)["meta"]["seed"] for line in second} == {1}
    with (folder / "results.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert sorted({r["seed"] for r in rows}) == ["0", "1"] and {r["size"] for r in rows} == {"4"}
    manifest = json.loads((folder / "manifest.json").read_text())
    assert {"generate", "generate-r1", "train-n4", "train-n4-r1", "eval-n4-r1"} <= set(manifest["stages"])


def test_scale_with_a_focus_round_generates_on_the_weak_concepts_and_draws_both_curves(setup, capsys):
    root, seeds, bench, model = setup
    with FakeServer(responder=teacher) as server:
        config = write_config(root, "focus", server, seeds, bench, model,
                              "sizes: [4, 8]\neval_base: false\nfocus_round: true\nfocus_boost: 3.0\n")  # fmt: skip
        assert main(["scale", str(config), "generate.unique_compositions=false"]) == 0
    folder = root / "focus"
    with (folder / "n4" / "eval" / "concepts.csv").open() as handle:
        concepts = list(csv.DictReader(handle))
    assert concepts and {r["kind"] for r in concepts} == {"topic", "kp"}
    assert all(0 <= float(r["lower"]) <= float(r["accuracy"]) <= float(r["upper"]) <= 1 for r in concepts)
    report = json.loads((folder / "focus" / "samples.report.json").read_text())
    assert report["config"]["walk"]["focus"] == [str(folder / "n4" / "eval" / "concepts.csv")]
    assert report["config"]["walk"]["boost"] == 3.0 and "share_with_focus" in report["focus"]
    focused = (folder / "focus" / "n8" / "samples.jsonl").read_text().splitlines()
    assert focused[:4] == (folder / "n4" / "samples.jsonl").read_text().splitlines()  # the first round's samples
    assert len(focused) == 8 and not set(focused[4:]) & set((folder / "samples.jsonl").read_text().splitlines())
    assert (folder / "focus" / "n8" / "eval" / "concepts.csv").exists()
    with (folder / "focus.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert {(r["curve"], r["size"]) for r in rows} == {("unfocused", "4"), ("unfocused", "8"), ("focused", "4"),
                                                       ("focused", "8")}  # fmt: skip
    assert {r["group"] for r in rows} == {"weak at start", "rest"}
    assert (folder / "focus.png").stat().st_size > 1000 and (folder / "focus.svg").exists()
    assert "focused vs unfocused, per concept group" in capsys.readouterr().out
