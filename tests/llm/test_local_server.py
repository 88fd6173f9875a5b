"""The embedded llama.cpp server: a warm-up completion at start, and a server that dies is
found at once (how it ended, its log, the remedy), never retried against a dead port."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mathscale.llm.local import LocalServer, describe_exit, portable_reinstall


@pytest.mark.parametrize("status, text", [
    (1, "exited with status 1"),
    (-11, "exited on signal SIGSEGV (status -11)"),
    (-9, "exited on signal SIGKILL (status -9)"),
])  # fmt: skip
def test_how_a_process_ended_is_said_in_words(status, text):
    assert describe_exit(status) == text


def test_the_remedy_reinstalls_the_installed_version_as_a_portable_build():
    command = portable_reinstall()
    assert command.startswith('CMAKE_ARGS="-DGGML_NATIVE=OFF" pip install --force-reinstall --no-cache-dir')
    assert "llama-cpp-python==" in command  # the version installed here, so nothing else changes


@pytest.mark.slow
def test_a_started_server_has_answered_one_completion_and_a_crash_is_reported_with_its_log():
    from mathscale.models.gguf import resolve_model

    with LocalServer(resolve_model("smollm2-135m"), alias="smollm2-135m") as server:
        assert server.warm_up_s is not None and server.warm_up_s > 0
        assert server.failure() is None
        os.kill(server.pid, signal.SIGSEGV)  # what a build using instructions this CPU can't run does
        failure = server.failure(wait_s=10)
        assert failure is not None
        assert f"(smollm2-135m, pid {server.pid}) exited on signal SIGSEGV" in failure
        assert "its log ends:" in failure and "GGML_NATIVE=OFF" in failure
        log_path = Path(failure.split("(whole log: ")[1].split(")")[0])
    assert log_path.is_file()  # a crashed server's log is kept for the user to read
    log_path.unlink()


def _children(pid: int) -> list[tuple[int, str]]:
    """(pid, command line) of the processes whose parent is ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append((int(entry.name), cmdline))
    return found


@pytest.mark.slow
def test_graph_extract_stops_within_seconds_when_the_embedded_server_dies(tmp_path, llm_cache):
    seeds = tmp_path / "seeds.jsonl"
    seeds.write_text("".join(
        json.dumps({"id": f"q{i}", "question": f"A shop sells {i + 2} pens for ${3 * i + 5}. What does one pen cost?"}) + "\n"
        for i in range(40)
    ))  # fmt: skip
    out = tmp_path / "concepts.jsonl"
    cmd = [sys.executable, "-m", "mathscale.cli", "graph", "extract", str(seeds), "--out", str(out),
           "llm.local_model=smollm2-135m", f"llm.cache_path={llm_cache}", "llm.progress=false"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 300
        while not (out.exists() and out.read_text().count("\n") >= 1):  # the server answers seeds
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no concept record within 300 s"
            time.sleep(0.2)
        (server_pid,) = [pid for pid, cmdline in _children(proc.pid) if "llama_cpp.server" in cmdline]
        os.kill(server_pid, signal.SIGSEGV)
        killed = time.monotonic()
        stdout, stderr = proc.communicate(timeout=60)
        seconds = time.monotonic() - killed
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 2
    assert seconds < 15, f"the command took {seconds:.1f} s to stop after the server died"
    assert "Traceback" not in stderr
    error_lines = [line for line in stderr.splitlines() if line.startswith("mathscale: error:")]
    assert len(error_lines) == 1, stderr
    assert error_lines[0].startswith(f"mathscale: error: the embedded llama.cpp server (smollm2-135m, pid {server_pid}) "
                                     "exited on signal SIGSEGV")  # fmt: skip
    assert "GGML_NATIVE=OFF" in error_lines[0]
    lines = out.read_text().splitlines()  # what was answered before the crash is kept, whole
    assert lines and all(json.loads(line)["schema"] == "concepts/1" for line in lines)
    Path(error_lines[0].split("(whole log: ")[1].split(")")[0]).unlink()
