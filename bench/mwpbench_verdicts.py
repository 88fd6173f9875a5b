"""Build the (completion, reference) table that pins ``grade --mode mwpbench`` to the official check.

References are real answers sampled from the benchmark files (GSM8K, MATH, CollegeMath, TAL,
AGIEval, Gaokao, Math23K, Ape210K: numbers, LaTeX, intervals, lists, choice letters);
completions are the shapes models write around them: "The answer is ...", ``\\boxed{}`` (last
of several, nested, unbalanced, containing more than the answer), ``\\fbox``, "#### n",
choices as ``(C)``/``\\text{(C)}``, lists, units, percentages, LaTeX and slash fractions,
thousands separators, wrong answers, truncated and empty completions. The verdicts come from
running the OFFICIAL ``util.py`` of microsoft/unilm (``mathscale/MWPBench/eval_vllm/util.py``),
which is not part of this project: fetch it yourself and pass its path.

    # write the table the test reads (tests/data/mwpbench_verdicts.jsonl.gz)
    python bench/mwpbench_verdicts.py --official /tmp/unilm/mathscale/MWPBench/eval_vllm/util.py
    # compare mathscale's mwpbench mode with the official check on many fresh cases (nothing written)
    python bench/mwpbench_verdicts.py --official .../util.py --compare 50000 --seed 7

A reference on which the official code raises (it would drop the whole task) is stored with
verdict ``null``.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import importlib.util
import io
import json
import random
import sys
from pathlib import Path

from bench_grader import perturb, rewrite

from mathscale.eval.mwpbench_check import official_grade, reference_crashes

DEFAULT_DATA = Path("/work/shared/data/benchmarks")
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "mwpbench_verdicts.jsonl.gz"

PREFIXES = [
    "",
    "First, 12 + 7 = 19 and 19 * 2 = 38.\n",
    "Let's solve step by step. We have 3 apples and 4 pears, so 7 fruits.\n",
    "This is a classic problem. The total is 45 minutes.\n",
    "We compute $\\frac{3}{4} \\cdot 8 = 6$.\n",
    "Step 1: x + 2 = 5, so x = 3.\nStep 2: 3 * 10 = 30.\n",
    "The probability of rolling a 6 is 1/6.\n",
    "Since $2^{10} = 1,024$, we look at the remainder.\n",
    "Note that $\\boxed{5}$ was a guess, now we check.\n",
]
CHOICE_FORMS = ["({L})", "\\text{{({L})}}", "{L}", "({l})", "{L}: {text}", "({L}) {text}", "option {L}", "\\boxed{{{L}}}",
                "\\boxed{{\\text{{({L})}}}}", "\\boxed{{({L})}}", "$\\boxed{{\\textbf{{({L})}}}}$"]  # fmt: skip


def _load_official(path: Path):
    spec = importlib.util.spec_from_file_location("official_mwpbench_util", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _official_verdict(module, completion: str, reference: str) -> bool | None:
    with contextlib.redirect_stdout(io.StringIO()):  # it prints its exceptions
        try:
            return bool(module.is_correct(completion, reference)[0])
        except Exception:  # noqa: BLE001 - the official driver drops the task here
            return None


def _answers(data: Path, per_file: int, rng: random.Random) -> list[tuple[str, str, dict]]:
    """(source, reference, options) sampled from each benchmark file."""
    out = []
    for path in sorted(data.glob("*.jsonl")):
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        rng.shuffle(rows)
        taken = 0
        for row in rows:
            answer = row.get("answer")
            if answer in (None, ""):
                continue
            options = row.get("options") if isinstance(row.get("options"), dict) else {}
            out.append((path.stem, str(answer), options))
            taken += 1
            if taken >= per_file:
                break
    return out


def _state(value: str, rng: random.Random) -> str:
    """One way a completion ends on ``value``."""
    forms = [
        "The answer is {v}.", "The answer is ${v}$.", "Therefore, the final answer is $\\boxed{{{v}}}$.",
        "So the answer is $\\boxed{{{v}}}$. I hope it is correct.", "#### {v}", "The solution is {v}.",
        "So we get {v}", "Hence x = {v}.", "\\fbox{{{v}}}", "The answer is: {v}.\nThis is the final result.",
        "the answer is {v} dollars.", "\\boxed{{{v} \\text{{ cm}}}}", "The answer is {v}\\%.", "\\boxed{{{v}^\\circ}}",
        "THE ANSWER IS {v}", "The answer is {v}.\n\n", "Final: \\boxed{{\\text{{{v}}}}}", "\\boxed{{x = {v}}}",
        "\\boxed{{2({v})}}", "The answer is {v} and not 7.", "Answer: {v}", "which is {v}.",
        "The answer is \\( {v} \\).", "The answer is $\\left( {v} \\right)$.", "The answer is (({v})/(2)).",
    ]  # fmt: skip
    return rng.choice(forms).format(v=value)


def _variants(reference: str, options: dict, rng: random.Random) -> list[str]:
    """Completions for one reference: right, rewritten, wrong, odd shapes."""
    values = [reference]
    for make in (rewrite, perturb):
        try:
            other = make(reference, rng)
        except Exception:  # noqa: BLE001 - the rewriters are heuristics; no variant then
            other = None
        if other:
            values.append(other)
    stripped = reference.strip("$")
    if stripped.isdigit() and len(stripped) >= 4:
        values.append(f"{int(stripped):,}")
    if "," in reference:
        values.append(", ".join(p.strip() for p in reversed(reference.split(","))))
        values.append("\\{" + reference + "\\}")
    if "\\frac" in reference:
        values.append(reference.replace("\\frac", "\\dfrac"))
    letter = reference.strip().strip("()").upper()
    if len(letter) == 1 and letter in "ABCDE":
        text = str(options.get(letter, ""))
        picks = rng.sample(CHOICE_FORMS, 4)
        values += [f.format(L=letter, l=letter.lower(), text=text) for f in picks]
        other = rng.choice([c for c in "ABCDE" if c != letter])
        values.append(rng.choice(CHOICE_FORMS).format(L=other, l=other.lower(), text=str(options.get(other, ""))))
        if text:
            values.append(text)
    completions = [rng.choice(PREFIXES) + _state(v, rng) for v in values]
    full = rng.choice(PREFIXES) + _state(reference, rng)
    odd = [
        "",
        rng.choice(PREFIXES).strip(),
        full[: rng.randrange(1, max(2, len(full)))],  # cut off by max_new_tokens
        f"\\boxed{{{perturb_safe(reference, rng)}}} first, but then \\boxed{{{reference}}}",
        f"\\boxed{{{reference}",  # unbalanced
        f"The answer is {reference}.\nThe answer is {perturb_safe(reference, rng)}.",
        f"The solution is {reference}. The answer is 12.",
    ]
    return completions + rng.sample(odd, 3)


def perturb_safe(reference: str, rng: random.Random) -> str:
    try:
        return perturb(reference, rng) or "0"
    except Exception:  # noqa: BLE001
        return "0"


def build_cases(data: Path, per_file: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    cases, seen = [], set()
    for source, reference, options in _answers(data, per_file, rng):
        for completion in _variants(reference, options, rng):
            key = (completion, reference)
            if key not in seen:
                seen.add(key)
                cases.append({"source": source, "completion": completion, "reference": reference})
    return cases


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--official", type=Path, required=True, help="path to the official MWPBench eval_vllm/util.py")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--per-file", type=int, default=25, help="answers sampled per benchmark file")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--compare", type=int, default=0, metavar="N",
                        help="instead of writing the table, compare mathscale with the official check on about N fresh cases")  # fmt: skip
    args = parser.parse_args(argv)
    official = _load_official(args.official)
    if args.compare:
        per_file = max(1, args.compare // (14 * len(list(args.data.glob("*.jsonl")))))
        cases = build_cases(args.data, per_file, args.seed)
        differ = []
        for case in cases:
            expected = _official_verdict(official, case["completion"], case["reference"])
            ours = official_grade(case["completion"], case["reference"])[1]
            if expected is None and not reference_crashes(case["reference"]) or expected is not None and ours != expected:
                differ.append({**case, "official": expected, "mathscale": ours})
        print(f"{len(cases)} cases: {len(cases) - len(differ)} identical verdicts "
              f"({100 * (1 - len(differ) / len(cases)):.3f}%), {len(differ)} differ")  # fmt: skip
        for row in differ[:20]:
            print(json.dumps(row, ensure_ascii=False))
        return 0
    cases = build_cases(args.data, args.per_file, args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(args.out, "wt", encoding="utf-8", compresslevel=9) as handle:
        for case in cases:
            verdict = _official_verdict(official, case["completion"], case["reference"])
            handle.write(json.dumps({**case, "official": verdict}, ensure_ascii=False) + "\n")
    right = sum(1 for c in cases if _official_verdict(official, c["completion"], c["reference"]))
    print(f"wrote {len(cases)} cases ({right} right by the official check) to {args.out} ({args.out.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
