"""Refill the slots a merge emptied: each continues with its next walks, through the LLM.

A slot whose sample the merge removed (a duplicate of a lower slot's sample in another
shard, or contaminated) goes on from the attempt after the removed one, exactly as the
one-process run would have at commit time. A refill must be new against every kept
sample (lower and higher slots alike), so the merged dataset never holds a duplicate;
the one-process run compares with lower slots only, so in the rare case where a refill
repeats a higher slot's sample the two runs differ in which of them stays.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from mathscale.generate.config import GenerateConfig
from mathscale.generate.pipeline import MAX_ATTEMPTS, Drop, Progress


def refill_slots(cfg: GenerateConfig, graph_path: Path, removed: list[dict[str, Any]], kept_questions: Any,
                 contamination: Any) -> tuple[dict[int, bytes], list[dict[str, Any]], dict[str, Any]]:  # fmt: skip
    """Slot -> new sample line, the refill's drops, and its LLM usage."""
    from mathscale.generate.command import repeated_walks
    from mathscale.generate.dedup import Deduplicator
    from mathscale.generate.examples import ExampleIndex
    from mathscale.generate.pipeline import SlotFiller
    from mathscale.graph.build import load_graph
    from mathscale.graph.focus import walk_sampler
    from mathscale.llm.client import open_client

    graph = load_graph(graph_path)
    _, sampler, _ = walk_sampler(graph, cfg.walk)  # the walks of the run being merged, focused as it was
    dedup = Deduplicator(cfg.dedup)
    for key, question in kept_questions:
        dedup.check(key, question)
    slots = sorted({d["slot"] for d in removed})
    next_attempt = {d["slot"]: d["attempt"] + 1 for d in removed}
    lines: dict[int, bytes] = {}
    drops: list[dict[str, Any]] = []
    with open_client(cfg.llm) as llm:

        def commit(sample: Any) -> None:
            lines[sample.meta["slot"]] = (json.dumps(sample.to_json(), ensure_ascii=False) + "\n").encode()

        def drop(d: Drop) -> None:
            drops.append({**d.to_json(), "stage": "merge-refill"})

        repeats = repeated_walks(sampler, cfg, max(slots) + 1) if slots and cfg.unique_compositions else None
        filler = SlotFiller(cfg, sampler, ExampleIndex.from_graph(graph), llm, contamination, dedup,
                            commit=commit, drop=drop, repeats=repeats)  # fmt: skip
        todo = [s for s in slots if next_attempt[s] < min(cfg.max_attempts, MAX_ATTEMPTS)]

        async def run() -> None:
            try:
                await filler.fill(todo, next_attempt, Progress())
            finally:
                await llm.aclose()

        if todo:
            asyncio.run(run())
        print(llm.usage.summary())
        usage = llm.usage.to_json()
    return lines, drops, usage
