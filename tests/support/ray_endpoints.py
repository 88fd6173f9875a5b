"""Fake OpenAI endpoints as a process of their own, for the Ray cluster tests (tests/cluster/test_ray_executor.py).

``python -m tests.support.ray_endpoints PORT:RESPONDER[:LATENCY_S] ...`` (the repository root on
``sys.path``) serves one endpoint per argument on 127.0.0.1, each refusing what OpenAI's API
refuses (openai_strict.py), until killed. Responders: ``qa`` (a distinct QA pair per distinct
request, as generation needs), ``repetitive`` (a weak teacher repeating three questions, so
slots collide across tasks) and ``sums`` (eval: right on some "What is A+B?" items, wrong on
the others).
"""

from __future__ import annotations

import asyncio
import re
import sys
from typing import Any

from tests.support.fake_server import qa_responder
from tests.support.generate_helpers import repetitive_responder
from tests.support.openai_strict import StrictServer


def sums_responder(request: dict[str, Any]) -> str:
    """The sum when A is even, one more when it is odd (so metrics are neither 0 nor 1)."""
    text = request.get("prompt") or request["messages"][-1]["content"]
    match = re.search(r"What is (\d+)\+(\d+)\?", text)
    if match is None:
        return "I do not know."
    a, b = int(match[1]), int(match[2])
    return f"{a} + {b} makes it. The answer is {a + b + a % 2}."


RESPONDERS = {"qa": qa_responder, "repetitive": repetitive_responder, "sums": sums_responder}


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
