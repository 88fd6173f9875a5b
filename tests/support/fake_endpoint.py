"""``python -m tests.support.fake_endpoint`` (from the repository root): the fake endpoint as a process
of its own (benchmarks run it apart from the client, so the two do not share one interpreter lock)."""

from __future__ import annotations

import argparse
import asyncio

from tests.support.fake_server import FAULTS, RESPONDERS, FakeServer


def main() -> None:
    parser = argparse.ArgumentParser(description="A scriptable OpenAI-compatible server for tests and benchmarks.")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--fault", action="append", default=[], metavar="NAME=SHARE", help=f"one of {FAULTS}")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--responder", choices=sorted(RESPONDERS), default="default")
    args = parser.parse_args()
    faults = {name: float(share) for name, _, share in (f.partition("=") for f in args.fault)}
    server = FakeServer(faults=faults, seed=args.seed, port=args.port, responder=RESPONDERS[args.responder])
    print(f"serving on {server.base_url}", flush=True)
    asyncio.run(server._serve())


if __name__ == "__main__":
    main()
