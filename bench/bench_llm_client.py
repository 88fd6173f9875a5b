"""Client overhead: requests/s through mathscale's LLM client vs a bare openai.AsyncOpenAI loop.

Both talk to the same instant OpenAI-compatible server (tests.support.fake_server, in its
own process) on loopback, in the same run, alternating rounds so that machine noise hits
both alike. mathscale's client does everything it does in production: JSON mode, tolerant
parsing and schema validation, the on-disk response cache (fresh, so every request is a
miss and gets written), retries bookkeeping and accounting.

    python bench/bench_llm_client.py                 # concurrency 64 and 256, 3000 requests
    python bench/bench_llm_client.py --requests 10000 --rounds 5

Target (issue 2): mathscale >= 0.8 x the bare loop's rate at each concurrency.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import openai

from mathscale.llm.client import LLMClient, Request
from mathscale.llm.config import LLMConfig
from mathscale.llm.local import free_port
from mathscale.llm.ping_command import ANSWER_SCHEMA

REPO = Path(__file__).resolve().parents[1]


def messages(i: int) -> list[dict[str, str]]:
    return [{"role": "user", "content": f"Solve problem number {i}. Reply in JSON."}]


async def bare_loop(base_url: str, n: int, concurrency: int) -> float:
    client = openai.AsyncOpenAI(base_url=base_url, api_key="x", max_retries=0)
    sem = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with sem:
            reply = await client.chat.completions.create(
                model="fake-model", messages=messages(i), temperature=0.7, max_tokens=1024,
                response_format={"type": "json_object"},
            )  # fmt: skip
            assert reply.choices[0].message.content

    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(n)))
    elapsed = time.perf_counter() - started
    await client.close()
    return n / elapsed


def mathscale_client(base_url: str, n: int, concurrency: int, cache_dir: str) -> float:
    cfg = LLMConfig(base_urls=[base_url], concurrency=concurrency, progress=False,
                    cache_path=str(Path(cache_dir) / f"cache-{time.monotonic_ns()}.sqlite"))  # fmt: skip
    client = LLMClient(cfg, [base_url], "fake-model")
    requests = (Request(id=str(i), messages=messages(i), schema=ANSWER_SCHEMA, prompt="bench/1") for i in range(n))
    started = time.perf_counter()
    ok = sum(r.ok for r in client.run(requests, total=n))
    elapsed = time.perf_counter() - started
    client.close()
    assert ok == n, client.usage.summary()
    return n / elapsed


def wait_ready(base_url: str) -> None:
    for _ in range(100):
        try:
            urllib.request.urlopen(f"{base_url}/models", timeout=1)
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("fake server did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds; the best of each is reported")
    args = parser.parse_args()

    port = free_port()
    # from the repository root, where tests.support (the test doubles) imports
    server = subprocess.Popen([sys.executable, "-m", "tests.support.fake_endpoint", "--port", str(port)],
                              stdout=subprocess.DEVNULL, cwd=REPO)  # fmt: skip
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        wait_ready(base_url)
        print(f"{args.requests} requests per round, best of {args.rounds} rounds, server in its own process")
        print(f"{'concurrency':>11} {'bare req/s':>11} {'mathscale req/s':>16} {'ratio':>6}  target >= 0.80")
        with tempfile.TemporaryDirectory() as cache_dir:
            for concurrency in args.concurrency:
                bare, ours = [], []
                for _ in range(args.rounds):
                    bare.append(asyncio.run(bare_loop(base_url, args.requests, concurrency)))
                    ours.append(mathscale_client(base_url, args.requests, concurrency, cache_dir))
                ratio = max(ours) / max(bare)
                verdict = "ok" if ratio >= 0.8 else "BELOW TARGET"
                print(f"{concurrency:>11} {max(bare):>11.0f} {max(ours):>16.0f} {ratio:>6.2f}  {verdict}")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
