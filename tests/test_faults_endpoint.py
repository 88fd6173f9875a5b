"""An endpoint that fails is never an answer (issue 22, cases 1-4), with real ``mathscale`` processes.

A fake OpenAI endpoint on 127.0.0.1 (:mod:`tests.support.fake_server`, which refuses a wrong
key and an unknown model as the real service does) answers 500, 401, HTML, too slowly or with
replies in the wrong form. Each test runs the command, asserts that nothing pending was written,
graded or counted as an attempt, then lets the endpoint recover and asserts that the rerun does
exactly the pending work; no test may see a traceback.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support import REPO
from tests.support.fake_server import FakeServer, qa_fields, qa_responder

PENDING = 4  # PendingError.exit_code


def bench(tmp_path: Path, n: int) -> Path:
    path = tmp_path / f"bench{n}.jsonl"
    rows = [{"data_topic": "gsm8k", "question": f"What is {i} + {i}?", "answer": str(2 * i)} for i in range(n)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def answer(request: dict) -> str:
    """A model that always answers, with the number the question asks for."""
    words = (request.get("prompt") or request["messages"][-1]["content"]).split("What is ")[1].split()
    return f"The answer is {2 * int(words[0])}."


def mathscale(args: list[str], server: FakeServer, tmp_path: Path, *extra: str, key: str | None = None,
              wait: bool = True) -> subprocess.CompletedProcess | subprocess.Popen:  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO), "MATHSCALE_CACHE": str(tmp_path / "mcache")}
    env.pop("OPENAI_BASE_URL", None)
    env.pop("OPENAI_API_KEY", None)
    if key is not None:
        env["OPENAI_API_KEY"] = key
    cmd = [sys.executable, "-m", "mathscale.cli", *args, f"llm.base_urls=[{server.base_url}]",
           f"llm.cache_path={tmp_path}/cache.sqlite", "llm.backoff_s=0.01", "llm.timeout_s=2", "llm.progress=false",
           *extra]  # fmt: skip
    if not wait:
        return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180)
    assert "Traceback" not in done.stderr, done.stderr
    return done


def error_line(done: subprocess.CompletedProcess) -> str:
    lines = [line for line in done.stderr.splitlines() if line.startswith("mathscale: error:")]
    assert len(lines) == 1, done.stderr
    return lines[0]


def requests_seen(server: FakeServer) -> int:
    return sum(n for what, n in server.counts.items() if what != "models")


def predictions(out: Path) -> list[dict]:
    return [json.loads(line) for path in (out / "predictions").glob("*.jsonl") for line in path.read_text().splitlines()]


# -- eval --backend openai -------------------------------------------------------------------


def test_eval_against_a_failing_endpoint_writes_nothing_and_the_rerun_completes_every_item(tmp_path):
    data, out = bench(tmp_path, 5), tmp_path / "eval"
    args = ["eval", "--backend", "openai", "--benchmarks", str(data), "--out", str(out)]
    with FakeServer(responder=answer, faults={"500": 1.0}) as server:
        failed = mathscale(args, server, tmp_path, "llm.max_retries=2")
        assert failed.returncode == PENDING
        line = error_line(failed)
        assert "5 of 5 items are pending" in line and "http_500" in line and "internal error" in line
        assert server.counts["500"] == 15  # 3 tries each, none graded
        assert not (out / "metrics.json").exists() and predictions(out) == []

        server.faults = {}
        rerun = mathscale(args, server, tmp_path)
    assert rerun.returncode == 0, rerun.stderr
    assert server.counts["ok"] == 5
    rows = predictions(out)
    assert len(rows) == 5 and all(r["completion"].startswith("The answer is") and r["correct"] for r in rows)
    assert json.loads((out / "metrics.json").read_text())["micro"] == 1.0


def test_eval_rerun_asks_only_for_the_items_that_failed(tmp_path):
    data, out = bench(tmp_path, 12), tmp_path / "eval"
    args = ["eval", "--backend", "openai", "--benchmarks", str(data), "--out", str(out)]
    with FakeServer(responder=answer, faults={"500": 0.4, "slow": 0.2}, slow_s=3, seed=2) as server:
        failed = mathscale(args, server, tmp_path, "llm.max_retries=0", "llm.timeout_s=0.5")
        assert failed.returncode == PENDING, failed.stderr
        kept = predictions(out)
        pending = 12 - len(kept)
        assert 0 < pending < 12 and f"{pending} of 12 items are pending" in error_line(failed)
        assert all(r["completion"].startswith("The answer is") for r in kept)  # no empty answer was saved
        assert not (out / "metrics.json").exists()

        server.faults, asked_before = {}, server.counts["ok"]
        rerun = mathscale(args, server, tmp_path)
    assert rerun.returncode == 0, rerun.stderr
    assert server.counts["ok"] - asked_before == pending  # exactly the pending items, nothing twice
    assert f"resuming: {12 - pending} of 12 items" in rerun.stdout
    assert json.loads((out / "metrics.json").read_text())["micro"] == 1.0


def test_eval_killed_keeps_every_finished_item(tmp_path):
    data, out = bench(tmp_path, 80), tmp_path / "eval"
    args = ["eval", "--backend", "openai", "--benchmarks", str(data), "--out", str(out), "llm.cache=false",
            "llm.concurrency=2"]  # fmt: skip
    with FakeServer(responder=answer, latency_s=0.02) as server:
        process = mathscale(args, server, tmp_path, wait=False)
        deadline = time.time() + 60
        while server.counts["ok"] < 30 and time.time() < deadline:
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)
        process.wait()
        answered = server.counts["ok"]
        kept = len(predictions(out))
        assert answered >= 30 and kept >= answered - 2  # at most the two in flight are lost
        rerun = mathscale(args, server, tmp_path)
    assert rerun.returncode == 0, rerun.stderr
    assert server.counts["ok"] - answered == 80 - kept
    assert len(predictions(out)) == 80


def test_eval_against_an_html_proxy_page_is_pending_with_its_text(tmp_path):
    data, out = bench(tmp_path, 3), tmp_path / "eval"
    with FakeServer(responder=answer, faults={"garbage": 1.0}) as server:
        failed = mathscale(["eval", "--backend", "openai", "--benchmarks", str(data), "--out", str(out)], server,
                           tmp_path, "llm.max_retries=1")  # fmt: skip
    assert failed.returncode == PENDING
    assert "bad_response 3" in error_line(failed) and "upstream proxy error" in error_line(failed)
    assert not (out / "metrics.json").exists() and predictions(out) == []


# -- generate --------------------------------------------------------------------------------


def test_generate_against_500_spends_no_attempt_and_the_rerun_fills_all_5_slots(graph_path, tmp_path):
    out = tmp_path / "s.jsonl"
    args = ["generate", str(graph_path), "-n", "5", "--out", str(out), "dataset=false"]
    with FakeServer(responder=qa_responder, faults={"500": 1.0}) as server:
        failed = mathscale(args, server, tmp_path, "llm.max_retries=1")
        assert failed.returncode == PENDING
        line = error_line(failed)
        assert "5 of 5 slots are pending" in line and "http_500" in line and "no attempt was counted" in line
        assert server.counts["500"] == 10  # 5 requests, 2 tries each: not 64 attempts per slot
        assert not out.exists() or out.read_text() == ""
        drops = tmp_path / "s.drops.jsonl"
        assert not drops.exists() or "llm_http" not in drops.read_text()
        assert json.loads((tmp_path / "s.report.json").read_text())["pending_slots"] == 5

        server.faults = {}
        rerun = mathscale(args, server, tmp_path)
    assert rerun.returncode == 0, rerun.stderr
    samples = [json.loads(line) for line in out.read_text().splitlines()]
    assert [s["meta"]["slot"] for s in samples] == [0, 1, 2, 3, 4]
    assert [s["meta"]["attempt"] for s in samples] == [0, 0, 0, 0, 0]  # the pending attempt itself was asked again
    assert server.counts["ok"] == 5


def test_generate_with_some_slots_pending_commits_in_slot_order_and_the_rerun_equals_a_clean_run(graph_path, tmp_path):
    args = ["generate", str(graph_path), "-n", "12", "dataset=false"]
    with FakeServer(responder=qa_responder, faults={"500": 0.3}, seed=5) as server:
        failed = mathscale([*args, "--out", str(tmp_path / "s.jsonl")], server, tmp_path, "llm.max_retries=0")
        assert failed.returncode == PENDING, failed.stderr
        server.faults = {}
        rerun = mathscale([*args, "--out", str(tmp_path / "s.jsonl")], server, tmp_path)
        assert rerun.returncode == 0, rerun.stderr
        clean = mathscale([*args, "--out", str(tmp_path / "clean.jsonl")], server, tmp_path,
                          f"llm.cache_path={tmp_path}/other.sqlite")  # fmt: skip
    assert clean.returncode == 0
    assert (tmp_path / "s.jsonl").read_text() == (tmp_path / "clean.jsonl").read_text()


@pytest.mark.parametrize("how", ["revoked key", "wrong key"])
def test_generate_with_a_rejected_key_stops_after_a_handful_of_requests(graph_path, tmp_path, how):
    out = tmp_path / "s.jsonl"
    args = ["generate", str(graph_path), "-n", "50", "--out", str(out), "dataset=false", "llm.concurrency=4"]
    faults, api_key = ({"401": 1.0}, None) if how == "revoked key" else ({}, "sk-right")
    with FakeServer(responder=qa_responder, faults=faults, api_key=api_key) as server:
        failed = mathscale(args, server, tmp_path, key="sk-wrong")
    assert failed.returncode == 2
    assert "refused the API key" in error_line(failed)
    assert requests_seen(server) <= 4  # what was in flight, no retry, no slot attempt
    assert not out.exists() or out.read_text() == ""


def test_generate_for_a_model_the_endpoint_lacks_stops_at_the_first_request(graph_path, tmp_path):
    with FakeServer(responder=qa_responder) as server:
        failed = mathscale(["generate", str(graph_path), "-n", "20", "--out", str(tmp_path / "s.jsonl")], server,
                           tmp_path, "llm.model=gpt-5-typo", "llm.concurrency=1")  # fmt: skip
    assert failed.returncode == 2
    line = error_line(failed)
    assert "HTTP 404" in line and "no model 'gpt-5-typo'" in line and "llm.model" in line
    assert server.counts["refused"] == 1


def test_the_circuit_breaker_stops_generate_on_an_endpoint_that_stays_down(graph_path, tmp_path):
    with FakeServer(responder=qa_responder, faults={"garbage": 1.0}) as server:
        failed = mathscale(["generate", str(graph_path), "-n", "200", "--out", str(tmp_path / "s.jsonl")], server,
                           tmp_path, "llm.max_retries=0", "llm.concurrency=4")  # fmt: skip
    assert failed.returncode == 2
    line = error_line(failed)
    assert "of the last 20 requests failed" in line and "<html>upstream proxy error</html>" in line
    assert requests_seen(server) <= 20 + 4  # the window, and what was in flight


def test_a_teacher_that_never_answers_in_the_asked_form_is_stopped_and_its_replies_can_be_asked_again(
    graph_path, tmp_path
):
    out = tmp_path / "s.jsonl"

    def command(name: str) -> list[str]:
        return ["generate", str(graph_path), "-n", "20", "--out", str(tmp_path / name), "dataset=false", "llm.concurrency=4"]

    args = command("s.jsonl")
    with FakeServer(responder=lambda request: json.dumps(qa_fields(request))) as server:  # JSON, not sections
        failed = mathscale(args, server, tmp_path)
        assert failed.returncode == 2
        line = error_line(failed)
        assert "none of the first 50 replies" in line and "### Question" in line and '{"question":' in line
        assert "llm.reask_unparsed=true" in line
        asked = requests_seen(server)
        assert asked <= 2 * (50 + 4)  # each reply and its one repair request, not 1,200

        server.responder = qa_responder  # the teacher is fixed (same model name)
        rerun = mathscale(args, server, tmp_path)
        assert rerun.returncode == 0, rerun.stderr
        assert len(out.read_text().splitlines()) == 20

        # The same command on a new output replays the unreadable cached replies (as drops, or
        # stopped by the guard when they are the first 50 replies) ...
        replay = mathscale(command("b.jsonl"), server, tmp_path)
        if replay.returncode == 2:
            assert "none of the first 50 replies" in error_line(replay) and "(from the cache)" in error_line(replay)
        else:
            assert replay.returncode == 0 and "llm_parse" in (tmp_path / "b.drops.jsonl").read_text()
        # ... unless asked to ask them again.
        seen = requests_seen(server)
        reask = mathscale(command("c.jsonl"), server, tmp_path, "llm.reask_unparsed=true")
        assert reask.returncode == 0
        drops = tmp_path / "c.drops.jsonl"
        assert not drops.exists() or "llm_parse" not in drops.read_text()
        assert requests_seen(server) > seen


# -- graph extract ---------------------------------------------------------------------------


def test_extract_against_500_leaves_the_seeds_pending_and_the_rerun_extracts_them(tmp_path):
    seeds, out = tmp_path / "seeds.jsonl", tmp_path / "c.jsonl"
    seeds.write_text("".join(json.dumps({"id": str(i), "question": f"What is {i} + {i}?"}) + "\n" for i in range(4)))
    reply = json.dumps({"topics": ["Arithmetic"], "knowledge_points": ["Addition"]})
    args = ["graph", "extract", str(seeds), "--out", str(out)]
    with FakeServer(responder=lambda request: reply, faults={"500": 1.0}) as server:
        failed = mathscale(args, server, tmp_path, "llm.max_retries=0")
        assert failed.returncode == PENDING
        assert "4 of 4 seeds are pending" in error_line(failed)
        assert not out.exists() or out.read_text() == ""
        assert (tmp_path / "c.failures.jsonl").read_text() == ""  # pending is not a failure
        server.faults = {}
        rerun = mathscale(args, server, tmp_path)
    assert rerun.returncode == 0, rerun.stderr
    assert len(out.read_text().splitlines()) == 4 and server.counts["ok"] == 4
