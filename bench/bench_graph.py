"""Concept-graph benchmark on a paper-scale synthetic graph (issue 3).

Synthesises, deterministically, 20K concept records naming about 2,018 topics and 8,892
knowledge points (Zipf-like topic frequencies; each knowledge point belongs mostly to a
few topics), then measures: graph build time (normalise + build + sampler tables),
compositions/s on one core (unfocused, and focused by ``walk.focus``: every concept
reweighted as a concepts.csv of a real evaluation would), time to 2M unique compositions and peak memory, next to a
plain per-step networkx walk of the same procedure; then the whole command
``mathscale graph sample GRAPH -n 2000000 --unique --seed 7`` (load the graph, walk, write
exactly 2M unique compositions as JSON lines, report) in a subprocess pinned to one core.
Targets: build <= 10 s, >= 200,000 compositions/s (focused too), 2M unique in <= 15 s, the command in
<= 40 s, peak memory <= 2 GB.

    python bench/bench_graph.py [--records 20000] [--unique 2000000] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import time

import numpy as np

from mathscale.graph.build import build_graph
from mathscale.graph.normalize import learn_normalizer
from mathscale.graph.sampler import Sampler
from mathscale.graph.unique import sample_unique
from mathscale.records import Concepts

TARGETS = {"build_s": 10.0, "walks_per_s": 200_000, "unique_2m_s": 15.0, "command_s": 40.0, "peak_mb": 2048}


def synth_records(n: int = 20_000, n_topics: int = 2018, n_kps: int = 8892, seed: int = 0) -> list[Concepts]:
    """Deterministic records with realistic structure (see the module docstring)."""
    rng = np.random.default_rng(seed)
    topic_p = 1.0 / np.arange(1, n_topics + 1) ** 1.1
    topic_p /= topic_p.sum()
    home = rng.choice(n_topics, size=(n_kps, 3), p=topic_p)  # each KP's home topics
    pools: list[list[int]] = [[] for _ in range(n_topics)]
    for kp, topics in enumerate(home):
        for t in set(topics.tolist()):
            pools[t].append(kp)
    kp_p = 1.0 / np.arange(1, n_kps + 1) ** 0.8
    kp_p /= kp_p.sum()
    records = []
    for r in range(n):
        topics = rng.choice(n_topics, size=int(rng.integers(1, 3)), p=topic_p).tolist()
        if r < n_topics:
            topics[0] = r  # every topic appears at least once
        kps: list[int] = []
        for _ in range(int(rng.integers(1, 6))):
            pool = pools[topics[int(rng.integers(len(topics)))]]
            kps.append(pool[int(rng.integers(len(pool)))] if pool and rng.random() < 0.85 else int(rng.choice(n_kps, p=kp_p)))
        if r < n_kps:
            kps[0] = r  # every knowledge point appears at least once
        records.append(Concepts(
            id=f"s{r}", question="", model="synthetic", prompt="synthetic",
            topics=[f"Topic {t}" for t in dict.fromkeys(topics)],
            knowledge_points=[f"Knowledge point {k}" for k in dict.fromkeys(kps)],
        ))  # fmt: skip
    return records


def networkx_walk(graph, topics: list[str], rng: random.Random) -> tuple[list[str], list[str]]:
    """The same walk, straightforwardly: per step, filter neighbours by kind and visited."""
    path_t = [rng.choice(topics)]
    for _ in range(rng.randint(1, 2)):
        nbrs = [(n, d["weight"]) for n, d in graph[path_t[-1]].items()
                if graph.nodes[n]["kind"] == "topic" and n not in path_t]  # fmt: skip
        if not nbrs:
            break
        path_t.append(rng.choices([n for n, _ in nbrs], weights=[w for _, w in nbrs])[0])
    nbrs = [(n, d["weight"]) for n, d in graph[path_t[-1]].items() if graph.nodes[n]["kind"] == "kp"]
    path_k = [rng.choices([n for n, _ in nbrs], weights=[w for _, w in nbrs])[0]] if nbrs else []
    for _ in range(rng.randint(0, 4) if path_k else 0):
        nbrs = [(n, d["weight"]) for n, d in graph[path_k[-1]].items()
                if graph.nodes[n]["kind"] == "kp" and n not in path_k]  # fmt: skip
        if not nbrs:
            break
        path_k.append(rng.choices([n for n, _ in nbrs], weights=[w for _, w in nbrs])[0])
    return path_t, path_k


def time_sample_command(graph, n: int) -> tuple[float, int, float]:
    """Seconds, lines written and peak MB of the real command on a saved graph, on one core."""
    import os
    import shutil
    import subprocess
    import tempfile
    from pathlib import Path

    from mathscale.graph.build import save_graph

    with tempfile.TemporaryDirectory() as tmp:
        path, out = Path(tmp) / "graph.json", Path(tmp) / "unique.jsonl"
        save_graph(graph, path)
        pin = ["taskset", "-c", "0"] if shutil.which("taskset") else []
        code = ("import resource, sys; from mathscale.cli import main; code = main(sys.argv[1:]); "
                "print('peak_kb', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss); sys.exit(code)")  # fmt: skip
        argv = [*pin, sys.executable, "-c", code, "graph", "sample", str(path), "-n", str(n), "--unique",
                "--seed", "7", "--out", str(out)]  # fmt: skip
        env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
        t0 = time.perf_counter()
        done = subprocess.run(argv, env=env, capture_output=True, text=True, check=True)
        seconds = time.perf_counter() - t0
        peak_kb = int(done.stdout.rsplit("peak_kb", 1)[1].split()[0])
        with out.open("rb") as handle:
            written = sum(1 for _ in handle)
        return seconds, written, peak_kb / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--walks", type=int, default=1_000_000, help="walks for the throughput figure")
    parser.add_argument("--unique", type=int, default=2_000_000)
    parser.add_argument("--baseline-walks", type=int, default=3_000)
    parser.add_argument("--json", metavar="OUT", help="also write the figures as JSON")
    args = parser.parse_args(argv)

    records = synth_records(args.records)
    t0 = time.perf_counter()
    norm = learn_normalizer(records)
    graph, _ = build_graph(norm.apply(r) for r in records)
    t1 = time.perf_counter()
    sampler = Sampler.from_graph(graph)
    t2 = time.perf_counter()
    kinds = {k: sum(1 for _, kk in graph.nodes(data="kind") if kk == k) for k in ("topic", "kp")}
    print(f"graph: {kinds['topic']} topics, {kinds['kp']} knowledge points, {graph.number_of_edges()} edges "
          f"from {args.records} records")  # fmt: skip
    build_s = t2 - t0
    print(f"build: {build_s:.2f} s (normalise + graph {t1 - t0:.2f} s, sampler tables {t2 - t1:.2f} s)")

    sampler.walk_arrays(0, np.arange(10_000))  # warm up
    t0 = time.perf_counter()
    sampler.walk_arrays(0, np.arange(args.walks))
    walk_s = time.perf_counter() - t0
    rate = args.walks / walk_s
    print(f"walks: {args.walks} in {walk_s:.2f} s = {rate:,.0f} compositions/s (one core)")

    weights = np.random.default_rng(3)  # a weight from 1 to 3 for every concept (focus.SCALE units)
    t0 = time.perf_counter()
    focused = sampler.reweighted(weights.integers(100, 301, len(sampler.topics)), weights.integers(100, 301, len(sampler.kps)))
    reweight_s = time.perf_counter() - t0
    focused.walk_arrays(0, np.arange(10_000))
    t0 = time.perf_counter()
    focused.walk_arrays(0, np.arange(args.walks))
    focused_rate = args.walks / (time.perf_counter() - t0)
    print(f"focused walks (every concept reweighted, tables rebuilt in {reweight_s:.3f} s): {focused_rate:,.0f} "
          f"compositions/s, {focused_rate / rate:.2f}x the unfocused rate")  # fmt: skip

    t0 = time.perf_counter()
    idx, _, _ = sample_unique(sampler, seed=0, n_unique=args.unique)
    unique_s = time.perf_counter() - t0
    taken = int(idx[-1]) + 1 if len(idx) else 0
    print(f"unique: {len(idx)} unique compositions in {unique_s:.2f} s ({taken} walks, unique rate {len(idx) / max(taken, 1):.3f})")

    rng = random.Random(0)
    topics = [n for n, k in graph.nodes(data="kind") if k == "topic"]
    t0 = time.perf_counter()
    for _ in range(args.baseline_walks):
        networkx_walk(graph, topics, rng)
    base_s = time.perf_counter() - t0
    base_rate = args.baseline_walks / base_s
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"networkx per-step walk: {args.baseline_walks} in {base_s:.2f} s = {base_rate:,.0f} compositions/s; "
          f"2M unique would take ~{args.unique / base_rate * taken / max(len(idx), 1):,.0f} s")  # fmt: skip
    print(f"peak memory (max RSS of this process, all stages): {peak_mb:,.0f} MB")
    command_s, written, command_mb = time_sample_command(graph, args.unique)
    print(f"`graph sample -n {args.unique} --unique --seed 7` (one core): {command_s:.2f} s, {written} lines written, "
          f"peak {command_mb:,.0f} MB; {command_s / unique_s:.1f}x the in-process walking above")  # fmt: skip
    figures = {"build_s": build_s, "walks_per_s": rate, "focused_walks_per_s": focused_rate, "unique_2m_s": unique_s, "peak_mb": peak_mb,
               "command_s": command_s, "command_peak_mb": command_mb,
               "networkx_walks_per_s": base_rate, "speedup_vs_networkx": rate / base_rate}  # fmt: skip
    print("ratios (target / measured, >= 1 is within target):")
    print(f"  build        {TARGETS['build_s'] / build_s:8.2f}  (target <= {TARGETS['build_s']:g} s)")
    print(f"  throughput   {rate / TARGETS['walks_per_s']:8.2f}  (target >= {TARGETS['walks_per_s']:,} /s)")
    print(f"  focused      {focused_rate / TARGETS['walks_per_s']:8.2f}  (target >= {TARGETS['walks_per_s']:,} /s)")
    print(f"  2M unique    {TARGETS['unique_2m_s'] / unique_s:8.2f}  (target <= {TARGETS['unique_2m_s']:g} s)")
    print(f"  command      {TARGETS['command_s'] / command_s:8.2f}  (target <= {TARGETS['command_s']:g} s)")
    print(f"  peak memory  {TARGETS['peak_mb'] / peak_mb:8.2f}  (target <= {TARGETS['peak_mb']:,} MB)")
    print(f"  vs networkx  {rate / base_rate:8.1f}x faster per composition")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(figures, handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
