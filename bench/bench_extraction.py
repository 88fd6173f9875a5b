"""Extraction prompts compared on real seed questions (issue 16): how open is the vocabulary?

Runs ``graph extract``'s stage (same request parameters as ``ExtractConfig``'s defaults) with
each prompt version on one fixed choice of seeds — by default 60 GSM8K, 60 MATH and 30
CollegeMath train questions, evenly spaced through each file — and reports, per prompt:

- the share of topic mentions that copy a name listed in the prompt (a "such as" list, a
  worked example's reply, a rule's examples), compared folded (case, plural, punctuation);
- generic names ("Mathematics", "Problem solving", bare numbers: ``normalize.generic_reason``)
  as the model wrote them, and how many survive normalisation (must be 0);
- names carrying a number or a proper name from the question;
- distinct topics and knowledge points after normalisation, per 100 seeds;
- knowledge points per question, and the most frequent topics.

Replies come from the LLM cache when present, so an interrupted run resumes where it
stopped and a rerun is free. It takes a while with the embedded teacher (several seconds per
extraction on 2 cores): run it in the background. This is a measurement, not a test.

    python bench/bench_extraction.py [--seeds-dir /work/shared/data/seeds] [--prompts extract_concepts.v1 extract_concepts.v2]
        [--take gsm8k_train.jsonl=60 math_train.jsonl=60 college_math_train.jsonl=30] [--out DIR] [--json OUT] [key=value ...]

``key=value`` overrides go to the ``ExtractConfig`` (``llm.base_urls=[...]`` to use an endpoint).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from mathscale.config import load_config
from mathscale.graph.config import ExtractConfig
from mathscale.graph.extract import Failure, extract_concepts, load_prompt
from mathscale.graph.normalize import fold, generic_reason, learn_normalizer
from mathscale.io import read_jsonl
from mathscale.prompts import Prompt
from mathscale.records import Concepts, Seed

DEFAULT_TAKE = ["gsm8k_train.jsonl=60", "math_train.jsonl=60", "college_math_train.jsonl=30"]
_SUCH_AS = re.compile(r"such as ([^;\n]+)")
_QUOTED = re.compile(r'"([^"\n]{2,60})"')
_TOPICS_JSON = re.compile(r'"topics"\s*:\s*\[([^\]]*)\]')
_PROPER = re.compile(r"(?<![.!?]\s)(?<!^)\b([A-Z][a-z]{2,})\b")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def choose_seeds(seeds_dir: Path, take: list[str]) -> list[Seed]:
    """``n`` seeds evenly spaced through each file (``file=n``): a fixed, reproducible choice."""
    chosen: list[Seed] = []
    for spec in take:
        name, _, n = spec.partition("=")
        lines = list(read_jsonl(seeds_dir / name))
        count = min(int(n), len(lines))
        for i in range(count):
            where, obj = lines[i * len(lines) // count]
            chosen.append(Seed.from_json(obj, where))
    return chosen


def prompt_names(template: Prompt) -> set[str]:
    """Folded topic-like names the prompt itself lists: a "such as" list, the topics of
    worked-example replies and inline JSON examples, and quoted names in the rules."""
    texts = [template.system, template.user, *(t for turn in template.examples for t in turn)]
    names: set[str] = set()
    for text in texts:
        for match in _SUCH_AS.finditer(text):
            names.update(part for part in re.split(r",\s*|\s+or\s+", match.group(1)) if part)
        for match in _TOPICS_JSON.finditer(text):
            names.update(_QUOTED.findall(match.group(0)))
        names.update(_QUOTED.findall(text))
    return {fold(n) for n in names} - {"", "topic", "knowledge point"}


def from_question(name: str, question: str) -> bool:
    """A number of the question, or a capitalised word used mid-sentence in it (a person or place)."""
    numbers = set(_NUMBER.findall(question))
    proper = set(_PROPER.findall(question))
    return any(n in numbers for n in _NUMBER.findall(name)) or any(w in proper for w in re.findall(r"[A-Z][a-z]{2,}", name))


def extraction_metrics(records: list[Concepts], failures: list[Failure], listed: set[str], seeds: int) -> dict[str, Any]:
    """The comparison figures for one prompt (see the module docstring)."""
    topic_mentions = [t for r in records for t in r.topics]
    kp_mentions = [k for r in records for k in r.knowledge_points]
    norm = learn_normalizer(records)
    normal = [norm.apply(r) for r in records]
    topics = Counter(t for r in normal for t in r.topics)
    kps = Counter(k for r in normal for k in r.knowledge_points)
    per100 = 100.0 / seeds
    return {
        "seeds": seeds,
        "records": len(records),
        "failures": dict(Counter(f.reason for f in failures)),
        "topic_mentions": len(topic_mentions),
        "topic_listed_share": round(sum(fold(t) in listed for t in topic_mentions) / max(len(topic_mentions), 1), 3),
        "generic_topics_raw": sum(generic_reason(t) is not None for t in topic_mentions),
        "generic_kps_raw": sum(generic_reason(k) is not None for k in kp_mentions),
        "generic_topics_after": sum(generic_reason(t) is not None for r in normal for t in r.topics),
        "records_without_topic_after": sum(not r.topics for r in normal),
        "names_from_question": sum(from_question(n, r.question) for r in records for n in (*r.topics, *r.knowledge_points)),
        "distinct_topics": len(topics),
        "distinct_kps": len(kps),
        "distinct_topics_per_100": round(len(topics) * per100, 1),
        "distinct_kps_per_100": round(len(kps) * per100, 1),
        "topics_per_question": round(sum(len(r.topics) for r in normal) / max(len(normal), 1), 2),
        "kps_per_question": round(sum(len(r.knowledge_points) for r in normal) / max(len(normal), 1), 2),
        "top_topics": topics.most_common(8),
    }  # fmt: skip


ROWS = [
    ("records (failures)", lambda m: f"{m['records']} ({sum(m['failures'].values())})"),
    ("topic mentions copied from a list in the prompt", lambda m: f"{100 * m['topic_listed_share']:.1f} %"),
    ("generic topic / KP names written", lambda m: f"{m['generic_topics_raw']} / {m['generic_kps_raw']}"),
    ("generic topics after normalisation", lambda m: str(m["generic_topics_after"])),
    ("names with a number or name from the question", lambda m: str(m["names_from_question"])),
    ("distinct topics per 100 seeds", lambda m: f"{m['distinct_topics_per_100']:.1f} ({m['distinct_topics']})"),
    ("distinct knowledge points per 100 seeds", lambda m: f"{m['distinct_kps_per_100']:.1f} ({m['distinct_kps']})"),
    ("topics per question", lambda m: f"{m['topics_per_question']:.2f}"),
    ("knowledge points per question", lambda m: f"{m['kps_per_question']:.2f}"),
    ("most frequent topics", lambda m: ", ".join(f"{t} {n}" for t, n in m["top_topics"][:5])),
]


def table(results: dict[str, dict[str, Any]]) -> str:
    names = list(results)
    lines = ["| | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    lines += [f"| {label} | " + " | ".join(cell(results[n]) for n in names) + " |" for label, cell in ROWS]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from mathscale.llm.client import open_client

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds-dir", type=Path, default=Path("/work/shared/data/seeds"))
    parser.add_argument("--take", nargs="+", default=DEFAULT_TAKE, help="FILE=N: N evenly spaced seeds of FILE")
    parser.add_argument("--prompts", nargs="+", default=["extract_concepts.v1", "extract_concepts.v2"])
    parser.add_argument("--out", type=Path, help="also write each prompt's concept records to DIR/<prompt>.jsonl")
    parser.add_argument("--json", type=Path, help="write the figures to this JSON file")
    parser.add_argument("overrides", nargs="*", help="key=value settings of ExtractConfig")
    args = parser.parse_args(argv)

    cfg = load_config(ExtractConfig, None, args.overrides)
    seeds = choose_seeds(args.seeds_dir, args.take)
    params = {"temperature": cfg.temperature, "max_tokens": cfg.max_tokens}
    results: dict[str, dict[str, Any]] = {}
    with open_client(cfg.llm) as llm:
        print(f"{len(seeds)} seeds ({', '.join(args.take)}), teacher {llm.model}", flush=True)
        for name in args.prompts:
            template = load_prompt(name)
            started = time.perf_counter()
            records: list[Concepts] = []
            failures: list[Failure] = []
            for item in extract_concepts(seeds, llm, template, params, total=len(seeds)):
                (failures if isinstance(item, Failure) else records).append(item)
            order = {s.id: i for i, s in enumerate(seeds)}
            records.sort(key=lambda r: order[r.id])
            results[name] = extraction_metrics(records, failures, prompt_names(template), len(seeds))
            results[name]["seconds"] = round(time.perf_counter() - started, 1)
            print(f"{name}: {len(records)} records, {len(failures)} failures, {results[name]['seconds']} s", flush=True)
            if args.out:
                args.out.mkdir(parents=True, exist_ok=True)
                with open(args.out / f"{name}.jsonl", "w", encoding="utf-8") as handle:
                    handle.writelines(json.dumps(r.to_json(), ensure_ascii=False) + "\n" for r in records)
        print(llm.usage.summary())
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
