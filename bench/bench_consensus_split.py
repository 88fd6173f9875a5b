"""How many consensus votes split only because equal answers were written differently.

Collect real solver replies (the embedded teacher solving benchmark questions ``k`` times
with the consensus solve prompt, as ``generate`` does with ``consensus.enabled``), then tally
each question's answers three ways and count the votes that split (more than one group):

- ``strings``: answers equal as written (after stripping spaces);
- ``fast path``: :func:`mathscale.eval.equivalence.equivalent` without math-verify (what
  the vote used before issue 24);
- ``grader``: the grader's equivalence, the fast path then math-verify under a time limit
  (what :func:`mathscale.generate.consensus.tally` uses now).

Every pair of groups that one way keeps apart and the next merges is printed, so that a
reader can check each merge is a true one.

    python bench/bench_consensus_split.py collect --out /tmp/replies.jsonl [--questions 30 --k 4]
    python bench/bench_consensus_split.py tally /tmp/replies.jsonl
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

from mathscale.generate.consensus import tally
from mathscale.generate.requests import solve_prompt

DEFAULT_DATA = Path("/work/shared/data/benchmarks")


def collect(args: argparse.Namespace) -> int:
    from llama_cpp import Llama

    from mathscale.eval.final_answer import extract_answer
    from mathscale.generate.requests import ANSWER_SECTION, SOLVE_SECTIONS, answer_of
    from mathscale.llm.sections import parse_sections

    model = Path.home() / ".cache/mathscale/models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
    llm = Llama(str(model), n_ctx=2048, n_threads=args.threads, verbose=False)
    prompt = solve_prompt("solve.v2")
    rng = random.Random(args.seed)
    rows = []
    for name in ("math_test", "gsm8k_test", "college_math_test"):
        lines = (args.data / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
        picked = rng.sample(lines, max(1, args.questions // 3))
        rows += [json.loads(line) for line in picked]
    started = time.perf_counter()
    with args.out.open("w", encoding="utf-8") as out:
        for n, row in enumerate(rows, 1):
            answers = []
            for j in range(args.k):
                reply = llm.create_chat_completion(prompt.messages(question=row["question"]), temperature=0.7,
                                                   max_tokens=args.max_tokens, seed=args.seed * 1000 + j)  # fmt: skip
                text = reply["choices"][0]["message"]["content"] or ""
                try:
                    data = parse_sections(text, SOLVE_SECTIONS, ANSWER_SECTION)
                except Exception:  # noqa: BLE001 - a reply without its sections gives no vote
                    data = {}
                answers.append((answer_of(data) if data else "") or extract_answer(text) or "")
            out.write(json.dumps({"id": row.get("id"), "reference": row.get("answer"), "answers": answers}) + "\n")
            out.flush()
            print(f"{n}/{len(rows)} ({time.perf_counter() - started:.0f} s): {answers}", flush=True)
    return 0


def _strings(a: str, b: str) -> bool:
    return a.replace(" ", "") == b.replace(" ", "")


def _fast(a: str, b: str) -> bool:
    from mathscale.eval.equivalence import equivalent

    return equivalent(a, b)


def run_tally(args: argparse.Namespace) -> int:
    votes = [json.loads(line) for line in args.replies.read_text(encoding="utf-8").splitlines() if line.strip()]
    ways = {"strings": _strings, "fast path": _fast, "grader": None}  # None: tally's default
    results = {}
    for name, same in ways.items():
        started = time.perf_counter()
        results[name] = [tally(v["answers"], same) if same else tally(v["answers"]) for v in votes]
        print(f"  {name}: {time.perf_counter() - started:.2f} s")
    voted = [i for i, v in enumerate(results["strings"]) if v is not None]
    print(f"\n{len(votes)} questions, {len(voted)} with a vote, {sum(len(v['answers']) for v in votes)} replies")
    print("\n| grouping | split votes | groups (all votes) | mean winning share |")
    print("|---|---|---|---|")
    for name, tallies in results.items():
        done = [tallies[i] for i in voted]
        split = sum(len(t.groups) > 1 for t in done)
        print(f"| {name} | {split} | {sum(len(t.groups) for t in done)} | {sum(t.share for t in done) / len(done):.3f} |")
    names = list(results)
    for before, after in zip(names, names[1:]):
        print(f"\nmerged by '{after}' but not by '{before}':")
        for i in voted:
            a, b = results[before][i], results[after][i]
            if len(b.groups) < len(a.groups):
                print(f"  {votes[i]['id']}: {[a.answers[g[0]] for g in a.groups]} -> {[b.answers[g[0]] for g in b.groups]}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("collect", help="solve benchmark questions k times with the embedded teacher")
    c.add_argument("--out", type=Path, required=True)
    c.add_argument("--data", type=Path, default=DEFAULT_DATA)
    c.add_argument("--questions", type=int, default=30)
    c.add_argument("--k", type=int, default=4)
    c.add_argument("--max-tokens", type=int, default=384)
    c.add_argument("--threads", type=int, default=2)
    c.add_argument("--seed", type=int, default=0)
    t = sub.add_parser("tally", help="count split votes in collected replies")
    t.add_argument("replies", type=Path)
    args = parser.parse_args(argv)
    return collect(args) if args.command == "collect" else run_tally(args)


if __name__ == "__main__":
    sys.exit(main())
