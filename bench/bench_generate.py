"""Generation overhead: samples/s, peak memory and near-duplicate scaling (issue 4).

1. Throughput: `mathscale generate` end to end (walks, prompts with examples, the LLM
   client, JSON parsing, filters, exact + near-duplicate checks, decontamination against
   the benchmarks, JSONL output) against an instant OpenAI-compatible server running in
   its own process. Reference in the same run: a bare openai.AsyncOpenAI loop against the
   same server, i.e. the most requests/s this machine can push through that server.
   Target: >= 500 samples/s on 2 cores.
2. Peak memory of a generate process at --memory-n samples (default 200,000). Target <= 2 GB.
3. Near-duplicate checking: microseconds per check as the number of stored questions grows;
   flat means total time grows linearly with N.

    python bench/bench_generate.py                       # all three (the memory run takes minutes)
    python bench/bench_generate.py --memory-n 0          # skip the memory run
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BENCHMARKS = REPO.parent / "shared" / "data" / "benchmarks"


def make_graph(folder: Path, topics: int = 200, kps: int = 800, seeds: int = 3000) -> Path:
    from mathscale.graph.build import build_graph, save_graph
    from mathscale.records import Concepts

    rng = random.Random(0)
    names_t = [f"Topic {i}" for i in range(topics)]
    names_k = [f"Knowledge point {i}" for i in range(kps)]
    records = []
    for i in range(seeds):
        t = rng.sample(names_t, rng.randint(1, 2))
        k = rng.sample(names_k, rng.randint(1, 5))
        records.append(Concepts(str(i), f"Seed question {i} about {t[0]} and {k[0]}.", t, k, "m", "p"))
    graph, _ = build_graph(records)
    path = folder / "graph.json"
    save_graph(graph, path)
    return path


def start_server(port: int) -> subprocess.Popen:
    import urllib.request

    # from the repository root, where tests.support (the test doubles) imports
    proc = subprocess.Popen([sys.executable, "-m", "tests.support.fake_endpoint", "--port", str(port), "--responder", "qa"],
                            stdout=subprocess.DEVNULL, cwd=REPO)  # fmt: skip
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=1)
            return proc
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


def generate(graph: Path, folder: Path, port: int, n: int, tag: str, extra: list[str],
             concurrency: int) -> tuple[float, int, dict]:  # fmt: skip
    out = folder / f"{tag}.jsonl"
    cmd = [sys.executable, "-m", "mathscale.cli", "generate", str(graph), "-n", str(n), "--out", str(out),
           f"llm.base_urls=[http://127.0.0.1:{port}/v1]", f"llm.cache_path={folder}/{tag}.sqlite",
           f"llm.concurrency={concurrency}", "llm.progress=false", "dataset=false", *extra]  # fmt: skip
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    report = json.loads((folder / f"{tag}.report.json").read_text())
    # CPU seconds the generate process spent (setup included): what a free endpoint would leave as the limit
    report["cpu_seconds"] = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return report["samples_per_second"], max(after.ru_maxrss, before.ru_maxrss), report


async def bare(port: int, n: int, concurrency: int = 64) -> float:
    import openai

    client = openai.AsyncOpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="x", max_retries=0)
    sem = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with sem:
            await client.chat.completions.create(model="fake-model", messages=[{"role": "user", "content": f"q {i}"}])

    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(n)))
    await client.close()
    return n / (time.perf_counter() - started)


def near_dup_scaling(sizes: list[int]) -> None:
    from mathscale.generate.config import DedupConfig
    from mathscale.generate.dedup import Deduplicator

    rng = random.Random(1)
    vocab = [f"w{i}" for i in range(20000)]
    dedup = Deduplicator(DedupConfig())
    done = 0
    print(f"{'stored':>9} {'us per check':>13}")
    for size in sizes:
        texts = [" ".join(rng.choice(vocab) for _ in range(rng.randint(25, 70))) for _ in range(size - done)]
        started = time.perf_counter()
        for i, text in enumerate(texts):
            dedup.check(str(done + i), text)
        per = (time.perf_counter() - started) / len(texts) * 1e6
        done = size
        print(f"{size:>9} {per:>13.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=10000, help="samples in the throughput run")
    parser.add_argument("--memory-n", type=int, default=200000, help="samples in the memory run (0 skips it)")
    parser.add_argument("--concurrency", type=int, default=32,
                        help="requests in flight (both loops); past ~32 httpx's pool bookkeeping costs more than it hides")  # fmt: skip
    args = parser.parse_args()

    from mathscale.llm.local import free_port

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        graph = make_graph(folder)
        port = free_port()
        server = start_server(port)
        extra = [f"decontamination.benchmarks=[{BENCHMARKS}]"] if BENCHMARKS.is_dir() else []
        try:
            reference = asyncio.run(bare(port, 5000, args.concurrency))
            rate, _, report = generate(graph, folder, port, args.n, "throughput", extra, args.concurrency)
            print(f"throughput, {args.n} samples, concurrency {args.concurrency}, all filters on"
                  f"{' + decontamination against ' + str(BENCHMARKS) if extra else ' (no benchmarks found for decontamination)'}")  # fmt: skip
            print(f"  bare openai loop against the same server: {reference:8.0f} requests/s")
            print(f"  mathscale generate:                        {rate:8.0f} samples/s  "
                  f"(ratio {rate / reference:.2f}; target >= 500 samples/s: {'ok' if rate >= 500 else 'BELOW'})")  # fmt: skip
            cpu_ms = 1000 * report["cpu_seconds"] / args.n
            print(f"  generate process CPU: {cpu_ms:.2f} ms per sample, start-up (imports, graph, benchmark "
                  "index) included")  # fmt: skip
            print(f"  dropped: {report['dropped']}")
            if args.memory_n:
                rate_m, peak_kb, report = generate(graph, folder, port, args.memory_n, "memory", extra, args.concurrency)
                print(f"memory, {args.memory_n} samples: peak RSS {peak_kb / 1024:.0f} MB "
                      f"(target <= 2048 MB: {'ok' if peak_kb / 1024 <= 2048 else 'ABOVE'}); {rate_m:.0f} samples/s")  # fmt: skip
        finally:
            server.terminate()
            server.wait()
    print("near-duplicate checks (MinHash + LSH), time per check as the store grows:")
    near_dup_scaling([25000, 50000, 100000, 200000])


if __name__ == "__main__":
    main()
