"""``mathscale generate merge`` at scale: time and peak memory at 200K and 2M samples (issue 13).

Writes k synthetic shards of qa/1 samples (questions of ~40 words drawn from a 5,000-word
vocabulary, so MinHash sees realistic shingles), with 0.1 % of the samples planted as
near-duplicates of a sample in another shard, then runs the real command in a subprocess:
``mathscale generate merge SHARD... --out merged.jsonl`` (dataset on, so the Hugging Face
copy is part of the figure). Reference, measured in the same run: reading and JSON-parsing
every line once (the least any merge must do). Shards are read by parallel processes; peak memory counts the
main process plus one reader per core at its largest. Target: peak memory <= 4 GB at 2M.

    python bench/bench_merge.py [--sizes 200000 2000000] [--shards 8] [--dir /tmp/merge-bench]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

TARGET_MB = 4096
WORDS = [f"w{i}" for i in range(5000)]


def write_shards(folder: Path, n: int, k: int, seed: int = 0) -> tuple[list[Path], int]:
    """k shards of contiguous slots; returns their paths and the number of planted duplicates."""
    rng = random.Random(seed)
    paths = [folder / f"shard{i}.jsonl" for i in range(k)]
    planted = 0
    questions: list[str] = []
    bounds = [n * i // k for i in range(k + 1)]
    for i, path in enumerate(paths):
        with path.open("w", encoding="utf-8") as handle:
            for slot in range(bounds[i], bounds[i + 1]):
                if slot > bounds[1] and rng.random() < 0.001:  # near-duplicate of a slot in shard 0
                    question = questions[rng.randrange(len(questions))] + " Explain."
                    planted += 1
                else:
                    question = "A baker has " + " ".join(rng.choice(WORDS) for _ in range(40)) + ". How many are left?"
                if slot < bounds[1] and len(questions) < 100_000:
                    questions.append(question)
                handle.write(json.dumps({
                    "schema": "qa/1", "id": f"s0-{slot}", "index": slot * 16, "topics": ["Arithmetic"],
                    "knowledge_points": ["Subtraction", "Counting"], "question": question,
                    "solution": "Start with the total and take away what was sold: 40 - 13 = 27.", "answer": "27",
                    "model": "bench", "prompt": "generate_qa.v1", "meta": {"slot": slot, "attempt": 0, "seed": 0},
                }) + "\n")  # fmt: skip
    return paths, planted


def parse_all(paths: list[Path]) -> float:
    started = time.perf_counter()
    for path in paths:
        with path.open("rb") as handle:
            for line in handle:
                json.loads(line)
    return time.perf_counter() - started


def run_merge(paths: list[Path], out: Path) -> tuple[float, float, str]:
    code = ("import resource, sys; from mathscale.cli import main; code = main(sys.argv[1:]); "
            "print('peak_kb', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "
            "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(code)")  # fmt: skip
    argv = [sys.executable, "-c", code, "generate", "merge", *map(str, paths), "--out", str(out)]
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, env={**os.environ, "HF_DATASETS_DISABLE_PROGRESS_BARS": "1"})
    seconds = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(f"merge failed:\n{done.stderr[-2000:]}")
    main_kb, worker_kb = map(int, done.stdout.rsplit("peak_kb", 1)[1].split()[:2])
    summary = next(line for line in done.stdout.splitlines() if "samples from" in line)
    workers = min(os.cpu_count() or 1, len(paths))
    return seconds, (main_kb + workers * worker_kb) / 1024, f"{summary}\n  peak RSS: main process {main_kb / 1024:,.0f} MB, " \
        f"largest shard reader {worker_kb / 1024:,.0f} MB x {workers} at once"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[200_000, 2_000_000])
    parser.add_argument("--shards", type=int, default=8)
    parser.add_argument("--dir", default="/tmp/mathscale-merge-bench")
    args = parser.parse_args(argv)
    root = Path(args.dir)
    for n in args.sizes:
        folder = root / f"n{n}"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        paths, planted = write_shards(folder, n, args.shards)
        parse_s = parse_all(paths)
        seconds, peak_mb, summary = run_merge(paths, folder / "merged.jsonl")
        report = json.loads((folder / "merged.report.json").read_text())
        removed = report["removed_by_merge"].get("near_duplicate", 0) + report["removed_by_merge"].get("exact_duplicate", 0)
        print(f"n={n:,} in {args.shards} shards: merge {seconds:.1f} s ({n / seconds:,.0f} samples/s), "
              f"peak {peak_mb:,.0f} MB (main + concurrent readers); parse-only reference {parse_s:.1f} s (merge = {seconds / parse_s:.1f}x); "
              f"planted {planted} cross-shard near-duplicates, removed {removed}")  # fmt: skip
        print(f"  {summary}")
        print(f"  memory: {TARGET_MB / peak_mb:.2f} (target / measured, >= 1 is within {TARGET_MB} MB)")
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
