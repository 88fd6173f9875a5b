"""What the cluster's workers run for ``generate`` with ``executor: ray`` (the driver is ``ray_executor.py``).

A task fills a range of slots with the ordinary :class:`SlotFiller`, de-duplicating within
that range only, and records what *every* attempt it made yielded, before any duplicate
check: the candidate sample, or the drop of a per-sample reason. Those outcomes depend on
(graph, settings, slot, attempt) and the teacher's reply alone, so the driver can replay
them in slot order exactly as one process would have met them.

:func:`fill_range` and :func:`make_attempts` are plain functions (tests run them without
Ray); :func:`run_task` and :func:`run_attempts` are the same as Ray tasks, reading the
shared :class:`Context` from the object store once per worker process.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mathscale.generate.config import GenerateConfig
from mathscale.generate.pipeline import Drop, Progress, SlotFiller
from mathscale.records import QAPair

PING_S = 0.5  # a task tells the driver how far it is at most this often


@dataclass
class Context:
    """What every task reads, put in Ray's object store once: the settings and the indexes."""

    cfg: GenerateConfig  # llm.base_urls resolved on the driver (mathscale.cluster.session.worker_llm)
    sampler: Any
    examples: Any
    contamination: Any
    repeats: Any


def outcome_line(slot: int, attempt: int, outcome: QAPair | Drop) -> bytes:
    kind = "sample" if isinstance(outcome, QAPair) else "drop"
    return (json.dumps({"slot": slot, "attempt": attempt, kind: outcome.to_json()}, ensure_ascii=False) + "\n").encode()


def parse_outcome(obj: dict[str, Any], where: str) -> QAPair | Drop:
    if "sample" in obj:
        return QAPair.from_json(obj["sample"], where)
    return Drop(**obj["drop"])


class RecordingFiller(SlotFiller):
    """A :class:`SlotFiller` that also records what each attempt yielded, before any duplicate check."""

    def __init__(self, *args: Any, record: Callable[[bytes], None], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._record = record

    async def try_attempt(self, slot: int, attempt: int) -> QAPair | Drop:
        outcome = await super().try_attempt(slot, attempt)
        self._record(outcome_line(slot, attempt, outcome))
        return outcome


def fill_range(context: Context, slots: list[int], next_attempt: dict[int, int], env: dict[str, str],
               on_progress: Callable[[int], None] = lambda settled: None) -> dict[str, Any]:  # fmt: skip
    """Fill ``slots`` as one process filling only them would; every attempt's outcome and the LLM usage.

    ``on_progress(settled)`` is called as slots are committed (at most every ``PING_S``).
    """
    from mathscale.cluster.session import task_environment
    from mathscale.generate.dedup import Deduplicator
    from mathscale.llm.client import open_client

    cfg = context.cfg
    lines: list[bytes] = []
    progress = Progress()
    last = [time.monotonic()]

    def ping() -> None:
        if time.monotonic() - last[0] >= PING_S:
            last[0] = time.monotonic()
            on_progress(progress.committed + len(progress.exhausted))

    with task_environment(env), open_client(cfg.llm) as llm:
        filler = RecordingFiller(cfg, context.sampler, context.examples, llm, context.contamination,
                                 Deduplicator(cfg.dedup), commit=lambda sample: None, drop=lambda drop: None,
                                 repeats=context.repeats, record=lines.append)  # fmt: skip

        async def run() -> None:
            try:
                await filler.fill(slots, next_attempt, progress, on_commit=ping)
            finally:
                await llm.aclose()

        asyncio.run(run())
        return {"lines": b"".join(lines), "usage": llm.usage.to_json()}


def make_attempts(context: Context, pairs: list[tuple[int, int]], env: dict[str, str]) -> dict[str, Any]:
    """The outcomes of single (slot, attempt) pairs, concurrently, and the LLM usage."""
    from mathscale.cluster.session import task_environment
    from mathscale.generate.dedup import Deduplicator
    from mathscale.llm.client import open_client

    cfg = context.cfg
    with task_environment(env), open_client(cfg.llm) as llm:
        filler = SlotFiller(cfg, context.sampler, context.examples, llm, context.contamination, Deduplicator(cfg.dedup),
                            commit=lambda sample: None, drop=lambda drop: None, repeats=context.repeats)  # fmt: skip

        async def run() -> list[QAPair | Drop]:
            try:
                return await asyncio.gather(*(filler.try_attempt(slot, attempt) for slot, attempt in pairs))
            finally:
                await llm.aclose()

        outcomes = asyncio.run(run())
        return {"lines": [outcome_line(s, a, o) for (s, a), o in zip(pairs, outcomes)], "usage": llm.usage.to_json()}


# ---------------------------------------------------------------- as Ray tasks

_CONTEXTS: dict[str, Context] = {}  # per worker process: the context of the run it serves


def _context(ref: Any) -> Context:
    import ray

    key = ref.hex()
    if key not in _CONTEXTS:
        _CONTEXTS.clear()  # one run at a time per worker process
        _CONTEXTS[key] = ray.get(ref)
    return _CONTEXTS[key]


def _where() -> dict[str, str]:
    import ray

    return {"node": ray.get_runtime_context().get_node_id(), "address": ray.util.get_node_ip_address(),
            "pid": str(os.getpid())}  # fmt: skip


def run_task(context_ref: list, task: int, slots: list[int], next_attempt: dict[int, int], env: dict[str, str],
             ledger: Any) -> dict[str, Any]:  # fmt: skip
    """Ray task: :func:`fill_range`, telling ``ledger`` (a :class:`Ledger` actor) it started and how far it is.

    ``context_ref`` is a one-element list, so that Ray hands over the reference itself and
    the context is fetched only by the first task of each worker process. The start is
    recorded before anything else (and waited for), so a worker killed at any point of a task
    counts as a restart when Ray runs the task again.
    """
    import ray

    ray.get(ledger.start.remote(task))
    context = _context(context_ref[0])
    result = fill_range(context, slots, next_attempt, env, on_progress=lambda n: ledger.settle.remote(task, n))
    return {**result, **_where()}


def run_attempts(context_ref: list, pairs: list[tuple[int, int]], env: dict[str, str]) -> dict[str, Any]:
    """Ray task: :func:`make_attempts`."""
    return {**make_attempts(_context(context_ref[0]), pairs, env), **_where()}


class Ledger:
    """A Ray actor on the driver's node: how far each running task is, and how often each started."""

    def __init__(self) -> None:
        self.starts: Counter[int] = Counter()
        self.settled: dict[int, int] = {}

    def start(self, task: int) -> None:
        self.starts[task] += 1
        self.settled[task] = 0

    def settle(self, task: int, count: int) -> None:
        self.settled[task] = count

    def view(self) -> tuple[dict[int, int], int]:
        """(slots settled per task, restarts: starts after each task's first)."""
        return dict(self.settled), sum(n - 1 for n in self.starts.values())
