"""``mathscale generate merge`` at scale: time and peak memory at 200K and 2M samples (issue 13).

Writes k synthetic shards of qa/1 samples (questions of ~40 words drawn from a 5,000-word
vocabulary, so MinHash sees realistic shingles), with 0.1 % of the samples planted as
near-duplicates of a sample in another shard, then runs the real command in a subprocess,
``mathscale generate merge SHARD... --out merged.jsonl dataset=BOOL``, once with the
Hugging Face copy off (JSONL only) and once on (the default).

Memory: a thread reads ``/proc/PID/status`` of the merge process and of every live
descendant (the shard readers; psutil lists them) together, every 0.05 s; "tree peak" is the
largest sum of their RSS seen at one moment, also given for anonymous memory alone (RSS less
mapped files: libraries, memory-mapped Arrow files, which the kernel can drop). RSS counts
the shared libraries (Python, numpy, pyarrow) once per process, so the sum overstates what
the tree holds; a spike shorter than 0.05 s can fall between samples. Per process: its own
peak (``VmHWM``, kept by the kernel, so not sampled), and for the merge process also
``ru_maxrss``; with them a bound no spike can break: the merge process's peak plus, for each
reader alive at once, the largest reader's peak. Not used: ``RUSAGE_CHILDREN``, which reports
for a child the parent's peak at the moment it was started (vfork + exec; a ``/bin/true``
started from a 500 MB process counts 513 MB). Target: tree peak <= 4 GB at 2M.

Time reference, measured in the same run: the merge's first pass alone (reading,
validating and MinHash-signing every shard in the same parallel readers, what every merge
must do), and reading + JSON-parsing every line in one process.

    python bench/bench_merge.py [--sizes 200000 2000000] [--shards 8] [--dataset false true]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

TARGET_MB = 4096
WORDS = [f"w{i}" for i in range(5000)]
ENV = {**os.environ, "HF_DATASETS_DISABLE_PROGRESS_BARS": "1"}
PEAK = "import resource; print('peak_kb', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"


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
                    question = "A baker has " + " ".join(rng.choices(WORDS, k=40)) + ". How many are left?"
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


class TreeSampler(threading.Thread):
    """Samples the RSS of a process and its live descendants together until stopped."""

    def __init__(self, pid: int, interval: float = 0.05):
        super().__init__(daemon=True)
        self.root, self.interval, self.done = psutil.Process(pid), interval, threading.Event()
        self.started = time.perf_counter()
        self.tree_peak, self.tree_peak_at, self.anon_peak, self.most_alive = 0, 0.0, 0, 0
        self.peaks: dict[int, tuple[str, int]] = {}  # pid -> (role, peak RSS)

    def run(self) -> None:
        while not self.done.is_set():
            total, anon, alive = 0, 0, 0
            try:
                procs = [self.root, *self.root.children(recursive=True)]
            except psutil.NoSuchProcess:
                return
            for proc in procs:
                try:
                    rss, rss_anon, hwm = resident(proc.pid)
                    role = self.peaks.get(proc.pid, (None,))[0] or role_of(proc, self.root)
                except (OSError, KeyError, psutil.Error):  # ended (or a zombie) between listing and reading
                    continue
                total, anon = total + rss, anon + rss_anon
                alive += role == "reader"
                self.peaks[proc.pid] = (role, hwm)  # the process's own peak so far, kept by the kernel
            if total > self.tree_peak:
                self.tree_peak, self.tree_peak_at = total, time.perf_counter() - self.started
            self.anon_peak = max(self.anon_peak, anon)
            self.most_alive = max(self.most_alive, alive)
            self.done.wait(self.interval)

    def largest(self, role: str) -> tuple[int, int]:
        """(largest RSS of any process in this role, how many there were)."""
        sizes = [rss for r, rss in self.peaks.values() if r == role]
        return max(sizes, default=0), len(sizes)


def resident(pid: int) -> tuple[int, int, int]:
    """(RSS, its anonymous part, peak RSS so far) of a process in bytes, from /proc/PID/status.
    The rest of RSS is file pages mapped in (libraries, memory-mapped Arrow files) that the
    kernel can drop; the peak (VmHWM) is exact, not sampled."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return tuple(int(fields[key].split()[0]) * 1024 for key in ("VmRSS", "RssAnon", "VmHWM"))  # type: ignore[return-value]


def role_of(proc: psutil.Process, root: psutil.Process) -> str:
    if proc.pid == root.pid:
        return "main"
    line = " ".join(proc.cmdline())
    return "resource tracker" if "resource_tracker" in line else "reader" if "multiprocessing" in line else "other"


def run_python(code: str, argv: list[str]) -> tuple[float, TreeSampler, str]:
    """Run ``python -c code argv...``, sampling its memory; (seconds, sampler, stdout)."""
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=ENV)  # fmt: skip
    sampler = TreeSampler(proc.pid)
    sampler.start()
    stdout, stderr = proc.communicate()
    seconds = time.perf_counter() - started
    sampler.done.set()
    sampler.join()
    if proc.returncode:
        raise SystemExit(f"{' '.join(argv[:3])}... failed ({proc.returncode}):\n{stderr[-3000:]}")
    return seconds, sampler, stdout


def first_pass(paths: list[Path]) -> tuple[float, TreeSampler]:
    """The merge's reading pass alone, as the merge runs it (same readers, same config)."""
    code = ("import sys; from pathlib import Path; from mathscale.generate.dedup import DedupConfig; "
            "from mathscale.generate.merge import read_shards; read_shards([Path(p) for p in sys.argv[1:]], DedupConfig())")  # fmt: skip
    seconds, sampler, _ = run_python(code, list(map(str, paths)))
    return seconds, sampler


def run_merge(paths: list[Path], out: Path, dataset: bool) -> tuple[float, TreeSampler, int]:
    code = f"import sys; from mathscale.cli import main; code = main(sys.argv[1:]); {PEAK}; sys.exit(code)"
    argv = ["generate", "merge", *map(str, paths), "--out", str(out), f"dataset={str(dataset).lower()}"]
    seconds, sampler, stdout = run_python(code, argv)
    return seconds, sampler, int(stdout.rsplit("peak_kb", 1)[1].split()[0]) * 1024


def mb(n_bytes: int) -> str:
    return f"{n_bytes / 2**20:,.0f} MB"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[200_000, 2_000_000])
    parser.add_argument("--shards", type=int, default=8)
    parser.add_argument("--dataset", nargs="+", choices=["false", "true"], default=["false", "true"],
                        help="merge with the Hugging Face copy off, on, or both (one run each)")  # fmt: skip
    parser.add_argument("--dir", default="/tmp/mathscale-merge-bench")
    args = parser.parse_args(argv)
    root = Path(args.dir)
    worst = 0
    for n in args.sizes:
        folder = root / f"n{n}"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        started = time.perf_counter()
        paths, planted = write_shards(folder, n, args.shards)
        size = sum(p.stat().st_size for p in paths)
        print(f"n={n:,}: {args.shards} shards, {size / 2**20:,.0f} MB, written in {time.perf_counter() - started:.0f} s; "
              f"{planted} cross-shard near-duplicates planted", flush=True)  # fmt: skip
        load = os.getloadavg()[0]
        parse_s = parse_all(paths)
        read_s, read_mem = first_pass(paths)
        print(f"  reference: JSON-parse every line, one process {parse_s:.1f} s; the merge's first pass alone "
              f"(read, validate, sign; parallel readers) {read_s:.1f} s, tree peak {mb(read_mem.tree_peak)}; "
              f"load average {load:.1f} before, {os.getloadavg()[0]:.1f} after", flush=True)  # fmt: skip
        for dataset in args.dataset:
            out = folder / f"merged-{dataset}.jsonl"
            load = os.getloadavg()[0]
            seconds, mem, main_peak = run_merge(paths, out, dataset == "true")
            report = json.loads(out.with_suffix(".report.json").read_text())
            removed = sum(report["removed_by_merge"].values())
            reader, readers = mem.largest("reader")
            worst = max(worst, mem.tree_peak)
            print(f"  dataset={dataset}: merge {seconds:.1f} s ({n / seconds:,.0f} samples/s; {seconds / read_s:.2f}x the "
                  f"first pass, {seconds / parse_s:.1f}x parse-only); kept {report['produced']:,}, removed {removed} "
                  f"({report['removed_by_merge']}) of {planted} planted; load average {load:.1f} before, "
                  f"{os.getloadavg()[0]:.1f} after on {os.cpu_count()} cores", flush=True)  # fmt: skip
            print(f"    memory, process tree at one moment: peak {mb(mem.tree_peak)} at {mem.tree_peak_at:.0f} s "
                  f"(anonymous memory alone {mb(mem.anon_peak)}) "
                  f"(target {TARGET_MB} MB: {TARGET_MB * 2**20 / mem.tree_peak:.2f}x headroom); "
                  f"up to {mem.most_alive} readers alive at once", flush=True)  # fmt: skip
            bound = mem.largest("main")[0] + mem.most_alive * reader + mem.largest("resource tracker")[0]
            print(f"    per process peak: main {mb(mem.largest('main')[0])} (ru_maxrss {mb(main_peak)}), "
                  f"largest of {readers} reader processes {mb(reader)}; bound main + {mem.most_alive} readers + "
                  f"resource tracker {mb(bound)}", flush=True)  # fmt: skip
            if dataset == "true":
                shutil.rmtree(out.with_suffix(".dataset"), ignore_errors=True)
        shutil.rmtree(folder, ignore_errors=True)
    print(f"largest tree peak: {mb(worst)} (target {TARGET_MB} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
