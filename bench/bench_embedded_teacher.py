"""The embedded teacher's speed for one or more llama-cpp-python builds, in turns, in one run.

Each build is a folder holding an installed ``llama_cpp`` (``pip install --no-deps --target
DIR WHEEL``); the server runs with that folder first on its ``PYTHONPATH``. For each build
and repeat: one embedded server (the default teacher, started as mathscale starts it, with
its warm-up completion), greedy text completions (tokens/s) and concept extractions of real
seeds (s per seed, the prompt ``graph extract`` uses). Builds take turns repeat by repeat,
so load on the machine falls on all of them alike; ratios are against the first build.

    CMAKE_ARGS="-DGGML_NATIVE=OFF" pip wheel --no-deps --no-cache-dir -w wheels/portable 'llama-cpp-python==0.3.36'
    pip wheel --no-deps --no-cache-dir -w wheels/native 'llama-cpp-python==0.3.36'
    pip install --no-deps --target builds/native wheels/native/*.whl   # and the same for portable
    python bench/bench_embedded_teacher.py native=builds/native portable=builds/portable --repeats 3

With no build given it measures the installed one.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from mathscale.graph.config import ExtractConfig
from mathscale.graph.extract import Failure, extract_concepts, load_prompt
from mathscale.io import read_jsonl
from mathscale.llm.client import open_client
from mathscale.llm.config import LLMConfig
from mathscale.records import Seed

SEEDS = Path(__file__).resolve().parents[2] / "shared/data/seeds/gsm8k_train.jsonl"
TEXT_PROMPT = "Write a detailed lesson for a class about fractions, decimals and percentages.\n\n"


@contextlib.contextmanager
def python_path(folder: str | None):
    old = os.environ.get("PYTHONPATH")
    if folder:
        os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (folder, old) if p)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = old


def system_info(folder: str | None) -> str:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (folder, os.environ.get("PYTHONPATH")) if p))
    code = "import llama_cpp; print(llama_cpp.llama_print_system_info().decode())"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    flags = [part.strip() for part in out.stdout.replace("|", "\n").splitlines() if part.strip().endswith("= 1")]
    return " ".join(f.split(" = ")[0] for f in flags) or out.stderr.strip()[-200:]


def tokens_per_second(base_url: str, model: str, tokens: int) -> float:
    body = {"model": model, "prompt": TEXT_PROMPT, "max_tokens": tokens, "temperature": 0.0, "repeat_penalty": 1.0}
    request = urllib.request.Request(f"{base_url}/completions", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})  # fmt: skip
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=600) as reply:
        usage = json.loads(reply.read())["usage"]
    return usage["completion_tokens"] / (time.perf_counter() - started)


def measure(folder: str | None, seeds: list[Seed], tokens: int, texts: int) -> dict[str, float]:
    template = load_prompt(ExtractConfig().prompt)
    params = {"temperature": ExtractConfig().temperature, "max_tokens": ExtractConfig().max_tokens}
    started = time.perf_counter()
    with python_path(folder), open_client(LLMConfig(cache=False, progress=False)) as llm:
        ready = time.perf_counter() - started
        speed = statistics.median(tokens_per_second(llm.base_urls[0], llm.model, tokens) for _ in range(texts))
        started = time.perf_counter()
        results = list(extract_concepts(seeds, llm, template, params, total=len(seeds)))
        per_seed = (time.perf_counter() - started) / len(seeds)
    failed = sum(isinstance(r, Failure) for r in results)
    return {"start_s": ready, "tokens_s": speed, "s_per_seed": per_seed, "failed": failed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("builds", nargs="*", help="NAME=FOLDER of an installed llama_cpp (default: the installed one)")
    parser.add_argument("--seeds", type=Path, default=SEEDS)
    parser.add_argument("--extractions", type=int, default=8, help="seeds extracted per repeat")
    parser.add_argument("--tokens", type=int, default=128, help="greedy tokens per text completion")
    parser.add_argument("--texts", type=int, default=3, help="text completions per repeat (median)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    builds = [tuple(b.split("=", 1)) for b in args.builds] or [("installed", None)]
    seeds = [Seed.from_json(r, where) for _, (where, r) in zip(range(args.extractions), read_jsonl(args.seeds))]
    print(f"cpu: {os.cpu_count()} cores; load average {os.getloadavg()[0]:.2f}")
    for name, folder in builds:
        print(f"{name}: {system_info(folder)}")
    runs: dict[str, list[dict[str, float]]] = {name: [] for name, _ in builds}
    for repeat in range(args.repeats):
        for name, folder in builds:
            run = measure(folder, seeds, args.tokens, args.texts)
            runs[name].append(run)
            print(f"  repeat {repeat + 1} {name}: {run['tokens_s']:.1f} tokens/s, {run['s_per_seed']:.2f} s/seed, "
                  f"start {run['start_s']:.1f} s, {run['failed']:.0f} failed extractions", flush=True)  # fmt: skip
    ref = builds[0][0]
    print(f"\n| build | tokens/s (median [min-max]) | s per extraction | start-up s | vs {ref}, median of paired ratios: tokens/s, s/seed |")
    print("|---|---|---|---|---|")
    for name, _ in builds:
        speeds = [r["tokens_s"] for r in runs[name]]
        seconds = [r["s_per_seed"] for r in runs[name]]
        start = statistics.median(r["start_s"] for r in runs[name])
        ratios = [r["tokens_s"] / b["tokens_s"] for r, b in zip(runs[name], runs[ref])]
        slow = [r["s_per_seed"] / b["s_per_seed"] for r, b in zip(runs[name], runs[ref])]
        print(f"| {name} | {statistics.median(speeds):.1f} [{min(speeds):.1f}-{max(speeds):.1f}] | "
              f"{statistics.median(seconds):.2f} [{min(seconds):.2f}-{max(seconds):.2f}] | {start:.1f} | "
              f"{statistics.median(ratios):.2f}x, {statistics.median(slow):.2f}x |")  # fmt: skip
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
