"""Fake OpenAI endpoints as a process of their own, for the Ray cluster tests (tests/test_ray_executor.py).

``python tests/ray_endpoints.py PORT:RESPONDER[:LATENCY_S] ...`` serves one endpoint per
argument on 127.0.0.1, each refusing what OpenAI's API refuses (openai_strict.py), until
killed. Responders: ``qa`` (a distinct QA pair per distinct request, as generation needs),
``repetitive`` (a weak teacher repeating three questions, so slots collide across tasks)
and ``sums`` (eval: right on some "What is A+B?" items, wrong on the others).
"""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # openai_strict
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.test_generate

from openai_strict import StrictServer  # noqa: E402

from tests.support.fake_server import qa_responder  # noqa: E402


def sums_responder(request: dict[str, Any]) -> str:
    """The sum when A is even, one more when it is odd (so metrics are neither 0 nor 1)."""
    text = request.get("prompt") or request["messages"][-1]["content"]
    match = re.search(r"What is (\d+)\+(\d+)\?", text)
    if match is None:
        return "I do not know."
    a, b = int(match[1]), int(match[2])
    return f"{a} + {b} makes it. The answer is {a + b + a % 2}."


def repetitive(request: dict[str, Any]) -> str:
    from tests.test_generate import repetitive_responder

    return repetitive_responder(request)


RESPONDERS = {"qa": qa_responder, "repetitive": repetitive, "sums": sums_responder}


async def serve(specs: list[str]) -> None:
    servers = []
    for spec in specs:
        port, name, *latency = spec.split(":")
        server = StrictServer(port=int(port), responder=RESPONDERS[name], latency_s=float(latency[0]) if latency else 0.0)
        servers.append(asyncio.ensure_future(server._serve()))
    print("serving " + " ".join(specs), flush=True)
    await asyncio.gather(*servers)


if __name__ == "__main__":
    asyncio.run(serve(sys.argv[1:]))
