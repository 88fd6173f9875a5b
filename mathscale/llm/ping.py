"""``mathscale ping``: one real JSON completion, to check an endpoint, its key and its JSON mode."""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass, field

from mathscale.config import load_config
from mathscale.errors import MathscaleError
from mathscale.io import atomic_write_json, check_output_path
from mathscale.llm.client import Request, open_client
from mathscale.llm.config import LLMConfig

ANSWER_SCHEMA = {
    "type": "object",
    "properties": {"solution": {"type": "string"}, "answer": {"type": "string"}},
    "required": ["solution", "answer"],
}


@dataclass
class PingConfig:
    llm: LLMConfig = field(default_factory=LLMConfig)
    question: str = "A baker makes 12 muffins per tray and bakes 7 trays. How many muffins does she bake?"


def ping_request(question: str) -> Request:
    return Request(
        id="ping",
        prompt="ping/1",
        schema=ANSWER_SCHEMA,
        seed=0,
        params={"temperature": 0.0, "max_tokens": 256},
        messages=[
            {"role": "system", "content": "You are a careful math teacher. Reply with JSON only."},
            {"role": "user", "content": (
                f"Solve this problem.\n\nProblem: {question}\n\n"
                'Reply with one JSON object: {"solution": "<short step-by-step solution>", "answer": "<final answer>"}'
            )},
        ],
    )  # fmt: skip


def main(args: argparse.Namespace) -> int:
    cfg = load_config(PingConfig, args.config, args.overrides)
    if args.question:
        cfg.question = args.question
    if args.usage_out:
        check_output_path(args.usage_out)
    started = time.perf_counter()
    with open_client(cfg.llm) as llm:
        print(f"model {llm.model} at {', '.join(llm.base_urls)}")
        (result,) = llm.complete_all([ping_request(cfg.question)], desc="ping")
        print(llm.usage.summary())
        if args.usage_out:
            atomic_write_json(args.usage_out, llm.usage.to_json())
    if not result.ok:
        raise MathscaleError(f"the model did not give a usable answer ({result.error}: {result.detail})")
    print(json.dumps(result.data, indent=2, ensure_ascii=False))
    print(f"ok in {time.perf_counter() - started:.1f} s{' (from cache)' if result.cached else ''}")
    return 0
