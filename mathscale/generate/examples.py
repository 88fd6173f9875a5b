"""Few-shot examples: seed questions that share concepts with a composition.

The graph keeps, for each seed record, its (topics, knowledge points) and, when built
from concepts with questions, the question text. For a composition we rank seeds by how
many of its concepts they share (knowledge points count double: they are more specific)
and take the best few; ties are broken by a hash of the walk index, so the choice is a
pure function of (graph, walk).
"""

from __future__ import annotations

import hashlib
import heapq
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

POSTING_CAP = 256  # seeds remembered per concept: bounds the work for very common topics


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
        score: Counter[int] = Counter()
        for name in kps:
            for i in self._by_kp.get(name, ()):
                score[i] += 2
        for name in topics:
            for i in self._by_topic.get(name, ()):
                score[i] += 1
        if not score:
            return []

        def tiebreak(i: int) -> bytes:
            return hashlib.blake2b(f"{salt}:{i}".encode(), digest_size=8).digest()

        best = heapq.nsmallest(k, score, key=lambda i: (-score[i], tiebreak(i)))
        return [self.questions[i] for i in best]
