"""``mathscale generate`` end to end against real sockets: faults, kills, shards, planted contamination."""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mathscale.cli import main
from mathscale.graph.build import build_graph, save_graph
from mathscale.llm.client import is_transport
from mathscale.llm.sections import format_sections
from mathscale.records import Concepts
from tests.support.fake_server import (
    FakeServer,
    qa_fields,
    qa_responder,
    reply_as_asked,
)
from tests.support.generate_helpers import lines, repetitive_responder, run

BENCH_QUESTION = ("Mira packs 14 boxes with 23 lanterns in each box and then sells 97 lanterns at the "
                  "harbor market. How many lanterns does she have left after the market closes?")  # fmt: skip


def test_produces_n_filtered_samples_and_a_dataset(graph_path, tmp_path):
    out = tmp_path / "s.jsonl"
    with FakeServer(responder=qa_responder) as server:
        assert main(["generate", str(graph_path), "-n", "30", "--out", str(out), f"llm.base_urls=[{server.base_url}]",
                     f"llm.cache_path={tmp_path}/c.sqlite", "llm.progress=false"]) == 0  # fmt: skip
    samples = lines(out)
    assert len(samples) == 30 and len({s["id"] for s in samples}) == 30
    assert [s["meta"]["slot"] for s in samples] == list(range(30))
    assert all(s["schema"] == "qa/1" and s["answer"] and s["topics"] and s["knowledge_points"] for s in samples)
    report = json.loads((tmp_path / "s.report.json").read_text())
    assert report["produced"] == report["requested"] == 30 and report["llm"]["succeeded"] >= 30
    assert 0 <= report["compositions"]["novelty"] <= 1

    import datasets

    data = datasets.load_from_disk(str(tmp_path / "s.dataset"))
    assert len(data) == 30 and data[0]["question"] == samples[0]["question"]
    assert "samples: 30 of 30" in (tmp_path / "s.dataset" / "README.md").read_text()


def test_faults_on_30_percent_of_requests_are_all_accounted_for(graph_path, tmp_path):
    out = tmp_path / "s.jsonl"
    faults = {"429": 0.08, "500": 0.08, "slow": 0.02, "garbage": 0.06, "truncated": 0.06}
    with FakeServer(responder=qa_responder, faults=faults, seed=3, slow_s=2) as server:
        # A request that fails after its retries leaves its slot pending (exit 4): rerun until done.
        codes = []
        while not codes or codes[-1] == 4 and len(codes) < 4:
            codes.append(run([str(graph_path), "-n", "60", "--out", str(out)], server, tmp_path, "llm.max_retries=2"))
        assert codes[-1] == 0 and set(codes[:-1]) <= {4}
        calls = sum(v for k, v in server.counts.items() if k != "models")
    report = json.loads((tmp_path / "s.report.json").read_text())
    drops = lines(tmp_path / "s.drops.jsonl")
    usage = report["llm"]  # over every invocation
    assert usage["api_calls"] == calls  # every request the server saw is counted
    assert usage["requests"] == usage["succeeded"] + usage["failed"]
    # every request ended as a sample, as a counted drop (a repeated composition is dropped
    # before its request) or as a transport failure whose slot the rerun asked again; a reply
    # that came after a pending slot is committed by the rerun, from the cache. Every slot
    # is filled or given up.
    skipped = report["walks_skipped_as_repeated_compositions"]
    transport = sum(n for reason, n in usage["failures"].items() if is_transport(reason))
    assert transport == 0 or len(codes) > 1
    assert usage["requests"] - usage["cache_hits"] == report["produced"] + report["dropped_total"] - skipped + transport
    assert report["dropped_total"] == len(drops)
    assert report["produced"] + report["exhausted_slots"] == 60
    assert report["produced"] == 60


def test_choice_questions_and_unreadable_replies_are_dropped_by_reason(graph_path, tmp_path):
    def responder(req):
        text = req["messages"][-1]["content"]
        reply = qa_fields(req)
        roll = hashlib.sha256(text.encode()).digest()[0] % 4
        if roll == 0:
            reply["question"] = "Which of the following totals is largest: " + reply["question"]
        elif roll == 1:
            return "Sorry, I cannot write that question."
        return reply_as_asked(req, reply)

    out = tmp_path / "s.jsonl"
    with FakeServer(responder=responder) as server:
        assert run([str(graph_path), "-n", "20", "--out", str(out)], server, tmp_path, "llm.json_repair=false") == 0
    report = json.loads((tmp_path / "s.report.json").read_text())
    assert report["dropped"].get("choice_question", 0) > 0 and report["dropped"].get("llm_parse", 0) > 0
    assert all("which of the following" not in s["question"].lower() for s in lines(out))


def test_a_reply_without_an_answer_section_takes_its_boxed_answer_or_is_dropped(graph_path, tmp_path):
    """What the 0.5B teacher often writes: the solution ends with $\boxed{...}$ and no answer section follows."""
    def responder(req):
        fields = qa_fields(req)
        answer = fields.pop("answer")
        if int(answer) % 2 == 0:
            fields["solution"] += f" So the total is $\\boxed{{{answer}}}$."
        return format_sections(fields)

    out = tmp_path / "s.jsonl"
    with FakeServer(responder=responder) as server:
        assert run([str(graph_path), "-n", "10", "--out", str(out)], server, tmp_path) == 0
    samples, report = lines(out), json.loads((tmp_path / "s.report.json").read_text())
    assert len(samples) == 10 and all(s["solution"].endswith(f"$\\boxed{{{s['answer']}}}$.") for s in samples)
    assert report["dropped"]["missing_answer"] > 0 and "llm_parse" not in report["dropped"]
    assert server.counts["ok"] == 10 + report["dropped"]["missing_answer"]  # no repair turn was asked for


def test_decontamination_catches_a_planted_benchmark_question(graph_path, tmp_path):
    bench = tmp_path / "bench.jsonl"
    bench.write_text(json.dumps({"data_topic": "gsm8k", "data_source": "gsm8k", "question_number": 7,
                                 "question": BENCH_QUESTION, "answer": "225"}) + "\n")  # fmt: skip

    def responder(req):
        reply = qa_fields(req)
        if reply["answer"].endswith("3"):  # about one reply in ten copies the benchmark
            reply["question"] = "Here is a problem. " + BENCH_QUESTION
        return reply_as_asked(req, reply)

    out = tmp_path / "s.jsonl"
    with FakeServer(responder=responder) as server:
        assert run([str(graph_path), "-n", "40", "--out", str(out)], server, tmp_path,
                   f"decontamination.benchmarks=[{bench}]") == 0  # fmt: skip
    drops = [d for d in lines(tmp_path / "s.drops.jsonl") if d["reason"] == "contaminated"]
    assert drops and all(d["matched"] == "gsm8k:7" for d in drops)
    assert all(BENCH_QUESTION not in s["question"] for s in lines(out))
    assert len(lines(out)) == 40


def mostly_filtered_responder(request: dict) -> str:
    """85% of replies (by a hash of the request) have a solution too short to keep."""
    reply = qa_fields(request)
    if hashlib.sha256(json.dumps([request["messages"], request.get("seed")]).encode()).digest()[0] < 0.85 * 256:
        reply["solution"] = "It is 5."
    return reply_as_asked(request, reply)


@pytest.mark.parametrize("teacher", ["distinct", "mostly_filtered"])
def test_shards_union_equals_one_run_and_prefixes_nest(graph_path, tmp_path, teacher):
    """Also when most attempts are dropped and slots refill from their further walk rounds."""
    responder = qa_responder if teacher == "distinct" else mostly_filtered_responder
    with FakeServer(responder=responder) as server:
        assert run([str(graph_path), "-n", "24", "--out", str(tmp_path / "all.jsonl")], server, tmp_path) == 0
        for i in range(3):
            assert run([str(graph_path), "-n", "24", "--shard", f"{i}/3", "--out", str(tmp_path / f"part{i}.jsonl")],
                       server, tmp_path) == 0  # fmt: skip
        assert run([str(graph_path), "-n", "10", "--out", str(tmp_path / "ten.jsonl")], server, tmp_path) == 0
    whole = lines(tmp_path / "all.jsonl")
    union = [s for i in range(3) for s in lines(tmp_path / f"part{i}.jsonl")]
    assert len(whole) == 24 and union == whole
    assert lines(tmp_path / "ten.jsonl") == whole[:10]
    if teacher == "mostly_filtered":
        assert max(s["meta"]["attempt"] for s in whole) >= 16  # some slot was filled from its second round


@pytest.mark.parametrize("teacher", ["distinct", "repetitive"])
def test_sigkill_and_resume_gives_exactly_n_and_the_same_content(graph_path, tmp_path, teacher):
    """The repetitive teacher with 20 attempts per slot: slots refill from their second walk
    round, some run dry, and the resumed file is still byte for byte the uninterrupted one."""
    n = 40
    out = tmp_path / "killed.jsonl"
    responder, extra = (qa_responder, []) if teacher == "distinct" else (repetitive_responder, ["max_attempts=20"])
    latency = 0.05 if teacher == "distinct" else 0.02  # the repetitive teacher needs ~6 requests a sample
    with FakeServer(responder=responder, latency_s=latency, faults={"429": 0.1}) as server:
        cmd = [sys.executable, "-m", "mathscale.cli", "generate", str(graph_path), "-n", str(n), "--out", str(out),
               f"llm.base_urls=[{server.base_url}]", f"llm.cache_path={tmp_path}/c1.sqlite", "llm.concurrency=4",
               "llm.backoff_s=0.01", "llm.progress=false", "dataset=false", *extra]  # fmt: skip
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.time() + 60
        while time.time() < deadline and (not out.exists() or out.read_text().count("\n") < 10):
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        partial = out.read_text().count("\n")
        assert 10 <= partial < n, "the kill should land mid-run"
        resumed_code = subprocess.run(cmd, capture_output=True).returncode
        # The same command, never interrupted, with a fresh cache and output.
        clean = tmp_path / "clean.jsonl"
        cmd_clean = [c.replace("killed.jsonl", "clean.jsonl").replace("c1.sqlite", "c2.sqlite") for c in cmd]
        clean_code = subprocess.run(cmd_clean, capture_output=True).returncode
    assert out.read_bytes() == clean.read_bytes()
    resumed = lines(out)
    assert len({s["id"] for s in resumed}) == len(resumed)
    report = json.loads((tmp_path / "killed.report.json").read_text())
    assert report == {**report, "produced": len(resumed), "requested": n}
    assert resumed_code == clean_code == (3 if report["exhausted_slots"] else 0)
    if teacher == "distinct":
        assert len(resumed) == n
    else:  # the second walk round was used, and 0.85**20 leaves a slot or two dry
        assert max(d["attempt"] for d in lines(tmp_path / "killed.drops.jsonl")) >= 16
        assert report["exhausted_slots"] >= 1 and len(resumed) == n - report["exhausted_slots"]


def test_a_repetitive_teacher_still_gets_n_and_a_larger_n_extends_it(graph_path, tmp_path, capsys):
    s60, s80, grown, short = (tmp_path / f"{name}.jsonl" for name in ("s60", "s80", "grown", "short"))
    with FakeServer(responder=repetitive_responder) as server:
        assert run([str(graph_path), "-n", "60", "--out", str(s60)], server, tmp_path) == 0
        assert run([str(graph_path), "-n", "80", "--out", str(s80)], server, tmp_path) == 0
        grown.write_bytes(s60.read_bytes())  # the 60-sample file, asked for 80 in place
        assert run([str(graph_path), "-n", "80", "--out", str(grown)], server, tmp_path) == 0
        # The old budget (8 walks per slot) runs dry on this teacher: exit 3 and a remedy.
        capsys.readouterr()
        assert run([str(graph_path), "-n", "60", "--out", str(short), "max_attempts=8"], server, tmp_path) == 3
        err = capsys.readouterr().err
        # Resuming that file with a larger budget would refill its gaps out of order: refused.
        assert run([str(graph_path), "-n", "60", "--out", str(short)], server, tmp_path) == 2
        assert "written with another max_attempts" in capsys.readouterr().err
    samples = lines(s60)
    assert len(samples) == 60 and [s["meta"]["slot"] for s in samples] == list(range(60))
    assert len({s["question"] for s in samples}) == 60
    drops = lines(tmp_path / "s60.drops.jsonl")
    assert sum(d["reason"] == "exact_duplicate" for d in drops) > 60
    assert max(d["attempt"] for d in drops) >= 16  # some slots were refilled from their second walk round
    assert s80.read_bytes().splitlines()[:60] == s60.read_bytes().splitlines()
    assert len(lines(s80)) == 80 and grown.read_bytes() == s80.read_bytes()
    produced = len(lines(short))
    assert 0 < produced < 60 and f"{produced} of 60 samples" in err
    assert "raise max_attempts (now 8" in err and f"-n {produced}" in err


def test_a_graph_too_small_for_n_stops_short_with_the_count_and_the_remedy(tmp_path, capsys):
    """A teacher that writes one question per concept combination, on a graph with few of them."""
    records = [Concepts(id="0", question="Seed question: how many apples are left?", topics=["Fractions", "Ratios"],
                        knowledge_points=["Simplify"], model="m", prompt="p")]  # fmt: skip
    graph, _ = build_graph(records)
    save_graph(graph, tmp_path / "tiny.json")

    def responder(req):
        concepts = re.search(r"Topics: (.*)\nKnowledge points: (.*)", req["messages"][-1]["content"]).groups()
        return reply_as_asked(req, {"question": f"A question that combines {concepts[0]} with {concepts[1]}: what is 6 / 3?",
                                    "solution": "Divide six by three step by step to get two.", "answer": "2"})  # fmt: skip

    out = tmp_path / "s.jsonl"
    with FakeServer(responder=responder) as server:
        assert run([str(tmp_path / "tiny.json"), "-n", "6", "--out", str(out)], server, tmp_path) == 3
        calls = server.counts["ok"]
        first = capsys.readouterr()
        assert run([str(tmp_path / "tiny.json"), "-n", "6", "--out", str(out)], server, tmp_path) == 3
        assert server.counts["ok"] == calls  # a rerun knows the dry slots: no request
    report = json.loads((tmp_path / "s.report.json").read_text())
    produced = report["produced"]
    assert 1 <= produced < 6 and len(lines(out)) == produced and report["exhausted_slots"] == 6 - produced
    skipped = report["walks_skipped_as_repeated_compositions"]  # the one concept set is asked for once
    assert calls == produced + report["dropped_total"] - skipped and report["dropped_total"] >= 64 * (6 - produced)
    message = first.err
    assert f"{produced} of 6 samples" in message and f"{6 - produced} slots used all 64 attempts" in message
    assert "2 topics, 1 knowledge points" in message
    assert "more seed questions" in message and "raise max_attempts" in message and f"-n {produced}" in message
    assert capsys.readouterr().err == message  # the rerun says the same


@pytest.mark.parametrize(
    "args, message",
    [
        (["-n", "0"], "the number of samples must be positive"),
        (["-n", "5", "--shard", "3/2"], "--shard '3/2': expected i/k"),
        (["-n", "5", "--out-under-a-file"], "is a file, so folder"),
        (["-n", "5", "--not-a-graph"], "not a mathscale concept graph"),
        (["-n", "5", "max_attempts=2000"], "max_attempts=2000: must be between 1 and 1024"),
    ],
)
def test_bad_input_fails_before_any_request(graph_path, tmp_path, capsys, args, message):
    graph, out = str(graph_path), str(tmp_path / "s.jsonl")
    if "--out-under-a-file" in args:
        (tmp_path / "blocker").write_text("")
        args, out = args[:-1], str(tmp_path / "blocker" / "s.jsonl")
    if "--not-a-graph" in args:
        args, graph = args[:-1], str(tmp_path / "other.json")
        Path(graph).write_text(json.dumps({"directed": False, "graph": {}, "nodes": [], "edges": []}))
    with FakeServer(responder=qa_responder) as server:
        assert run([graph, *args, "--out", out], server, tmp_path) == 2
        assert server.counts.get("ok", 0) == 0
    assert message in capsys.readouterr().err


def test_main_takes_one_complete_config_as_run_calls_it(graph_path, tmp_path, capsys):
    """``main(cfg)`` with the paths in the config, no argv; the same config from a file reruns it by hand."""
    from mathscale.config import dump_config
    from mathscale.generate.command import GenerateResult
    from mathscale.generate.command import main as generate_main
    from mathscale.generate.config import GenerateConfig
    from mathscale.llm.config import LLMConfig

    out = tmp_path / "s.jsonl"
    with FakeServer(responder=qa_responder) as server:
        llm = LLMConfig(base_urls=[server.base_url], cache_path=f"{tmp_path}/cache.sqlite", progress=False)
        cfg = GenerateConfig(llm=llm, graph=str(graph_path), out=str(out), n=6, dataset=False)
        assert generate_main(cfg) == GenerateResult(out, tmp_path / "s.report.json", 6, 6, None)
        assert run([str(graph_path), "-n", "6", "--out", str(tmp_path / "cli.jsonl")], server, tmp_path) == 0
        (tmp_path / "generate.yaml").write_text(dump_config(cfg))
        calls = server.counts["ok"]
        # no GRAPH on the command line: the override after --config is not taken for one
        assert main(["generate", "--config", str(tmp_path / "generate.yaml"), "llm.concurrency=2"]) == 0
        assert "nothing to generate" in capsys.readouterr().out  # the file is finished: no request
        assert server.counts["ok"] == calls
    assert out.read_bytes() == (tmp_path / "cli.jsonl").read_bytes()
    assert json.loads((tmp_path / "s.report.json").read_text())["graph"] == str(graph_path)
    capsys.readouterr()
    assert main(["generate", "-n", "5", "--out", str(tmp_path / "x.jsonl")]) == 2
    assert "no GRAPH given (or graph: in the config)" in capsys.readouterr().err


@pytest.mark.slow
def test_real_generation_with_the_embedded_model(graph_path, tmp_path):
    out = tmp_path / "s.jsonl"
    assert main(["generate", str(graph_path), "-n", "2", "--out", str(out), f"llm.cache_path={tmp_path}/c.sqlite",
                 "llm.progress=false", "max_tokens=400", "dataset=false"]) == 0  # fmt: skip
    report = json.loads((tmp_path / "s.report.json").read_text())
    assert report["llm"]["model"] == "qwen2.5-coder-0.5b" and report["llm"]["api_calls"] >= 2
    samples = lines(out)
    assert report["produced"] == len(samples) and report["produced"] + report["exhausted_slots"] == 2
    # the default prompt's tagged reply, as the real model writes it, is read (2 of 2 here, no drop)
    assert report["config"]["prompt"] == "generate_qa.v2" and report["produced"] >= 1
    for s in samples:
        assert len(s["question"]) >= 20 and s["answer"].strip()


def test_examples_share_the_most_concepts_and_reach_the_prompt(graph_path, tmp_path):
    from mathscale.generate.examples import ExampleIndex

    index = ExampleIndex([[["Algebra"], ["Factoring", "Roots"]], [["Algebra"], ["Roots"]], [["Geometry"], ["Area"]]],
                         ["q-factor-roots", "q-roots", "q-area"])  # fmt: skip
    assert index.pick(["Algebra"], ["Factoring", "Roots"], 2, salt=0) == ["q-factor-roots", "q-roots"]
    assert index.pick(["Geometry"], [], 5, salt=0) == ["q-area"]
    assert index.pick(["Calculus"], ["Limits"], 2, salt=0) == []

    prompts = []

    def responder(req):
        prompts.append(req["messages"][-1]["content"])
        return qa_responder(req)

    with FakeServer(responder=responder) as server:
        run([str(graph_path), "-n", "3", "--out", str(tmp_path / "s.jsonl")], server, tmp_path)
    assert all("Example questions on these concepts" in p and "Seed question number" in p for p in prompts)


@pytest.mark.slow
def test_real_generation_through_a_configured_endpoint(graph_path, tmp_path):
    """A real llama.cpp server started outside mathscale, given as llm.base_urls."""
    from mathscale.llm.local import LocalServer
    from mathscale.models.gguf import resolve_model

    out = tmp_path / "s.jsonl"
    with LocalServer(resolve_model("qwen2.5-coder-0.5b"), alias="served-qwen") as server:
        assert main(["generate", str(graph_path), "-n", "2", "--out", str(out), f"llm.base_urls=[{server.base_url}]",
                     "llm.concurrency=2", f"llm.cache_path={tmp_path}/c.sqlite", "llm.progress=false",
                     "max_tokens=400", "dataset=false"]) == 0  # fmt: skip
    report = json.loads((tmp_path / "s.report.json").read_text())
    assert report["llm"]["model"] == "served-qwen"  # discovered from the endpoint's /models
    assert report["produced"] == len(lines(out)) >= 1 and report["produced"] + report["exhausted_slots"] == 2


def test_a_concept_set_is_requested_once_and_repeats_are_counted(tmp_path):
    records = [Concepts(id=str(i), question=f"Seed {i}: how many?", topics=t, knowledge_points=k, model="m", prompt="p")
               for i, (t, k) in enumerate([(["A", "B"], ["x", "y"]), (["B", "C"], ["y", "z"]), (["A", "C"], ["x", "z"])])]  # fmt: skip
    graph, _ = build_graph(records)
    path = tmp_path / "small.json"
    save_graph(graph, path)
    out = tmp_path / "s.jsonl"
    with FakeServer(responder=qa_responder) as server:
        code = run([str(path), "-n", "6", "--out", str(out)], server, tmp_path, "max_attempts=16", "llm.cache=false")
        requests = server.counts["ok"]
    samples = lines(out)
    sets = [(frozenset(s["topics"]), frozenset(s["knowledge_points"])) for s in samples]
    report = json.loads((tmp_path / "s.report.json").read_text())
    assert len(samples) >= 4 and len(set(sets)) == len(samples)  # a tiny graph has few concept sets
    assert report["produced"] + report["exhausted_slots"] == 6 and code == (0 if report["produced"] == 6 else 3)
    drops = lines(tmp_path / "s.drops.jsonl")
    repeated = [d for d in drops if d["reason"] == "repeated_composition"]
    assert repeated and requests == len(samples) + len(drops) - len(repeated)  # no request for a repeat
    assert report["walks_skipped_as_repeated_compositions"] == len(repeated) == report["dropped"]["repeated_composition"]

    from mathscale.generate.repeated_walks import RepeatedWalks
    from mathscale.graph.sampler import Sampler

    sampler = Sampler.from_graph(graph)
    from mathscale.generate.pipeline import walk_index

    small, large = RepeatedWalks(sampler, 0, 6, 16, walk_index), RepeatedWalks(sampler, 0, 9, 16, walk_index)
    assert all(small(s, a) == large(s, a) for s in range(6) for a in range(20))  # a larger run keeps the prefix
