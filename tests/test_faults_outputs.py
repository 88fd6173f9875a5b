"""Issue 22, "an output belongs to one run" (cases 5-8) and a full disk (case 9), with real processes.

Every command here is a ``python -m mathscale.cli`` subprocess against the scripted fake endpoint;
the full disk is a real one: a small tmpfs mounted in a mount namespace of its own (``unshare -m``,
which needs root; the disk-full tests are skipped without it).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mathscale.graph.build import build_graph, save_graph
from mathscale.records import Concepts
from tests.support.fake_server import FakeServer, qa_responder

CLI = [sys.executable, "-m", "mathscale.cli"]


def mathscale(*args: object, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, timeout=timeout)


def llm_args(server: FakeServer, folder: Path) -> list[str]:
    return [f"llm.base_urls=[{server.base_url}]", f"llm.cache_path={folder}/cache.sqlite", "llm.backoff_s=0.01",
            "llm.timeout_s=5", "llm.progress=false", "dataset=false"]  # fmt: skip


def concept_records(folder: Path, seed: int = 0, name: str = "concepts.jsonl") -> Path:
    rng = random.Random(seed)
    topics, kps = [f"Topic {i}" for i in range(6)], [f"Skill {i}" for i in range(20)]
    path = folder / name
    with path.open("w") as handle:
        for i in range(40):
            record = Concepts(id=str(i), question=f"Seed question number {i}: how many apples are left?",
                              topics=rng.sample(topics, 2), knowledge_points=rng.sample(kps, 3), model="m", prompt="p")  # fmt: skip
            handle.write(json.dumps(record.to_json()) + "\n")
    return path


def make_graph(folder: Path, seed: int = 0, name: str = "graph.json") -> Path:
    records = [Concepts.from_json(json.loads(line), "") for line in concept_records(folder, seed).read_text().splitlines()]
    graph, _ = build_graph(records)
    save_graph(graph, folder / name)
    return folder / name


def one_error_line(proc: subprocess.CompletedProcess) -> str:
    """The command's error: one line, no traceback."""
    assert "Traceback" not in proc.stderr, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("mathscale: error:")]
    assert len(errors) == 1, proc.stderr
    return errors[0]


def lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()]


# --- case 6: an output that is an input, and a file the command did not write -----------------------


def test_an_output_equal_to_an_input_is_refused_and_the_input_kept(tmp_path):
    graph = make_graph(tmp_path)
    concepts = tmp_path / "concepts.jsonl"
    before = {p: p.read_bytes() for p in (graph, concepts)}
    os.link(graph, tmp_path / "hardlink.json")
    cases = [
        (["graph", "sample", graph, "-n", 5, "--out", graph], "is also the input GRAPH"),
        (["graph", "sample", graph, "-n", 5, "--out", tmp_path / "hardlink.json"], "is also the input GRAPH"),
        (["graph", "build", concepts, "--out", concepts], "is also the input CONCEPTS"),
        (["graph", "build", concepts, "--out", tmp_path / "g2.json", "--mapping", concepts], "is also the input CONCEPTS"),
        (["graph", "build", concepts, "--out", tmp_path / "g2.json", "--mapping", tmp_path / "g2.json"], "is also the input --out"),
        (["graph", "extract", concepts, "--out", concepts], "is also the input SEEDS"),
    ]
    for args, message in cases:
        proc = mathscale(*args)
        assert proc.returncode == 2 and message in one_error_line(proc), (args, proc.stderr)
    assert {p: p.read_bytes() for p in before} == before
    assert not (tmp_path / "g2.json").exists()


def test_sample_and_build_refuse_a_file_they_did_not_write_unless_forced(tmp_path):
    graph, concepts = make_graph(tmp_path), tmp_path / "concepts.jsonl"
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes, not compositions\n")
    for args in (["graph", "sample", graph, "-n", 5, "--out", notes], ["graph", "build", concepts, "--out", notes]):
        proc = mathscale(*args)
        assert proc.returncode == 2 and "exists and does not hold" in one_error_line(proc) and "--force" in proc.stderr
        assert notes.read_text() == "my notes, not compositions\n"
    out = tmp_path / "walks.jsonl"
    assert mathscale("graph", "sample", graph, "-n", 5, "--out", out).returncode == 0
    assert mathscale("graph", "sample", graph, "-n", 7, "--out", out).returncode == 0  # its own output: replaced
    assert len(lines(out)) == 7
    assert mathscale("graph", "build", concepts, "--out", tmp_path / "g.json").returncode == 0
    assert mathscale("graph", "build", concepts, "--out", tmp_path / "g.json").returncode == 0
    assert mathscale("graph", "sample", graph, "-n", 5, "--out", notes, "--force").returncode == 0
    assert len(lines(notes)) == 5


# --- case 5: one output, one process ----------------------------------------------------------------


def test_a_second_generate_on_the_same_output_is_refused_naming_the_first(tmp_path):
    graph, out = make_graph(tmp_path), tmp_path / "s.jsonl"
    with FakeServer(responder=qa_responder, latency_s=0.5) as server:
        args = [*CLI, "generate", graph, "-n", 20, "--out", out, "llm.concurrency=1", *llm_args(server, tmp_path)]
        first = subprocess.Popen(list(map(str, args)), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        lock = tmp_path / ".s.jsonl.lock"
        deadline = time.monotonic() + 30
        while not (lock.exists() and lock.read_text().strip()) and time.monotonic() < deadline:
            time.sleep(0.02)
        second = mathscale(*args[len(CLI):])
        first_out, first_err = first.communicate(timeout=120)
    assert second.returncode == 2
    assert f"in use by another mathscale process (PID {first.pid}" in one_error_line(second)
    assert first.returncode == 0, first_err
    samples = lines(out)
    assert len(samples) == 20 and sorted(s["meta"]["slot"] for s in samples) == list(range(20))
    assert not lock.exists()  # released at the end
    with FakeServer(responder=qa_responder) as server:  # the file resumes as one run's
        again = mathscale("generate", graph, "-n", 20, "--out", out, *llm_args(server, tmp_path))
    assert again.returncode == 0 and "already done" in again.stdout


# --- case 7: resume, extend and merge only what belongs to one run ------------------------------------


def test_resume_with_another_graph_or_prompt_is_refused(tmp_path):
    graph, other = make_graph(tmp_path), make_graph(tmp_path, seed=1, name="other.json")
    out = tmp_path / "s.jsonl"
    with FakeServer(responder=qa_responder) as server:
        assert mathscale("generate", graph, "-n", 4, "--out", out, *llm_args(server, tmp_path)).returncode == 0
        before = out.read_bytes()
        shutil.copy(other, graph)  # the same path, other content
        proc = mathscale("generate", graph, "-n", 8, "--out", out, *llm_args(server, tmp_path))
        assert proc.returncode == 2 and "made from another graph" in one_error_line(proc)
        graph = make_graph(tmp_path)  # back to the first graph: a prompt change is refused too
        proc = mathscale("generate", graph, "-n", 8, "--out", out, "prompt=generate_qa.v1", *llm_args(server, tmp_path))
        assert proc.returncode == 2 and "made with prompt" in one_error_line(proc)
        assert out.read_bytes() == before
        assert mathscale("generate", graph, "-n", 8, "--out", out, *llm_args(server, tmp_path)).returncode == 0
    assert len(lines(out)) == 8


def test_merge_needs_every_shard_of_one_run(tmp_path):
    graph = make_graph(tmp_path)
    with FakeServer(responder=qa_responder) as server:
        for i in range(2):
            args = ["generate", graph, "-n", 8, "--shard", f"{i}/2", "--out", tmp_path / f"s{i}.jsonl"]
            assert mathscale(*args, *llm_args(server, tmp_path)).returncode == 0
        args = ["generate", graph, "-n", 10, "--shard", "1/2", "--out", tmp_path / "n10.jsonl"]
        assert mathscale(*args, *llm_args(server, tmp_path)).returncode == 0
    merged = tmp_path / "m.jsonl"
    proc = mathscale("generate", "merge", tmp_path / "s0.jsonl", "--out", merged, "dataset=false")
    assert proc.returncode == 2 and "shard 1/2 of this run (-n 8) not given" in one_error_line(proc)
    proc = mathscale("generate", "merge", tmp_path / "s0.jsonl", tmp_path / "n10.jsonl", "--out", merged, "dataset=false")
    assert proc.returncode == 2 and "not a shard of the same run" in one_error_line(proc) and "-n 8 vs 10" in proc.stderr
    assert not merged.exists()
    proc = mathscale("generate", "merge", tmp_path / "s0.jsonl", "--out", merged, "--allow-partial", "dataset=false")
    assert proc.returncode == 0 and "shard 1/2 missing" in proc.stdout
    report = json.loads((tmp_path / "m.report.json").read_text())
    assert report["partial"] is True and report["missing_shards"] == ["1/2"]
    proc = mathscale("generate", "merge", tmp_path / "s0.jsonl", tmp_path / "s1.jsonl", "--out", merged, "dataset=false")
    assert proc.returncode == 0 and len(lines(merged)) == 8
    assert json.loads((tmp_path / "m.report.json").read_text())["missing_shards"] == []


# --- case 8: `run` reads what the outputs hold ------------------------------------------------------


def test_run_reruns_a_stage_whose_output_was_replaced_or_cut(tmp_path, capsys):
    from mathscale.keys import in_key
    from mathscale.run.stages import Stage, run_stages

    import dataclasses

    @dataclasses.dataclass
    class Make:
        n: int = in_key(8)

    made, calls = tmp_path / "samples.jsonl", []

    def append_main(cfg: Make) -> None:  # resumes like generate: completes what the file holds
        have = made.read_text().splitlines() if made.exists() else []
        calls.append(cfg.n - len(have))
        with made.open("a") as handle:
            handle.writelines(f"{i}\n" for i in range(len(have), cfg.n))

    def replace_main(cfg: Make) -> None:
        calls.append("graph")
        (tmp_path / "graph.json").write_text('{"made": true}\n')

    stages = [Stage("build", "build", replace_main, Make(), [tmp_path / "graph.json"]),
              Stage("generate", "generate", append_main, Make(), [made], ["build"], appends=True)]  # fmt: skip
    run_stages(stages, tmp_path)
    assert calls == ["graph", 8]
    run_stages(stages, tmp_path)
    assert calls == ["graph", 8] and capsys.readouterr().out.count("up to date") == 2
    (tmp_path / "graph.json").write_text("garbage")
    made.write_text("0\n1\n2\n")
    run_stages(stages, tmp_path)
    out = capsys.readouterr().out
    assert calls[2:] == ["graph", 5]  # the graph rebuilt, the samples completed: exactly the 5 missing
    assert "graph.json changed since the stage finished; running it again" in out
    assert "samples.jsonl changed since the stage finished; resuming it" in out
    assert list((tmp_path / "superseded").glob("build-*/graph.json"))[0].read_text() == "garbage"  # kept aside
    assert made.read_text() == "".join(f"{i}\n" for i in range(8))


# --- case 9: a full disk, and a torn last line ------------------------------------------------------


def in_small_tmpfs(folder: Path, script: str) -> subprocess.CompletedProcess:
    """Run ``script`` (sh) with a 64 KiB tmpfs mounted on ``folder/disk`` in a private mount namespace."""
    disk = folder / "disk"
    disk.mkdir()
    return subprocess.run(["unshare", "-m", "sh", "-c", f"mount -t tmpfs -o size=64k tmpfs {disk} && {script}"],
                          capture_output=True, text=True, timeout=300)  # fmt: skip


def can_mount() -> bool:
    probe = subprocess.run(["unshare", "-m", "sh", "-c", "mount -t tmpfs tmpfs /mnt"], capture_output=True)
    return shutil.which("unshare") is not None and probe.returncode == 0


needs_mount = pytest.mark.skipif(not (hasattr(os, "geteuid") and os.geteuid() == 0 and can_mount()),
                                 reason="a small tmpfs needs root and unshare -m")  # fmt: skip


@needs_mount
def test_a_full_disk_is_one_line_and_the_rerun_completes_exactly_the_rest(tmp_path):
    graph = make_graph(tmp_path)
    py = " ".join(CLI)
    with FakeServer(responder=qa_responder) as server:
        llm = " ".join(f"'{a}'" for a in llm_args(server, tmp_path))
        gen = f"{py} generate {graph} -n 200 --out {tmp_path}/disk/s.jsonl {llm}"
        script = (f"{gen} >{tmp_path}/o1 2>{tmp_path}/e1; echo $? >{tmp_path}/rc1; cp {tmp_path}/disk/s.jsonl {tmp_path}/cut.jsonl; "
                  f"mount -o remount,size=8m {tmp_path}/disk && {gen} >{tmp_path}/o2 2>{tmp_path}/e2; echo $? >{tmp_path}/rc2; "
                  f"cp {tmp_path}/disk/s.jsonl {tmp_path}/whole.jsonl")  # fmt: skip
        proc = in_small_tmpfs(tmp_path, script)
        assert proc.returncode == 0, proc.stderr
        requests_before = server.counts["ok"]
    first = subprocess.CompletedProcess([], int((tmp_path / "rc1").read_text()), (tmp_path / "o1").read_text(),
                                        (tmp_path / "e1").read_text())  # fmt: skip
    assert first.returncode == 2
    message = one_error_line(first)  # the samples file, or a side file beside it, whichever filled the disk
    assert message.startswith(f"mathscale: error: disk full writing {tmp_path}/disk/s.") and message.endswith(
        "(No space left on device); free space and rerun to resume")
    cut = (tmp_path / "cut.jsonl").read_bytes()
    assert cut.endswith(b"\n") and 0 < len(lines(tmp_path / "cut.jsonl")) < 200  # whole lines only
    assert int((tmp_path / "rc2").read_text()) == 0, (tmp_path / "e2").read_text()
    whole = lines(tmp_path / "whole.jsonl")
    assert (tmp_path / "whole.jsonl").read_bytes().startswith(cut)  # kept, then completed
    assert [s["meta"]["slot"] for s in whole] == list(range(200)) and requests_before > 0


@needs_mount
def test_a_full_disk_in_graph_sample_leaves_no_half_file(tmp_path):
    graph = make_graph(tmp_path)
    script = f"{' '.join(CLI)} graph sample {graph} -n 20000 --out {tmp_path}/disk/w.jsonl; echo rc=$?; ls -a {tmp_path}/disk"
    proc = in_small_tmpfs(tmp_path, script)
    assert "rc=2" in proc.stdout and "Traceback" not in proc.stderr
    assert f"disk full writing {tmp_path}/disk/w.jsonl" in one_error_line(proc)
    assert "w.jsonl" not in proc.stdout.split("rc=2")[1]  # neither the file nor its temporary


def test_a_torn_last_line_is_cut_reported_and_remade(tmp_path):
    graph, out = make_graph(tmp_path), tmp_path / "s.jsonl"
    with FakeServer(responder=qa_responder) as server:
        assert mathscale("generate", graph, "-n", 6, "--out", out, *llm_args(server, tmp_path)).returncode == 0
        whole = out.read_bytes()
        out.write_bytes(whole[:-30])  # a write cut short
        proc = mathscale("generate", graph, "-n", 6, "--out", out, *llm_args(server, tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert f"{out}: cut a torn last line" in proc.stdout
    assert out.read_bytes() == whole  # the same sample made again (same seed, cached reply)
