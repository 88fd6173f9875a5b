"""``generate`` with ``executor: ray`` against ``executor: local`` (issue 25): samples/s and Ray's fixed cost.

The same ``mathscale generate -n N`` against an instant fake endpoint (its own process), run
as one process (the reference, measured in the same run), then on a Ray cluster of one node
and of two nodes (1 CPU each). Each is run at two sizes, N1 and N2, so that its wall time
splits into a fixed part and a per-sample part: per sample = (t(N2) - t(N1)) / (N2 - N1),
fixed = t(N1) - N1 * per sample. The fixed part of a Ray run is what connecting, shipping
the graph and starting the workers costs; ``ray start`` itself is timed apart. Target:
Ray's per-sample time at one node is at most 10 % over the local executor's.

Everything runs in a private network and PID namespace (``unshare -n -p -f --mount-proc``,
as root): the cluster binds loopback only and ends with the namespace; no Ray process is
ended by name.

    python bench/bench_ray_generate.py                  # N1=400, N2=2000
    python bench/bench_ray_generate.py --n1 1000 --n2 5000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_generate import make_graph, start_server  # noqa: E402

PORT, HEAD = 8765, 6391
INSIDE = "MATHSCALE_BENCH_IN_NAMESPACE"


def timed(cmd: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"failed ({done.returncode}): {' '.join(cmd)}\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return seconds


def generate(graph: Path, folder: Path, n: int, tag: str, extra: list[str], env: dict[str, str]) -> float:
    out = folder / f"{tag}-{n}.jsonl"
    return timed(["mathscale", "generate", str(graph), "-n", str(n), "--out", str(out),
                  f"llm.base_urls=[http://127.0.0.1:{PORT}/v1]", f"llm.cache_path={folder}/{tag}-{n}.sqlite",
                  "llm.progress=false", "dataset=false", *extra], env)  # fmt: skip


def split(t1: float, t2: float, n1: int, n2: int) -> tuple[float, float]:
    """(fixed seconds, seconds per sample) from the wall times at two sizes."""
    per = (t2 - t1) / (n2 - n1)
    return t1 - n1 * per, per


def measure(args: argparse.Namespace) -> None:
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    env = {**os.environ, "RAY_AUTH_MODE": "disabled"}
    folder = Path(tempfile.mkdtemp(prefix="msbench-", dir="/tmp"))
    graph = make_graph(folder)
    server = start_server(PORT)
    ray_args = ["executor=ray", f"ray.address=127.0.0.1:{HEAD}"]
    node = ["--num-cpus=1", "--node-ip-address=127.0.0.1", "--disable-usage-stats", f"--temp-dir={folder}/ray"]
    rows: dict[str, tuple[float, float, float, float]] = {}
    try:
        sizes = (args.n1, args.n2)
        local = [generate(graph, folder, n, "local", [], env) for n in sizes]
        rows["local (one process)"] = (*local, *split(*local, *sizes))
        head_s = timed(["ray", "start", "--head", f"--port={HEAD}", "--include-dashboard=false", *node], env)
        one = [generate(graph, folder, n, "ray1", ray_args, env) for n in sizes]
        rows["ray, 1 node"] = (*one, *split(*one, *sizes))
        worker_s = timed(["ray", "start", f"--address=127.0.0.1:{HEAD}", *node], env)
        two = [generate(graph, folder, n, "ray2", ray_args, env) for n in sizes]
        rows["ray, 2 nodes"] = (*two, *split(*two, *sizes))
        for tag in ("ray1", "ray2"):  # the same samples as the one process, byte for byte
            for n in sizes:
                same = (folder / f"{tag}-{n}.jsonl").read_bytes() == (folder / f"local-{n}.jsonl").read_bytes()
                assert same, f"{tag} at n={n} differs from the local run"
    finally:
        server.kill()
    per_local = rows["local (one process)"][3]
    print(f"generate against an instant fake endpoint, n = {args.n1} and {args.n2} (2-core machine, shared)")
    print(f"{'executor':<22}{'t(N1) s':>9}{'t(N2) s':>9}{'samples/s at N2':>17}{'fixed s':>9}{'ms/sample':>11}"
          f"{'vs local':>10}")  # fmt: skip
    for name, (t1, t2, fixed, per) in rows.items():
        print(f"{name:<22}{t1:>9.2f}{t2:>9.2f}{args.n2 / t2:>17.1f}{fixed:>9.2f}{per * 1e3:>11.3f}{per / per_local:>9.2f}x")
    print(f"ray start: head {head_s:.1f} s, a worker node {worker_s:.1f} s (once per cluster, not per command)")
    overhead = rows["ray, 1 node"][3] / per_local - 1
    print(f"Ray's per-sample overhead at one node: {overhead * 100:+.1f} % (target <= +10 %): "
          + ("ok" if overhead <= 0.10 else "OVER"))
    print(json.dumps({k: dict(zip(("t1", "t2", "fixed_s", "s_per_sample"), v)) for k, v in rows.items()}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n1", type=int, default=400)
    parser.add_argument("--n2", type=int, default=2000)
    args = parser.parse_args()
    if os.environ.get(INSIDE) == "1":
        measure(args)
        return
    if os.geteuid() != 0:
        sys.exit("run as root: the cluster needs a private network namespace (unshare -n -p -f --mount-proc)")
    os.environ[INSIDE] = "1"  # the copy of this script inside the namespace measures
    cmd = ["unshare", "-n", "-p", "-f", "--mount-proc", "--kill-child=SIGKILL", sys.executable, *sys.argv]
    sys.exit(subprocess.run(cmd).returncode)


if __name__ == "__main__":
    main()
