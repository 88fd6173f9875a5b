"""Helpers for the generate tests and those that run ``generate`` (faults, usage, merge, Ray):
``generate`` through its ``main`` against a fake endpoint, JSONL lines, a repetitive teacher.
The seed graph they run on is the ``graph_path`` fixture (tests/conftest.py)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from mathscale.cli import main
from tests.support.fake_server import FakeServer, qa_responder, reply_as_asked


def run(args: list[str], server: FakeServer, tmp_path: Path, *extra: str) -> int:
    return main(["generate", *args, f"llm.base_urls=[{server.base_url}]", f"llm.cache_path={tmp_path}/cache.sqlite",
                 "llm.backoff_s=0.01", "llm.timeout_s=1", "llm.progress=false", "dataset=false", *extra])  # fmt: skip


def lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()]


REPEATED = [
    "A baker bakes 48 rolls and sells 29 of them before noon. How many rolls are left?",
    "A train travels 180 kilometres in 3 hours at a steady speed. How far does it travel in 5 hours?",
    "The sum of two consecutive integers is 41. What is the larger of the two integers?",
]


def repetitive_responder(request: dict) -> str:
    """A weak teacher: 85% of requests (chosen by a hash of the request) get one of three questions."""
    digest = hashlib.sha256(json.dumps([request["messages"], request.get("seed")], sort_keys=True).encode()).digest()
    if digest[0] < 0.85 * 256:
        question = REPEATED[digest[1] % 3]
        return reply_as_asked(request, {"question": question, "solution": "Work it out step by step: the answer follows.",
                                        "answer": "19"})  # fmt: skip
    return qa_responder(request)
