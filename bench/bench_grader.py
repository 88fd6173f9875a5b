"""Grader accuracy and speed on a labelled set built from the real MWPBench test sets.

For each sampled benchmark record we make three completions:

- ``reference``: the record's own solution when it has one (MATH's boxed solutions, GSM8K's
  "#### 18"), else a short completion ending in the reference answer in one of the usual
  forms ("The answer is ...", ``\\boxed{...}``) — labelled right;
- ``rewrite``: the same answer written differently but equivalently (fraction <-> decimal,
  thousands separators, ``\\dfrac``, ``\\left(``, reordered sets and sums, "x =", the option's
  letter as "(C)" or its text) — labelled right;
- ``perturbed``: a wrong answer close to the reference (off by one, swapped fraction,
  flipped interval bracket, dropped set element, changed sign or digit, another option) —
  labelled wrong.

Then the ``mathscale`` grader, the official MWPBench check (``mwpbench`` mode) and, when it
is installed, math-verify grade all of them in this process: agreement with the labels,
false accepts, false rejects, items/s, timeouts, and the slowest item (the eval path:
:func:`~mathscale.eval.grader.grade_all`, math-verify's share in ``--workers`` processes).
``--seed`` draws another sample: the grader was developed on seed 0, so other seeds are
held out.

The same three graders are then scored per kind on the written-answer tables of issue 24:
``tests/support/grader_tables.py`` (the development table, which the tests assert) and
``tests/support/grader_heldout.py`` (written after development and not tuned on).

    python bench/bench_grader.py [--data /work/shared/data/benchmarks] [--per-file 400] [--seed 1] [--dump DIR]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # tests.support, the grader tables (benchmarks run as `python bench/<name>.py`)

from mathscale.eval.choices import is_choice_reference, options_from_field, parse_options, reference_letter  # noqa: E402
from mathscale.eval.equivalence import split_top  # noqa: E402
from mathscale.eval.grader import GradeItem, grade_all  # noqa: E402
from mathscale.eval.answer_normalize import strip_delimiters  # noqa: E402

DEFAULT_DATA = Path("/work/shared/data/benchmarks")
FILLER = "Let me work through this step by step. First, 3 + 4 = 7 and 12 / 3 = 4.\n"


@dataclass(frozen=True)
class Labelled:
    kind: str  # reference | rewrite | perturbed
    source: str
    item: GradeItem
    label: bool


def _state(answer: str, rng: random.Random, plain: bool = False) -> str:
    """A completion that states ``answer`` the way models do."""
    inner = strip_delimiters(answer)
    forms = [f"The answer is {answer}.", f"Therefore, the final answer is $\\boxed{{{inner}}}$.", f"So we get $\\boxed{{{inner}}}$."]
    if plain:
        forms.append(f"So the result is {inner}.\n#### {inner}")
    return FILLER + rng.choice(forms)


_INT = re.compile(r"^-?\d+$")
_DEC = re.compile(r"^-?\d+\.\d+$")
_FRAC = re.compile(r"^(-?)\\[dt]?frac\{(\d+)\}\{(\d+)\}$")


def rewrite(answer: str, rng: random.Random) -> str | None:
    """An equivalent way of writing ``answer``, or None when we have none."""
    a = strip_delimiters(answer).strip()
    if _INT.match(a):
        n = int(a)
        forms = [f"{n}.0", f"x = {n}"]
        if abs(n) >= 1000:
            forms.append(f"{n:,}")
        return rng.choice(forms)
    if _DEC.match(a):
        value = Fraction(a)
        if value.denominator <= 64:
            return f"\\frac{{{value.numerator}}}{{{value.denominator}}}" if value > 0 else f"-\\frac{{{-value.numerator}}}{{{value.denominator}}}"
        return a + "0"
    frac = _FRAC.match(a)
    if frac:
        sign, p, q = frac.groups()
        value = Fraction(int(p), int(q))
        if q and 1000 % value.denominator == 0 or value.denominator in (2, 4, 5, 8, 16, 20, 25, 40, 50):
            return sign + str(float(value))
        return rng.choice([f"{sign}{p}/{q}", f"{sign}\\dfrac{{{p}}}{{{q}}}"])
    if a.startswith("\\{") and a.endswith("\\}"):
        items = split_top(a[2:-2])
        if len(items) > 1:
            return "\\{" + ", ".join(reversed(items)) + "\\}"
    if "=" not in a and "\\pm" not in a and "," not in a:
        terms = split_top(a, "+")
        if len(terms) == 2 and all(t and not t.startswith("-") and "-" not in t for t in terms):
            return f"{terms[1]} + {terms[0]}"
    if "(" in a and "\\left" not in a:
        return a.replace("(", "\\left(").replace(")", "\\right)")
    if "\\frac" in a:
        return a.replace("\\frac", "\\dfrac")
    return None


def perturb(answer: str, rng: random.Random) -> str | None:
    """A wrong answer close to ``answer``, or None."""
    a = strip_delimiters(answer).strip()
    if _INT.match(a):
        n = int(a)
        return str(rng.choice([n + 1, n - 1, 10 * n if n else 7, n + 10]))
    if _DEC.match(a):
        return str(round(float(a) * rng.choice([1.5, 0.5, 2]), 6))
    frac = _FRAC.match(a)
    if frac:
        sign, p, q = frac.groups()
        if p != q:
            return f"{sign}\\frac{{{q}}}{{{p}}}"
        return f"{sign}\\frac{{{int(p) + 1}}}{{{q}}}"
    if len(a) >= 5 and a[0] in "([" and a[-1] in ")]" and "," in a:
        items = split_top(a[1:-1])
        if len(items) == 2 and "infty" not in a:
            return ("[" if a[0] == "(" else "(") + a[1:]
        if len(items) >= 2 and items[0] != items[1]:
            return a[0] + ", ".join([items[1], items[0], *items[2:]]) + a[-1]
    if a.startswith("\\{") and a.endswith("\\}"):
        items = split_top(a[2:-2])
        if len(items) > 1:
            return "\\{" + ", ".join(items[:-1]) + "\\}"
    signs = [m.start() for m in re.finditer(r"(?<=[\w})])\s*[+-]", a)]
    if signs:
        i = rng.choice(signs)
        j = i + len(a[i:]) - len(a[i:].lstrip())
        return a[:j] + ("-" if a[j] == "+" else "+") + a[j + 1 :]
    digits = [m.start() for m in re.finditer(r"\d", a)]
    if digits:
        i = rng.choice(digits)
        return a[:i] + str((int(a[i]) + rng.randint(1, 8)) % 10) + a[i + 1 :]
    if re.fullmatch(r"\\?[a-zA-Z]+", a):
        return None
    return a + "+1" if len(a) < 40 else None


def build_set(data: Path, per_file: int, seed: int) -> list[Labelled]:
    rng = random.Random(seed)
    out: list[Labelled] = []
    for path in sorted(data.glob("*.jsonl")):
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        rng.shuffle(rows)
        for row in rows[:per_file]:
            answer = str(row.get("answer", "")).strip()
            if not answer:
                continue
            source = path.stem
            if is_choice_reference(answer):
                options = options_from_field(row.get("options")) or parse_options(row.get("question", ""))
                letter = reference_letter(answer)
                if letter not in options:
                    continue
                out.append(Labelled("reference", source, GradeItem(FILLER + f"The answer is ({letter}).", answer, options), True))
                text = options[letter]
                if sum(v.strip() == text.strip() for v in options.values()) == 1:
                    out.append(Labelled("rewrite", source, GradeItem(FILLER + f"The answer is {text}.", answer, options), True))
                other = rng.choice([k for k in options if k != letter])
                out.append(Labelled("perturbed", source, GradeItem(FILLER + f"The answer is ({other}).", answer, options), False))
                continue
            solution = row.get("solution") or ""
            if "\\boxed" in solution or "####" in solution:
                completion = solution
            else:
                completion = _state(answer, rng, plain=bool(_INT.match(answer)))
            out.append(Labelled("reference", source, GradeItem(completion, answer), True))
            other = rewrite(answer, rng)
            if other is not None:
                out.append(Labelled("rewrite", source, GradeItem(_state(other, rng), answer), True))
            wrong = perturb(answer, rng)
            if wrong is not None and wrong.replace(" ", "") != strip_delimiters(answer).replace(" ", ""):
                out.append(Labelled("perturbed", source, GradeItem(_state(wrong, rng), answer), False))
    return out


def _math_verify_grader():
    try:
        from math_verify import LatexExtractionConfig, StringExtractionConfig, parse, verify
    except ImportError:
        return None
    letters = [StringExtractionConfig(), LatexExtractionConfig()]

    def judge(item: GradeItem) -> bool:
        if item.options:
            gold = parse(item.reference, extraction_config=letters)
            return bool(verify(gold, parse(item.completion, extraction_config=letters)))
        gold = parse(f"${strip_delimiters(item.reference)}$")
        return bool(verify(gold, parse(item.completion)))

    return judge


def _judge_all(judge, items: list[GradeItem]) -> list[bool]:
    verdicts = []
    for item in items:
        try:
            verdicts.append(bool(judge(item)))
        except Exception:  # noqa: BLE001 - a crash is a "no" for this comparison
            verdicts.append(False)
    return verdicts


def slowest_item(items: list[GradeItem]) -> float:
    """Seconds of the slowest item on the in-process path (what grade_all does before its workers)."""
    from mathscale.eval.grader import grade
    from mathscale.eval.symbolic import NeedsSymbolic, defer

    worst = 0.0
    for item in items:
        started = time.perf_counter()
        try:
            grade(item.completion, item.reference, options=item.options, symbolic=defer)
        except NeedsSymbolic:
            pass
        worst = max(worst, time.perf_counter() - started)
    return worst


def tables(judge, workers: int) -> None:
    """Agreement, false accepts and false rejects per kind on the tables of issue 24."""
    from tests.support import grader_heldout, grader_tables

    for title, kinds in (("development table (tests/support/grader_tables.py)", grader_tables.KINDS),
                         ("held-out table (tests/support/grader_heldout.py)", grader_heldout.KINDS)):  # fmt: skip
        cases = [(kind, c) for kind, rows in kinds.items() for c in rows]
        items = [GradeItem(c.completion, c.reference, c.options or {}) for _, c in cases]
        verdicts, speed = {}, {}
        for mode in ("mathscale", "mwpbench"):
            started = time.perf_counter()
            verdicts[mode] = [v.correct for v in grade_all(items, mode, timeout=5.0, workers=workers).verdicts]
            speed[mode] = len(items) / (time.perf_counter() - started)
        if judge is not None:
            started = time.perf_counter()
            verdicts["math-verify"] = _judge_all(judge, items)
            speed["math-verify"] = len(items) / (time.perf_counter() - started)
        print(f"\n{title}: {len(cases)} cases")
        print("| kind | n | " + " | ".join(f"{g}: agree / FA / FR" for g in verdicts) + " |")
        print("|---|---|" + "---|" * len(verdicts))
        for kind in [*kinds, "all"]:
            idx = [i for i, (k, _) in enumerate(cases) if kind in (k, "all")]
            cells = []
            for v in verdicts.values():
                agree = sum(v[i] == cases[i][1].expected for i in idx)
                fa = sum(v[i] and not cases[i][1].expected for i in idx)
                fr = sum(not v[i] and cases[i][1].expected for i in idx)
                cells.append(f"{100 * agree / len(idx):.1f}% / {fa} / {fr}")
            print(f"| {kind} | {len(idx)} | " + " | ".join(cells) + " |")
        print("items/s: " + ", ".join(f"{g} {s:,.0f}" for g, s in speed.items()))


def score(name: str, verdicts: list[bool], labelled: list[Labelled], seconds: float, timeouts: int) -> dict:
    agree = sum(v == x.label for v, x in zip(verdicts, labelled))
    false_accepts = sum(v and not x.label for v, x in zip(verdicts, labelled))
    false_rejects = sum(x.label and not v for v, x in zip(verdicts, labelled))
    n = len(labelled)
    by_kind = {}
    for kind in ("reference", "rewrite", "perturbed"):
        pairs = [(v, x) for v, x in zip(verdicts, labelled) if x.kind == kind]
        by_kind[kind] = sum(v == x.label for v, x in pairs) / max(1, len(pairs))
    return {
        "grader": name, "agreement": agree / n, "false_accepts": false_accepts, "false_rejects": false_rejects,
        "items_per_s": n / seconds, "seconds": seconds, "timeouts": timeouts, "by_kind": by_kind,
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--per-file", type=int, default=400, help="records sampled from each benchmark file")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-math-verify", action="store_true")
    parser.add_argument("--workers", type=int, default=1, help="processes for math-verify's share (eval uses 1)")
    parser.add_argument("--no-tables", action="store_true", help="skip the tables of issue 24")
    parser.add_argument("--dump", type=Path, help="write each grader's disagreements here as JSONL")
    args = parser.parse_args(argv)

    labelled = build_set(args.data, args.per_file, args.seed)
    kinds = {k: sum(x.kind == k for x in labelled) for k in ("reference", "rewrite", "perturbed")}
    print(f"labelled set: {len(labelled)} items from {args.data} ({kinds})")
    items = [x.item for x in labelled]
    results, verdicts_by = [], {}
    for mode in ("mathscale", "mwpbench"):
        started = time.perf_counter()
        report = grade_all(items, mode, timeout=5.0, workers=args.workers)
        seconds = time.perf_counter() - started
        verdicts_by[mode] = [v.correct for v in report.verdicts]
        results.append(score(mode, verdicts_by[mode], labelled, seconds, report.timeouts))
        if mode == "mathscale":
            print(f"  mathscale: {report.symbolic} items went to math-verify; slowest item in process "
                  f"{slowest_item(items) * 1000:.1f} ms (timeout 5 s)")
    judge = None if args.no_math_verify else _math_verify_grader()
    if judge is None:
        print("  math-verify: not installed (pip install math-verify) or skipped")
    else:
        started = time.perf_counter()
        verdicts = _judge_all(judge, items)
        verdicts_by["math-verify"] = verdicts
        results.append(score("math-verify", verdicts, labelled, time.perf_counter() - started, 0))

    print("\n| grader | agreement | false accepts | false rejects | items/s | timeouts | reference | rewrite | perturbed |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        k = r["by_kind"]
        print(f"| {r['grader']} | {100 * r['agreement']:.2f}% | {r['false_accepts']} | {r['false_rejects']} | "
              f"{r['items_per_s']:,.0f} | {r['timeouts']} | {100 * k['reference']:.1f}% | {100 * k['rewrite']:.1f}% | "
              f"{100 * k['perturbed']:.1f}% |")  # fmt: skip
    if args.dump:
        args.dump.mkdir(parents=True, exist_ok=True)
        for name, verdicts in verdicts_by.items():
            with (args.dump / f"{name}.disagreements.jsonl").open("w", encoding="utf-8") as handle:
                for v, x in zip(verdicts, labelled):
                    if v != x.label:
                        row = {"kind": x.kind, "source": x.source, "label": x.label, "verdict": v,
                               "reference": x.item.reference, "completion": x.item.completion[-300:]}  # fmt: skip
                        handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        print(f"disagreements written to {args.dump}/")
    if not args.no_tables:
        tables(judge, args.workers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
