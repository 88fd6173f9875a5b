"""Bad input and signals against real ``mathscale`` processes (issue 22, cases 10-12).

Every bad input is one line on stderr and a non-zero exit, never a traceback; a signal
gives 130 (SIGINT) or 143 (SIGTERM) with the output whole. The endpoint is the fake
OpenAI-compatible server on loopback, in this process; the command under test is a
child process, so signals and exit statuses are the real ones.
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

from mathscale.records import Concepts
from tests.support import REPO
from tests.support.fake_server import FakeServer, concepts_responder
from tests.support.tiny import arithmetic_samples

SCRIPT = Path(sys.executable).parent / "mathscale"


def mathscale_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "MATHSCALE_CACHE": str(tmp_path / "cache"), **extra}
    env.pop("OPENAI_BASE_URL", None)
    return env


def mathscale(tmp_path: Path, *args: str, env: dict[str, str] | None = None, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([str(SCRIPT if SCRIPT.exists() else "mathscale"), *map(str, args)], cwd=tmp_path,
                          env=env or mathscale_env(tmp_path), capture_output=True, text=True, timeout=300, **kwargs)  # fmt: skip


def one_error_line(done: subprocess.CompletedProcess) -> str:
    """The command failed with exactly one ``mathscale: error:`` line and no traceback."""
    assert done.returncode != 0, done.stdout
    assert "Traceback" not in done.stderr, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("mathscale:")]
    assert len(lines) == 1, done.stderr
    return lines[0]


def write_seeds(path: Path, n: int) -> Path:
    path.write_text("".join(json.dumps({"id": f"s{i}", "question": f"A farmer has {i} cows and buys {i + 2} "
                                        "more. How many cows does he have?"}) + "\n" for i in range(n)))  # fmt: skip
    return path


# -- files that are not UTF-8 --------------------------------------------------------------


def latin1_second_line(path: Path, first: dict) -> tuple[Path, int]:
    """A JSONL file whose first line is ``first`` and whose second holds a Latin-1 byte;
    returns the path and the byte offset of that byte in the file."""
    head = (json.dumps(first) + "\n").encode()
    second = b'{"id": "b", "question": "caf'
    path.write_bytes(head + second + b'\xe9 au lait"}\n')
    return path, len(head) + len(second)


def concept_line() -> dict:
    return Concepts(id="a", question="What is 1+1?", topics=["Arithmetic"], knowledge_points=["Addition"],
                    model="m", prompt="extract_concepts.v2").to_json()  # fmt: skip


@pytest.mark.parametrize("command", ["graph extract", "graph build", "grade", "train --dry-run", "run --dry-run"])
def test_input_not_utf8_names_file_line_and_byte_offset(tmp_path, command):
    first = {"graph extract": {"id": "a", "question": "What is 1+1?"}, "graph build": concept_line(),
             "grade": {"completion": "4", "answer": "4"}, "train --dry-run": arithmetic_samples(1)[0],
             "run --dry-run": {"id": "a", "question": "What is 1+1?"}}[command]  # fmt: skip
    bad, offset = latin1_second_line(tmp_path / "in.jsonl", first)
    args = {
        "graph extract": ["graph", "extract", bad, "--out", "c.jsonl", "llm.base_urls=[http://127.0.0.1:9/v1]"],
        "graph build": ["graph", "build", bad, "--out", "g.json"],
        "grade": ["grade", bad, "--out", "graded.jsonl"],
        "train --dry-run": ["train", "--data", bad, "--model", "smollm2-135m", "--out", "t", "--dry-run"],
        "run --dry-run": ["run", tmp_path / "run.yaml", "--dry-run"],
    }[command]
    (tmp_path / "run.yaml").write_text(f"seeds: {bad}\nout: {tmp_path / 'r'}\nbase_model: smollm2-135m\n")
    line = one_error_line(mathscale(tmp_path, *args))
    assert f"{bad}:2: not UTF-8 text (byte 0xe9 at byte offset {offset})" in line
    assert not (tmp_path / "c.jsonl").exists() and not (tmp_path / "g.json").exists()


@pytest.mark.parametrize("command", [["graph", "sample", "g.json", "--out", "x.jsonl", "--config"], ["run", "--dry-run"]])
def test_config_not_utf8_names_file_line_and_byte_offset(tmp_path, command):
    cfg = tmp_path / "bad.yaml"
    cfg.write_bytes(b"n: 5\nseed: \xff\n")
    line = one_error_line(mathscale(tmp_path, *command, cfg))
    assert f"{cfg}:2: not UTF-8 text (byte 0xff at byte offset 11)" in line


# -- caches that cannot be written ---------------------------------------------------------


@pytest.mark.parametrize("where", ["MATHSCALE_CACHE", "llm.cache_path"])
def test_an_unwritable_cache_is_one_line_before_any_request(tmp_path, where):
    blocker = tmp_path / "a-file"
    blocker.write_text("a file where a folder should be\n")
    seeds = write_seeds(tmp_path / "seeds.jsonl", 3)
    with FakeServer(responder=concepts_responder) as server:
        args = ["graph", "extract", seeds, "--out", "c.jsonl", f"llm.base_urls=[{server.base_url}]"]
        if where == "MATHSCALE_CACHE":
            done = mathscale(tmp_path, *args, env=mathscale_env(tmp_path, MATHSCALE_CACHE=str(blocker / "cache")))
        else:
            done = mathscale(tmp_path, *args, f"llm.cache_path={blocker}/c.sqlite")
        asked = server.counts["ok"]
    line = one_error_line(done)
    assert "cannot open the LLM response cache (" in line and str(blocker) in line
    assert "llm.cache_path" in line and "llm.cache=false" in line
    assert asked == 0 and not (tmp_path / "c.jsonl").exists()


# -- settings that cannot work are refused at config load ----------------------------------


@pytest.mark.parametrize(("args", "expected"), [
    (["graph", "extract", "s.jsonl", "--out", "c.jsonl", "llm.max_retries=-1"], "key 'llm.max_retries': expected a number >= 0, got -1"),
    (["graph", "extract", "s.jsonl", "--out", "c.jsonl", "llm.concurrency=0"], "key 'llm.concurrency': expected a number >= 1, got 0"),
    (["graph", "extract", "s.jsonl", "--out", "c.jsonl", "llm.temperature=-5"], "key 'llm.temperature': expected a number >= 0, got -5"),
    (["graph", "extract", "s.jsonl", "--out", "c.jsonl", "llm.max_tokens=0"], "key 'llm.max_tokens': expected a number >= 1, got 0"),
    (["generate", "g.json", "--out", "s.jsonl", "dedup.num_perm=0"], "key 'dedup.num_perm': expected a number >= 1, got 0"),
    (["generate", "g.json", "--out", "s.jsonl", "dedup.near_threshold=2"], "key 'dedup.near_threshold': expected a number > 0 and <= 1, got 2"),
    (["generate", "g.json", "--out", "s.jsonl", "filters.min_question_chars=500", "filters.max_question_chars=100"],
     "filters.min_question_chars=500 is above filters.max_question_chars=100"),
    (["grade", "p.jsonl", "workers=0"], "key 'workers': expected a number >= 1, got 0"),
    (["train", "--data", "s.jsonl", "--out", "t", "learning_rate=0"], "key 'learning_rate': expected a number > 0, got 0"),
])  # fmt: skip
def test_a_setting_out_of_range_is_refused_at_load_with_the_range(tmp_path, args, expected):
    line = one_error_line(mathscale(tmp_path, *args))
    assert expected in line
    assert list(tmp_path.iterdir()) == []  # nothing written, no input even read


def test_a_range_error_from_a_config_file_names_the_file(tmp_path):
    cfg = tmp_path / "extract.yaml"
    cfg.write_text("llm:\n  concurrency: 0\n")
    line = one_error_line(mathscale(tmp_path, "graph", "extract", "s.jsonl", "--out", "c.jsonl", "--config", cfg))
    assert line == f"mathscale: error: {cfg}: key 'llm.concurrency': expected a number >= 1, got 0"


# -- graph extract when nothing comes out --------------------------------------------------


def test_extract_when_every_request_fails_says_so_and_leaves_every_seed_pending(tmp_path):
    # Transport failures are pending, not failures (tests/test_faults_endpoint.py): the line says so,
    # the report counts them, and no empty output is left to be read back as a bad file.
    seeds = write_seeds(tmp_path / "seeds.jsonl", 6)
    with FakeServer(faults={"500": 1.0}) as server:
        done = mathscale(tmp_path, "graph", "extract", seeds, "--out", "c.jsonl", f"llm.base_urls=[{server.base_url}]",
                         "llm.cache=false", "llm.max_retries=0")  # fmt: skip
    assert done.returncode == 4
    line = one_error_line(done)
    assert line.startswith("mathscale: error: c.jsonl: 6 of 6 seeds are pending: their requests failed after the client's retries (http_500 6;")
    assert "internal error" in line
    assert (tmp_path / "c.failures.jsonl").read_text() == ""
    report = json.loads((tmp_path / "c.report.json").read_text())
    assert report["extracted"] == 0 and report["failures"] == {} and report["pending"] == 6 and report["usage"]["requests"] == 6
    assert not (tmp_path / "c.jsonl").exists()  # no empty output left behind


def test_extract_when_every_seed_is_rejected_exits_non_zero_naming_only_files_it_wrote(tmp_path):
    seeds = tmp_path / "seeds.jsonl"
    seeds.write_text('{"id": "x"}\n{"foo": 1}\n')
    with FakeServer(responder=concepts_responder) as server:
        done = mathscale(tmp_path, "graph", "extract", seeds, "--out", "c.jsonl", f"llm.base_urls=[{server.base_url}]")
        asked = server.counts["ok"]
    line = one_error_line(done)
    assert line.startswith(f"mathscale: error: {seeds}: none of its 2 lines is a usable seed (bad_seed 2; e.g. {seeds}:1:")
    assert "c.failures.jsonl" in line and "c.jsonl" not in line.replace("c.failures.jsonl", "")
    assert asked == 0 and not (tmp_path / "c.jsonl").exists()
    assert len((tmp_path / "c.failures.jsonl").read_text().splitlines()) == 2


def test_a_huge_seed_is_dropped_and_counted_not_sent(tmp_path):
    seeds = write_seeds(tmp_path / "seeds.jsonl", 1)
    with seeds.open("a") as handle:
        handle.write(json.dumps({"id": "big", "question": "How many? " + "x " * 2_500_000}) + "\n")  # 5 MB
    with FakeServer(responder=concepts_responder) as server:
        done = mathscale(tmp_path, "graph", "extract", seeds, "--out", "c.jsonl", f"llm.base_urls=[{server.base_url}]")
        asked = server.counts["ok"]
    assert done.returncode == 0, done.stderr
    assert asked == 1  # only the ordinary seed reached the endpoint
    failures = [json.loads(x) for x in (tmp_path / "c.failures.jsonl").read_text().splitlines()]
    assert [(f["id"], f["reason"]) for f in failures] == [("big", "prompt_too_long")]
    assert "over llm.max_prompt_chars=100,000" in failures[0]["detail"]
    assert "1 failed (prompt_too_long 1)" in done.stdout


# -- signals during graph extract ----------------------------------------------------------


@pytest.mark.parametrize(("sig", "status", "word"), [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")])
def test_a_signal_during_extract_exits_130_or_143_with_the_output_whole(tmp_path, sig, status, word):
    seeds = write_seeds(tmp_path / "seeds.jsonl", 200)
    with FakeServer(responder=concepts_responder, latency_s=0.3) as server:
        args = ["graph", "extract", seeds, "--out", "c.jsonl", f"llm.base_urls=[{server.base_url}]", "llm.concurrency=4",
                f"llm.cache_path={tmp_path / 'cache.sqlite'}"]  # fmt: skip
        # SIGINT as a terminal delivers it, even when pytest itself was started in the background
        # (`(cmd &)` hands its children SIGINT ignored, and Python then keeps it ignored)
        proc = subprocess.Popen([str(SCRIPT if SCRIPT.exists() else "mathscale"), *map(str, args)], cwd=tmp_path,
                                env=mathscale_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # fmt: skip
        out = tmp_path / "c.jsonl"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (not out.exists() or len(out.read_text().splitlines()) < 8):
            time.sleep(0.1)
        proc.send_signal(sig)
        _, stderr = proc.communicate(timeout=60)
        assert proc.returncode == status, stderr
        assert "Traceback" not in stderr and "aclose()" not in stderr, stderr
        assert [x for x in stderr.splitlines() if x.startswith("mathscale:")] == [
            f"mathscale: {word}; what finished is kept, rerun the same command to resume"]  # fmt: skip
        raw = out.read_bytes()
        assert raw.endswith(b"\n")
        kept = [json.loads(x)["id"] for x in raw.decode().splitlines()]
        assert 8 <= len(kept) < 200
        usage = json.loads((tmp_path / "c.usage.json").read_text())
        assert usage["total"]["requests"] >= len(kept)  # the interrupted run's requests are counted

        done = mathscale(tmp_path, *args)  # the rerun completes exactly the rest
    assert done.returncode == 0, done.stderr
    ids = [json.loads(x)["id"] for x in out.read_text().splitlines()]
    assert len(ids) == len(set(ids)) == 200 and ids[: len(kept)] == kept
    assert f"({len(kept)} already there)" in done.stdout


def test_usage_is_on_disk_while_extract_runs_so_a_sigkill_loses_at_most_a_second(tmp_path):
    seeds = write_seeds(tmp_path / "seeds.jsonl", 200)
    with FakeServer(responder=concepts_responder, latency_s=0.3) as server:
        args = ["graph", "extract", seeds, "--out", "c.jsonl", f"llm.base_urls=[{server.base_url}]", "llm.concurrency=4",
                "llm.cache=false"]  # fmt: skip
        proc = subprocess.Popen([str(SCRIPT if SCRIPT.exists() else "mathscale"), *map(str, args)], cwd=tmp_path,
                                env=mathscale_env(tmp_path), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        out = tmp_path / "c.jsonl"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (not out.exists() or len(out.read_text().splitlines()) < 20):
            time.sleep(0.1)
        time.sleep(1.2)  # one more write of the usage file is due by now
        proc.kill()
        proc.wait(timeout=30)
        answered = server.counts["ok"]
    records = len(out.read_text().splitlines())
    usage = json.loads((tmp_path / "c.usage.json").read_text())["invocations"]
    assert len(usage) == 1 and 20 <= usage[0]["requests"] <= answered
    assert usage[0]["requests"] >= records - 4 * 4  # behind by at most about a second of replies


# -- model files ---------------------------------------------------------------------------


def test_eval_of_a_truncated_safetensors_is_one_line(tmp_path):
    from tests.support.tiny import build_tiny_model

    model = build_tiny_model(tmp_path / "tiny")
    weights = next(model.glob("*.safetensors"))
    os.truncate(weights, weights.stat().st_size // 2)
    bench = tmp_path / "b.jsonl"
    bench.write_text(json.dumps({"data_topic": "t", "question": "What is 2+2?", "answer": "4"}) + "\n")
    line = one_error_line(mathscale(tmp_path, "eval", "--model", model, "--benchmarks", bench, "--out", "ev",
                                    "--template", "alpaca"))  # fmt: skip
    assert line.startswith(f"mathscale: error: {model}: cannot load the model (SafetensorError:")
    assert not (tmp_path / "ev" / "metrics.json").exists()


# -- multi-node training with node-local output folders ------------------------------------


@pytest.mark.slow
def test_two_node_training_on_loopback_with_node_local_folders_exits_0_on_both(tmp_path):
    """Two real `mathscale train` processes, ranks 0 and 1 of a two-node ZeRO-2 run (about 2 min on 2 cores)."""
    import socket

    from tests.support.tiny import build_tiny_model

    model = build_tiny_model(tmp_path / "tiny")
    data = tmp_path / "s.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in arithmetic_samples(32)))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    common = ["train", "--data", data, "--model", model, "--deepspeed", "zero2", "--num-machines", "2",
              "--num-processes", "1", "launch.main_address=127.0.0.1", f"launch.main_port={port}", "launch.device=cpu",
              "max_steps=2", "logging_steps=1", "per_device_batch_size=4", "dataloader_num_workers=0"]  # fmt: skip
    script = str(SCRIPT if SCRIPT.exists() else "mathscale")
    procs = [subprocess.Popen([script, *map(str, common), "--out", tmp_path / f"node{rank}", f"launch.machine_rank={rank}"],
                              cwd=tmp_path, env=mathscale_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for rank in (0, 1)]  # fmt: skip
    results = [p.communicate(timeout=550) for p in procs]
    for proc, (_, stderr) in zip(procs, results):
        assert proc.returncode == 0, stderr[-3000:]
        assert "Traceback" not in stderr
    metrics = json.loads((tmp_path / "node0" / "train_metrics.json").read_text())
    assert metrics["world_size"] == 2 and metrics["global_step"] == 2
    assert any((tmp_path / "node0").glob("*.safetensors"))
    assert not (tmp_path / "node1" / "train_metrics.json").exists()
    assert "node 1 of 2: training finished" in results[1][1]


# -- benchmarks and messages ---------------------------------------------------------------


def test_decontamination_reads_a_benchmark_record_with_an_empty_answer(tmp_path, capsys):
    from mathscale.generate.decontaminate import benchmark_questions

    folder = tmp_path / "bench"
    folder.mkdir()
    (folder / "gaokao.jsonl").write_text(
        json.dumps({"data_topic": "g", "question": "Find x if 2x = 6.", "answer": "3"}) + "\n"
        + json.dumps({"data_topic": "g", "question": "Prove that the sequence is bounded.", "answer": ""}) + "\n"
    )  # fmt: skip
    questions = [q for _, q in benchmark_questions([str(folder)])]
    assert questions == ["Find x if 2x = 6.", "Prove that the sequence is bounded."]
    assert "decontamination: 1 benchmark records have no answer" in capsys.readouterr().out


@pytest.mark.parametrize(("produced", "suggested"), [(0, False), (7, True)])
def test_the_shortfall_message_never_suggests_n_0(tmp_path, produced, suggested):
    import networkx as nx

    from mathscale.generate.report import shortfall_message

    graph = nx.Graph()
    graph.add_node("t", kind="topic")
    report = {"produced": produced, "requested": 10, "dropped": {"dedup": 40}, "exhausted_slots": 10 - produced,
              "config": {"max_attempts": 4}}  # fmt: skip
    text = shortfall_message(report, tmp_path / "s.jsonl", graph)
    assert "-n 0" not in text
    assert (f"ask for fewer (-n {produced})" in text) is suggested


def test_generate_usage_is_on_disk_while_it_runs_so_a_sigkill_keeps_the_count(tmp_path):
    import random

    from mathscale.graph.build import build_graph, save_graph
    from tests.support.fake_server import qa_responder

    rng = random.Random(0)
    records = [Concepts(id=str(i), question=f"Seed question number {i}: how many apples are left?",
                        topics=rng.sample([f"Topic {t}" for t in range(6)], 2),
                        knowledge_points=rng.sample([f"Skill {k}" for k in range(20)], 3), model="m", prompt="p")
               for i in range(40)]  # fmt: skip
    graph, _ = build_graph(records)
    save_graph(graph, tmp_path / "graph.json")
    with FakeServer(responder=qa_responder, latency_s=0.3) as server:
        args = ["generate", tmp_path / "graph.json", "-n", "200", "--out", "s.jsonl", f"llm.base_urls=[{server.base_url}]",
                "llm.concurrency=4", "llm.cache=false"]  # fmt: skip
        proc = subprocess.Popen([str(SCRIPT if SCRIPT.exists() else "mathscale"), *map(str, args)], cwd=tmp_path,
                                env=mathscale_env(tmp_path), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        # Kill once the file, read while the run goes on, counts 20 requests: a kill timed by the
        # server's count raced the once-a-second write on a loaded CI machine (13 of 32 on disk).
        usage_file, seen = tmp_path / "s.usage.json", 0
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and seen < 20 and proc.poll() is None:
            time.sleep(0.05)
            if usage_file.exists():  # written atomically: never half a file
                seen = json.loads(usage_file.read_text())["invocations"][0]["requests"]
        proc.kill()
        proc.wait(timeout=30)
        answered = server.counts["ok"]
    usage = json.loads(usage_file.read_text())["invocations"]
    assert seen >= 20, seen  # on disk while it ran
    assert len(usage) == 1 and seen <= usage[0]["requests"] <= answered, (seen, answered)  # the kill lost none of it
