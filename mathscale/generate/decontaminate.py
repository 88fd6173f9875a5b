"""Decontamination: drop a generated question that shares an n-gram with a benchmark item.

Words are lower-cased ``\\w+`` tokens; the default n = 13 follows common practice for
training-set decontamination. A benchmark question shorter than n words is indexed whole,
so short test questions are still caught. The benchmarks are read as ``eval`` reads them
(:func:`mathscale.eval.benchmarks.load_tasks`): a JSONL file, a folder of them, or a Hugging
Face dataset id (its test split).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable


_WORD = re.compile(r"\w+")


def _ngram_keys(text: str, n: int) -> list[bytes]:
    words = _WORD.findall(text.lower())
    if not words:
        return []
    if len(words) < n:
        grams = [" ".join(words)]
    else:
        grams = [" ".join(words[i : i + n]) for i in range(len(words) - n + 1)]
    return [hashlib.blake2b(g.encode("utf-8"), digest_size=8).digest() for g in grams]


class ContaminationIndex:
    """N-gram index of benchmark questions; :meth:`match` names the first item a text overlaps."""

    def __init__(self, n: int = 13):
        if n < 1:
            raise ValueError("n-gram size must be at least 1")
        self.n = n
        self._owner: dict[bytes, str] = {}
        self._short_sizes: set[int] = set()  # word counts of items shorter than n
        self.items = 0

    def add(self, item_id: str, question: str) -> None:
        self.items += 1
        size = len(_WORD.findall(question.lower()))
        if 0 < size < self.n:
            self._short_sizes.add(size)
        for key in _ngram_keys(question, self.n):
            self._owner.setdefault(key, item_id)

    def add_many(self, items: Iterable[tuple[str, str]]) -> None:
        for item_id, question in items:
            self.add(item_id, question)

    def match(self, text: str) -> str | None:
        """Id of a benchmark item sharing an n-gram with ``text`` (or the whole short item)."""
        words = _WORD.findall(text.lower())
        if not words:
            return None
        owner = self._owner
        for key in _ngram_keys(text, self.n):
            if (hit := owner.get(key)) is not None:
                return hit
        # Short benchmark items are indexed whole: look for windows of exactly their sizes.
        for size in self._short_sizes:
            for i in range(len(words) - size + 1):
                key = hashlib.blake2b(" ".join(words[i : i + size]).encode(), digest_size=8).digest()
                if (hit := owner.get(key)) is not None:
                    return hit
        return None


def benchmark_questions(specs: list[str]) -> list[tuple[str, str]]:
    """(item id, question) of every item of the benchmarks ``decontamination.benchmarks`` names."""
    from mathscale.eval.benchmarks import load_tasks

    questions: list[tuple[str, str]] = []
    unanswered = []
    for spec in specs:  # only the questions matter here: a record with no answer still counts
        tasks = load_tasks(spec, setting="decontamination.benchmarks", need_answer=False)
        questions += [(task.item.id, task.item.question) for task in tasks]
        unanswered += [task.item.id for task in tasks if not task.item.answer]
    if unanswered:
        print(f"decontamination: {len(unanswered)} benchmark records have no answer (first: {unanswered[0]}); "
              "their questions are checked all the same")  # fmt: skip
    return questions


def contamination_index(questions: Iterable[tuple[str, str]], n: int) -> ContaminationIndex:
    """The n-gram index of ``(id, question)`` pairs (from :func:`benchmark_questions`)."""
    index = ContaminationIndex(n)
    index.add_many(questions)
    return index
