"""Does LaTeX survive a model's reply? Real solutions rendered as replies, parsed back.

Every MATH and CollegeMath training record (question, solution, answer; CollegeMath has no
solutions, its questions and answers carry the LaTeX) becomes a reply the way models write
them, once as a question-writing reply (all three fields: ``generate_qa``) and once as a
solving reply (solution and answer: ``solve``, the consensus vote):

- JSON ``escaped``: correct JSON (every backslash doubled, newlines as ``\\n``);
- JSON ``raw``: JSON whose LaTeX backslashes are not doubled (``"$\\frac{1}{2}$"``), newlines
  and quotes still escaped: what models write when nothing forces them to escape;
- tagged ``as written``: ``### Question`` / ``### Solution`` / ``### Answer`` sections (the
  v2 prompts), the LaTeX exactly as in the source: what a model writes in a reply that is
  not JSON;
- tagged ``doubled``: the same with every backslash doubled, as a model in the habit of
  JSON strings might write it (``\\\\frac``);
- tagged ``bold, inline``: ``**Question:** text`` headings with the first line on the
  heading's line, after a sentence of preamble: a common looser form.

Each approach parses them back and must return every field byte-identical (after stripping
the surrounding whitespace, as mathscale does with every field of a sample):

- ``json.loads``: the standard decoder (what mathscale used first);
- ``parse_json_reply``: mathscale's JSON decoder, which keeps LaTeX commands literal
  (:func:`mathscale.llm.jsonparse.keep_latex`; the v1 prompts);
- ``parse_sections``: mathscale's tagged-section reader (:mod:`mathscale.llm.sections`; the
  v2 prompts, the default).

A field that differs is *corrupted* when it holds a control character the original did
not (a form feed from ``\\frac``, a backspace from ``\\begin``), else *lost* (text or
backslashes missing); a reply that does not parse is a *parse failure*. Time per reply is
printed as a ratio to ``json.loads`` on the escaped replies, measured in the same run.

    python bench/bench_latex_roundtrip.py [--data /work/shared/data/seeds] [--limit 0] [--show 3]

Without the data folder it renders generated LaTeX instead (same checks, fewer shapes).
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from mathscale.generate.requests import ANSWER_SECTION, QA_SECTIONS, SOLVE_SECTIONS
from mathscale.llm.jsonparse import ReplyError, has_control_chars, parse_json_reply
from mathscale.llm.sections import format_sections, parse_sections

DEFAULT_DATA = Path("/work/shared/data/seeds")
FILES = ("math_train.jsonl", "college_math_train.jsonl")
FIELDS = ("question", "solution", "answer")
# reply kind -> (its fields, the sections generate requires of it)
REPLIES = {"generate_qa": (FIELDS, QA_SECTIONS), "solve": (("solution", "answer"), SOLVE_SECTIONS)}


def load_records(folder: Path, limit: int) -> list[dict[str, str]]:
    records = []
    for name in FILES:
        path = folder / name
        if not path.exists():
            continue
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                obj = json.loads(line)
                if obj.get("question"):  # CollegeMath has no solutions: its questions and answers
                    records.append({f: str(obj.get(f) or "") for f in FIELDS})
    return records[:limit] if limit else records


def generated_records(n: int, seed: int = 0) -> list[dict[str, str]]:
    """LaTeX built from the commands that collide with JSON escapes, and a few that do not."""
    rng = random.Random(seed)
    pieces = [r"\frac{%d}{%d}", r"\begin{bmatrix} %d & %d \\ 1 & 0 \end{bmatrix}", r"\theta = %d^\circ",
              r"%d \times %d", r"x \neq %d", r"\left( %d + %d \right)", r"\sqrt{%d}", r"\nabla f = %d",
              r"\text{ cm}^%d", r"\tfrac{%d}{%d}", r"\binom{%d}{%d}", r"\begin{aligned} a &= %d \\ b &= %d \end{aligned}",
              r"\rho = %d", r"\not\equiv %d", r"\{%d, %d\}", r"\$%d.%d"]  # fmt: skip
    records = []
    for i in range(n):
        parts = []
        for _ in range(rng.randint(2, 6)):
            piece = rng.choice(pieces)
            parts.append("$" + piece % tuple(rng.randint(1, 99) for _ in range(piece.count("%d"))) + "$")
        solution = "We compute " + ", then ".join(parts) + ".\nSo the answer is $\\boxed{%d}$." % i
        records.append({"question": f"Evaluate {parts[0]}.", "solution": solution, "answer": parts[-1].strip("$")})
    return records


def render_escaped(record: dict[str, str]) -> str:
    return json.dumps(record, ensure_ascii=False)


def _raw_string(text: str) -> str:
    return '"' + text.replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t") + '"'


def render_raw(record: dict[str, str]) -> str:
    return "{" + ", ".join(f'"{k}": {_raw_string(v)}' for k, v in record.items()) + "}"


def render_tagged(record: dict[str, str]) -> str:
    return format_sections(record) + "\n"


def render_doubled(record: dict[str, str]) -> str:
    return render_tagged(record).replace("\\", "\\\\")


def render_bold_inline(record: dict[str, str]) -> str:
    return "Here is the new problem.\n\n" + "\n\n".join(f"**{k.capitalize()}:** {v}" for k, v in record.items())


def tagged_parser(required: tuple[str, ...]) -> Callable[[str], dict[str, str]]:
    """The reader ``generate`` uses: ``required`` sections, and the answer when there."""
    return lambda text: parse_sections(text, required, ANSWER_SECTION)


def verdict(original: dict[str, str], parsed: dict[str, str]) -> str:
    """"ok", "corrupted" (a control character made from LaTeX appeared) or "lost"."""
    if all(str(parsed.get(f)).strip() == original[f].strip() for f in original):
        return "ok"
    if any(has_control_chars(str(parsed.get(f, ""))) for f in original):
        return "corrupted"
    return "lost"


def measure(records: list[dict[str, str]], render: Callable, parse: Callable) -> tuple[Counter, float, list]:
    replies = [render(r) for r in records]
    outcome: Counter[str] = Counter()
    bad = []
    started = time.perf_counter()
    parsed_all = []
    for reply in replies:
        try:
            parsed_all.append(parse(reply))
        except (ValueError, ReplyError):
            parsed_all.append(None)
    elapsed = time.perf_counter() - started
    for record, reply, parsed in zip(records, replies, parsed_all):
        result = "parse_failure" if not isinstance(parsed, dict) else verdict(record, parsed)
        outcome[result] += 1
        if result != "ok":
            bad.append((result, reply, parsed))
    return outcome, elapsed / max(1, len(replies)), bad


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder with math_train.jsonl, college_math_train.jsonl")
    parser.add_argument("--limit", type=int, default=0, help="use at most this many records (0 = all)")
    parser.add_argument("--show", type=int, default=3, help="print this many failing replies per row")
    args = parser.parse_args()

    records = load_records(args.data, args.limit)
    source = f"{len(records)} real records (MATH solutions, CollegeMath questions and answers) from {args.data}"
    if not records:
        records = generated_records(args.limit or 2000)
        source = f"{len(records)} generated LaTeX records ({args.data} not found)"
    with_backslash = sum("\\" in "".join(r.values()) for r in records)
    # Records whose source text already holds a control character made from LaTeX (a tab
    # where "\\t" of "\\textbf" was once read as JSON) cannot come back identical from a
    # decoder that restores LaTeX: they are reported apart.
    flawed = [r for r in records if any(has_control_chars(v) for v in r.values())]
    records = [r for r in records if r not in flawed]
    print(f"{source}; {with_backslash} contain LaTeX backslashes; {len(flawed)} set apart: their source "
          "text already holds a control character made from LaTeX")
    for r in flawed:
        restored = {name: not any(has_control_chars(str(v)) for v in parse_json_reply(render(r)).values())
                    for name, render in (("escaped", render_escaped), ("raw", render_raw))}  # fmt: skip
        print(f"  {r['question'][:60]!r}...: parse_json_reply gives back LaTeX instead: {restored}")

    reference = None
    print("\n| reply | format | approach | rendering | identical | corrupted | lost | parse failures "
          "| time/reply vs json.loads |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    shown = []
    for kind, (fields, required) in REPLIES.items():
        replies = [{f: r[f] for f in fields} for r in records]
        rows = [
            ("JSON", "json.loads", "escaped", render_escaped, json.loads),
            ("JSON", "json.loads", "raw", render_raw, json.loads),
            ("JSON (v1)", "parse_json_reply", "escaped", render_escaped, parse_json_reply),
            ("JSON (v1)", "parse_json_reply", "raw", render_raw, parse_json_reply),
            ("tagged (v2)", "parse_sections", "as written", render_tagged, tagged_parser(required)),
            ("tagged (v2)", "parse_sections", "doubled", render_doubled, tagged_parser(required)),
            ("tagged (v2)", "parse_sections", "bold, inline", render_bold_inline, tagged_parser(required)),
        ]
        for fmt, approach, rendering, render, parse in rows:
            outcome, per_reply, bad = measure(replies, render, parse)
            reference = reference or per_reply
            print(f"| {kind} | {fmt} | {approach} | {rendering} | {outcome['ok']} | {outcome['corrupted']} "
                  f"| {outcome['lost']} | {outcome['parse_failure']} | {per_reply / reference:.2f}x |")  # fmt: skip
            shown += [(kind, approach, rendering, *b) for b in bad[: args.show]]
    print(f"\n(json.loads on the escaped generate_qa replies: {reference * 1e6:.1f} µs per reply)")
    for kind, approach, rendering, result, reply, parsed in shown:
        print(f"\n[{kind} / {approach} / {rendering}: {result}]\n  reply:  {reply[:300]!r}\n  parsed: {str(parsed)[:300]!r}")


if __name__ == "__main__":
    main()
