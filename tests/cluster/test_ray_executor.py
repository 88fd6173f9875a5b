"""``executor: ray``: generate and eval on a two-node Ray cluster give the one-process run's files.

The cluster (a head and a worker node, 1 CPU each) and the fake endpoints run in a private
network and PID namespace (``unshare -n -p -f --mount-proc``), so nothing leaves loopback
and nothing of it outlives the module: ending the namespace's first process ends every
process in it. Commands run inside with ``nsenter``. No Ray process is ever ended by name.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.support import REPO
from tests.support.generate_helpers import lines


HEAD_PORT = 6390
QA, QA2, SLOW, REPEAT, SUMS = 8701, 8702, 8703, 8704, 8705  # endpoints in the namespace
ENDPOINTS = [f"{QA}:qa", f"{QA2}:qa", f"{SLOW}:qa:0.1", f"{REPEAT}:repetitive", f"{SUMS}:sums"]


def url(port: int) -> str:
    return f"http://127.0.0.1:{port}/v1"


class Namespace:
    """A private network + PID namespace holding a two-node Ray cluster and the fake endpoints."""

    def __init__(self, root: Path):
        self.root = root
        env = {**os.environ, "RAY_AUTH_MODE": "disabled", "PYTHONPATH": str(REPO)}
        node = f"--num-cpus=1 --node-ip-address=127.0.0.1 --disable-usage-stats --temp-dir={root}/ray"
        script = f"""set -e
ip link set lo up
{sys.executable} -m tests.support.ray_endpoints {' '.join(ENDPOINTS)} > {root}/endpoints.log 2>&1 &
ray start --head --port={HEAD_PORT} --include-dashboard=false {node} > {root}/head.log 2>&1
ray start --address=127.0.0.1:{HEAD_PORT} {node} > {root}/worker.log 2>&1
echo ready
exec sleep infinity
"""
        self.proc = subprocess.Popen(["unshare", "-n", "-p", "-f", "--mount-proc", "--kill-child=SIGKILL",
                                      "bash", "-c", script], env=env, stdout=subprocess.PIPE, text=True)  # fmt: skip
        line = self.proc.stdout.readline()  # type: ignore[union-attr]
        if line.strip() != "ready":
            self.close()
            logs = "".join(p.read_text()[-2000:] for p in root.glob("*.log"))
            pytest.fail(f"the Ray cluster did not start in its namespace:\n{logs}")
        self.init = self._first_process()

    def _first_process(self) -> int:
        for _ in range(50):
            children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()
            if children:
                return int(children[0])
            time.sleep(0.1)
        raise AssertionError("unshare has no child")

    def command(self, *args: str) -> list[str]:
        """``args`` run inside the namespace (its network, PIDs and /proc), from the repository."""
        return ["nsenter", "-t", str(self.init), "-n", "-p", "-m", f"--wd={REPO}", "--", *args]

    def run(self, *args: str, **kw) -> subprocess.CompletedProcess:
        return subprocess.run(self.command(*args), capture_output=True, text=True, env=self.env(), **kw)

    def popen(self, *args: str, log: Path) -> subprocess.Popen:
        with log.open("w") as handle:
            return subprocess.Popen(self.command(*args), stdout=handle, stderr=subprocess.STDOUT, env=self.env(),
                                    start_new_session=True)  # fmt: skip

    @staticmethod
    def env() -> dict[str, str]:
        return {**os.environ, "RAY_AUTH_MODE": "disabled", "PYTHONPATH": str(REPO)}

    def processes(self, title: str) -> list[int]:
        """Host PIDs of the namespace's processes whose command line starts with ``title``."""
        ours = os.readlink(f"/proc/{self.init}/ns/pid")
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                if os.readlink(entry / "ns" / "pid") == ours and (entry / "cmdline").read_bytes().startswith(title.encode()):
                    found.append(int(entry.name))
            except OSError:
                continue
        return found

    def close(self) -> None:
        self.proc.kill()  # unshare --kill-child: its child, the namespace's first process, gets SIGKILL
        self.proc.wait()


@pytest.fixture(scope="module")
def cluster():
    pytest.importorskip("ray")
    if shutil.which("unshare") is None or shutil.which("nsenter") is None or os.geteuid() != 0:
        pytest.skip("the Ray cluster tests need root, unshare and nsenter (a private network namespace)")
    root = Path(tempfile.mkdtemp(prefix="msray-", dir="/tmp"))  # short: Ray's socket paths live under it
    namespace = Namespace(root)
    yield namespace
    namespace.close()
    shutil.rmtree(root, ignore_errors=True)


def generate(cluster: Namespace, graph: Path, out: Path, *extra: str, port: int = QA, background: bool = False):
    args = ["mathscale", "generate", str(graph), "-n", "200", "--out", str(out),
            f"llm.base_urls=[{url(port)}]", f"llm.cache_path={out.with_suffix('.cache.sqlite')}",
            "llm.progress=false", "dataset=false", *extra]  # fmt: skip
    if background:
        return cluster.popen(*args, log=out.with_suffix(".log"))
    done = cluster.run(*args, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


RAY = ("executor=ray", f"ray.address=127.0.0.1:{HEAD_PORT}")
SLOW_RAY = (*RAY, "llm.concurrency=2")  # a task takes a second or so: time to kill something mid-run


def drops(out: Path) -> list[str]:
    """The drops log's lines, sorted: it is written as replies arrive, in no fixed order, locally too."""
    return sorted(out.with_suffix(".drops.jsonl").read_text().splitlines())


def report(out: Path) -> dict:
    return json.loads(out.with_suffix(".report.json").read_text())


@pytest.mark.slow
def test_generate_on_two_nodes_is_the_one_process_run_byte_for_byte(cluster, graph_path, tmp_path):
    generate(cluster, graph_path, tmp_path / "local.jsonl")
    done = generate(cluster, graph_path, tmp_path / "ray.jsonl", *RAY, f"llm.base_urls=[{url(QA)},{url(QA2)}]")
    samples = lines(tmp_path / "ray.jsonl")
    assert len(samples) == 200 and len({s["question"] for s in samples}) == 200
    assert (tmp_path / "ray.jsonl").read_bytes() == (tmp_path / "local.jsonl").read_bytes()
    assert drops(tmp_path / "ray.jsonl") == drops(tmp_path / "local.jsonl")
    nodes = report(tmp_path / "ray.jsonl")["cluster"]["nodes"]
    assert len(nodes) == 2 and all(n["samples"] > 0 for n in nodes) and sum(n["samples"] for n in nodes) == 200
    assert "per node:" in done.stdout and "2 nodes, 2 CPUs" in done.stdout
    assert not (tmp_path / "ray.ray").exists()  # removed once every slot is settled


@pytest.mark.slow
def test_a_repetitive_teacher_across_tasks_still_gives_the_same_bytes(cluster, graph_path, tmp_path):
    """Slots of different tasks produce the same question: the replay drops the later one and
    asks the cluster for that slot's next attempt, as one process would."""
    extra = ("-n", "60", "max_attempts=64")
    generate(cluster, graph_path, tmp_path / "local.jsonl", *extra, port=REPEAT)
    generate(cluster, graph_path, tmp_path / "ray.jsonl", *RAY, *extra, "ray.task_size=8", port=REPEAT)
    assert (tmp_path / "ray.jsonl").read_bytes() == (tmp_path / "local.jsonl").read_bytes()
    assert drops(tmp_path / "ray.jsonl") == drops(tmp_path / "local.jsonl")
    assert report(tmp_path / "ray.jsonl")["cluster"]["remote_attempts"] > 0


def wait_for(condition, what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def connected_to(pid: int, port: int) -> bool:
    """Whether process ``pid`` holds an established TCP connection to ``port`` (its namespace's /proc/net/tcp)."""
    try:
        sockets = {os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")}
        rows = Path(f"/proc/{pid}/net/tcp").read_text().splitlines()[1:]
    except OSError:  # the process ended
        return False
    for row in rows:
        fields = row.split()  # sl local_address rem_address st ... inode
        if int(fields[2].split(":")[1], 16) == port and fields[3] == "01" and f"socket:[{fields[9]}]" in sockets:
            return True
    return False


@pytest.mark.slow
def test_a_worker_killed_mid_run_is_retried_and_the_result_is_exact(cluster, graph_path, tmp_path):
    generate(cluster, graph_path, tmp_path / "local.jsonl", port=SLOW)
    proc = generate(cluster, graph_path, tmp_path / "ray.jsonl", *SLOW_RAY, port=SLOW, background=True)
    # a task that is asking the endpoint: past its worker's imports and its start in the ledger
    # (a worker killed while it still imports has not started the task, so no restart is counted)
    wait_for(lambda: [p for p in cluster.processes("ray::run_task") if connected_to(p, SLOW)], "a task asking")
    victim = next(p for p in cluster.processes("ray::run_task") if connected_to(p, SLOW))
    os.kill(victim, signal.SIGKILL)  # one worker process of the namespace's cluster, mid-task
    assert proc.wait(timeout=300) == 0, (tmp_path / "ray.log").read_text()[-3000:]
    assert (tmp_path / "ray.jsonl").read_bytes() == (tmp_path / "local.jsonl").read_bytes()
    assert report(tmp_path / "ray.jsonl")["cluster"]["task_restarts"] >= 1


@pytest.mark.slow
def test_the_driver_killed_and_rerun_resumes_and_asks_nothing_twice(cluster, graph_path, tmp_path):
    generate(cluster, graph_path, tmp_path / "local.jsonl", port=SLOW)
    out = tmp_path / "ray.jsonl"
    proc = generate(cluster, graph_path, out, *SLOW_RAY, port=SLOW, background=True)
    folder = tmp_path / "ray.ray"  # SAMPLES.ray/: the finished tasks' outcomes
    wait_for(lambda: len(list(folder.glob("slots-*.jsonl"))) >= 3, "three finished tasks")
    os.killpg(proc.pid, signal.SIGKILL)  # the driver (and the nsenter that started it)
    proc.wait()
    assert len(out.read_bytes() if out.exists() else b"") < len((tmp_path / "local.jsonl").read_bytes())  # cut off
    generate(cluster, graph_path, out, *SLOW_RAY, port=SLOW)
    assert out.read_bytes() == (tmp_path / "local.jsonl").read_bytes()
    cluster_report = report(out)["cluster"]
    assert cluster_report["tasks_reused"] >= 3 and cluster_report["tasks"] + cluster_report["tasks_reused"] <= 13
    usage = json.loads(out.with_suffix(".usage.json").read_text())
    assert usage["invocations"][-1]["api_calls"] < 200  # what finished was not asked again
    assert not folder.exists()


BENCH = [{"data_topic": topic, "question": f"What is {a}+{b}?", "answer": str(a + b)}
         for topic in ("gsm8k", "MATH.Algebra") for a, b in zip(range(3, 33), range(40, 10, -1))]  # fmt: skip


@pytest.mark.slow
def test_eval_on_the_cluster_gives_the_local_metrics(cluster, tmp_path):
    bench = tmp_path / "bench.jsonl"
    bench.write_text("".join(json.dumps(r) + "\n" for r in BENCH))

    def evaluate(out: Path, *extra: str) -> subprocess.CompletedProcess:
        done = cluster.run("mathscale", "eval", "--backend", "openai", "--benchmarks", str(bench), "--out", str(out),
                           f"llm.base_urls=[{url(SUMS)}]", f"llm.cache_path={out}.sqlite", "llm.progress=false",
                           *extra, timeout=300)  # fmt: skip
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        return done

    evaluate(tmp_path / "local")
    done = evaluate(tmp_path / "ray", *RAY, "ray.task_size=10")
    local, remote = (json.loads((tmp_path / d / "metrics.json").read_text()) for d in ("local", "ray"))
    for metrics in (local, remote):
        metrics.pop("generation_seconds")
    assert remote == local and 0 < local["micro"] < 1 and local["items"] == 60
    for name in ("gsm8k.jsonl", "MATH.Algebra.jsonl"):
        assert (tmp_path / "ray" / "predictions" / name).read_bytes() == (tmp_path / "local" / "predictions" / name).read_bytes()
    assert "items per node: 127.0.0.1" in done.stdout


# ------------------------------------------------------------- bad settings, before any cluster


def test_generate_on_ray_without_an_endpoint_is_one_line_and_writes_nothing(graph_path, tmp_path, capsys):
    from mathscale.cli import main

    out = tmp_path / "s.jsonl"
    assert main(["generate", str(graph_path), "-n", "5", "--out", str(out), "executor=ray"]) == 2
    err = capsys.readouterr().err
    assert "executor=ray: the cluster's workers need an OpenAI-compatible endpoint; set llm.base_urls" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1 and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("setting, message", [("ray.task_size=-1", "ray.task_size=-1: must be positive, or 0"),
                                              ("ray.max_retries=-2", "ray.max_retries=-2: cannot be negative"),
                                              ("executor=slurm", "executor")])  # fmt: skip
def test_bad_ray_settings_are_one_line(setting, message, graph_path, tmp_path, capsys):
    from mathscale.cli import main

    assert main(["generate", str(graph_path), "-n", "5", "--out", str(tmp_path / "s.jsonl"), "executor=ray",
                 "llm.base_urls=[http://127.0.0.1:9/v1]", setting]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and not (tmp_path / "s.jsonl").exists()


def test_eval_on_ray_takes_the_openai_backend_only(tmp_path, capsys):
    from mathscale.cli import main

    bench = tmp_path / "bench.jsonl"
    bench.write_text(json.dumps(BENCH[0]) + "\n")
    assert main(["eval", "--backend", "hf", "--model", "smollm2-135m", "--benchmarks", str(bench), "--out",
                 str(tmp_path / "e"), "executor=ray"]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert "executor=ray runs --backend openai" in err and not (tmp_path / "e").exists()
