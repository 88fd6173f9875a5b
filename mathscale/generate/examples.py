"""Few-shot examples: seed questions that share concepts with a composition.

The graph keeps, for each seed record, its (topics, knowledge points) and, when built
from concepts with questions, the question text. For a composition we rank seeds by how
many of its concepts they share (knowledge points count double: they are more specific)
and take the best few; ties are broken by a hash of the walk index, so the choice is a
pure function of (graph, walk).
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

POSTING_CAP = 64  # seeds remembered per concept: bounds the work for very common topics


class ExampleIndex:
    def __init__(self, seed_sets: Sequence[Sequence[Sequence[str]]], questions: Sequence[str]):
        self.questions = list(questions)
        self._by_topic: dict[str, list[int]] = defaultdict(list)
        self._by_kp: dict[str, list[int]] = defaultdict(list)
        for i, (topics, kps) in enumerate(seed_sets):
            if i >= len(self.questions) or not self.questions[i]:
                continue
            for name in topics:
                if len(self._by_topic[name]) < POSTING_CAP:
                    self._by_topic[name].append(i)
            for name in kps:
                if len(self._by_kp[name]) < POSTING_CAP:
                    self._by_kp[name].append(i)

    @classmethod
    def from_graph(cls, graph: Any) -> ExampleIndex:
        return cls(graph.graph.get("seed_sets", []), graph.graph.get("seed_questions", []))

    def __len__(self) -> int:
        return len(self.questions)

    def pick(self, topics: Sequence[str], kps: Sequence[str], k: int, salt: int) -> list[str]:
        """Up to ``k`` seed questions sharing the most concepts with (topics, kps)."""
        if k <= 0 or not self.questions:
            return []
        score: dict[int, int] = {}
        for weight, table, names in ((2, self._by_kp, kps), (1, self._by_topic, topics)):
            for name in names:
                for i in table.get(name, ()):
                    score[i] = score.get(i, 0) + weight
        if not score:
            return []
        mix = (salt * 0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019) & 0xFFFFFFFFFFFFFFFF

        def rank(item: tuple[int, int]) -> tuple[int, int]:  # more shared concepts first, then a hash
            return -item[1], ((item[0] ^ mix) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF

        return [self.questions[i] for i, _ in heapq.nsmallest(k, score.items(), key=rank)]
