"""Does a teacher follow the reply format? Each generation prompt on the same compositions.

For the first N slots of a graph (attempt 0: the walk ``mathscale generate`` would try
first, with the same example questions and request seed), every prompt asks once, with no
repair turn, so the figures are what the model writes unaided:

- ``unreadable``: no usable JSON object, or no question or solution section (``llm_parse``);
- ``kept``: readable and through the sample filters (length bounds, choice phrasing, a
  missing answer, a control character made from LaTeX), as ``generate`` would keep it
  before deduplication; ``other drops``: readable but filtered;
- ``with LaTeX``: kept replies holding a backslash; ``control chars``: readable replies
  holding a control character;
- for tagged replies, how they were written: text before the first heading, no answer
  section (the answer then comes from the solution's last ``\\boxed{}``), every backslash
  doubled.

    python bench/bench_reply_format.py GRAPH [-n 20] [--prompts generate_qa.v1,generate_qa.v2]
        [--out replies.jsonl] [--replies replies.jsonl] [key=value ...]

``key=value`` are generate config overrides (``llm.*``, ``max_tokens`` …); with no endpoint
configured the embedded model answers (``llm.local_model``). ``--replies`` judges the
replies a previous run saved with ``--out`` again, with the current readers, asking no model.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from collections import Counter
from pathlib import Path
from typing import Any

from mathscale.config import load_config
from mathscale.generate.config import GenerateConfig
from mathscale.generate.drops import LLM_PREFIX, llm_failure
from mathscale.generate.filters import drop_reason
from mathscale.generate.pipeline import SlotFiller, request_seed, walk_index
from mathscale.generate.requests import (
    JSON_PROMPTS,
    answer_of,
    as_text,
    qa_prompt,
    qa_request,
)
from mathscale.llm.client import Request, _parse
from mathscale.llm.jsonparse import ReplyError, has_control_chars

_BACKSLASH_RUN = re.compile(r"\\+")
QUIRKS = ("text before the first heading", "no answer section", "backslashes doubled")


def judge(text: str | None, request: Request, cfg: GenerateConfig) -> tuple[str, list[str], list[str]]:
    """(verdict, the three fields or [], how a tagged reply departs from the prompt's layout)."""
    try:
        data = _parse(text, request)  # what the client does with the reply
    except ReplyError:
        return "unreadable", [], []
    fields = [as_text(data["question"]), as_text(data["solution"]), answer_of(data)]
    quirks = []
    if request.sections:
        first = (text or "").find("#")
        if first != 0 and (text or "")[: max(first, 0)].strip():
            quirks.append(QUIRKS[0])
        if "answer" not in data:
            quirks.append(QUIRKS[1])
        runs = [len(m.group()) for m in _BACKSLASH_RUN.finditer(text or "")]
        if runs and all(n % 2 == 0 for n in runs):
            quirks.append(QUIRKS[2])
    return drop_reason(*fields, cfg.filters) or "kept", fields, quirks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("graph", type=Path)
    parser.add_argument("-n", type=int, default=20, help="compositions (slots 0 .. n-1, attempt 0)")
    parser.add_argument("--prompts", default="generate_qa.v1,generate_qa.v2")
    parser.add_argument("--out", type=Path, help="save every reply (prompt, slot, text, verdict) here")
    parser.add_argument("--replies", type=Path, help="judge the replies saved here instead of asking the model")
    parser.add_argument("overrides", nargs="*", metavar="key=value", help="generate config overrides")
    args = parser.parse_intermixed_args()

    from mathscale.generate.dedup import Deduplicator
    from mathscale.generate.examples import ExampleIndex
    from mathscale.graph.build import load_graph
    from mathscale.graph.sampler import Sampler

    cfg = load_config(GenerateConfig, None, [*args.overrides, "llm.json_repair=false", "llm.progress=false"])
    graph = load_graph(args.graph)
    sampler = Sampler.from_graph(graph, cfg.walk.start, cfg.walk.topic_steps, cfg.walk.kp_steps)
    examples = ExampleIndex.from_graph(graph)
    filler = SlotFiller(cfg, sampler, examples, llm=None, contamination=None,  # type: ignore[arg-type]
                        dedup=Deduplicator(cfg.dedup), commit=lambda s: None, drop=lambda d: None)  # fmt: skip
    prompts = [qa_prompt(name) for name in args.prompts.split(",")]
    params = {"temperature": cfg.temperature, "max_tokens": cfg.max_tokens}

    def requests(slot: int) -> list[Request]:
        comp = filler.walk(slot, 0)
        index = walk_index(slot, 0)
        picked = examples.pick(comp.topics, comp.knowledge_points, cfg.examples, salt=index)
        return [qa_request(f"{p.name}:{slot}", comp, picked, p, request_seed(cfg.seed, index), params) for p in prompts]

    stats = {p.name: Counter() for p in prompts}
    out = args.out.open("w", encoding="utf-8") if args.out else None

    def record(slot: int, request: Request, text: str | None, error: str | None, tokens: int) -> str:
        s = stats[request.prompt]
        s["replies"] += 1
        s["completion_tokens"] += tokens
        if error not in (None, "parse"):
            verdict, fields, quirks = llm_failure(error), [], []
        else:
            verdict, fields, quirks = judge(text, request, cfg)
        s[verdict] += 1
        s["latex"] += verdict == "kept" and "\\" in "".join(fields)
        s["control"] += any(has_control_chars(f) for f in fields)
        s.update(quirks)
        if out:
            out.write(json.dumps({"prompt": request.prompt, "slot": slot, "verdict": verdict, "tokens": tokens,
                                  "text": text}, ensure_ascii=False) + "\n")  # fmt: skip
            out.flush()
        return f"{request.prompt} {verdict}"

    model = ""
    if args.replies:
        saved: dict[tuple[str, int], dict[str, Any]] = {}
        for line in args.replies.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            saved[(row["prompt"], row["slot"])] = row
        for slot in range(args.n):
            for request in requests(slot):
                row = saved.get((request.prompt, slot))
                if row is not None:
                    error = row["verdict"].removeprefix(LLM_PREFIX) if row["verdict"].startswith(LLM_PREFIX) else None
                    record(slot, request, row["text"], error, row.get("tokens", 0))
        model = f"saved replies {args.replies}"
    else:
        from mathscale.llm.client import open_client

        with open_client(cfg.llm) as llm:
            model = llm.model
            for slot in range(args.n):
                started = time.perf_counter()
                asked = requests(slot)
                verdicts = [record(slot, r, res.text, res.error, res.completion_tokens + res.cached_completion_tokens)
                            for r, res in zip(asked, llm.complete_all(asked))]  # fmt: skip
                print(f"slot {slot}: {', '.join(verdicts)} ({time.perf_counter() - started:.0f} s)", flush=True)
    print(f"\n{args.n} compositions of {args.graph}; {model}; max_tokens {cfg.max_tokens}; no repair turn\n")
    print("| prompt | replies | unreadable | kept | other drops | kept with LaTeX | control chars | tokens/reply "
          "| tagged: " + ", ".join(QUIRKS) + " |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    for name, s in stats.items():
        other = s["replies"] - s["unreadable"] - s["kept"]
        drops = ", ".join(f"{k} {v}" for k, v in s.items() if k not in ("replies", "unreadable", "kept", "latex",
                                                                          "control", "completion_tokens", *QUIRKS))  # fmt: skip
        quirks = "-" if name in JSON_PROMPTS else " / ".join(str(s[q]) for q in QUIRKS)
        print(f"| {name} | {s['replies']} | {s['unreadable']} | {s['kept']} | {other}{f' ({drops})' if drops else ''} "
              f"| {s['latex']} | {s['control']} | {s['completion_tokens'] / max(1, s['replies']):.0f} | {quirks} |")


if __name__ == "__main__":
    main()
