"""Accuracy per topic and knowledge point: where a model trained on MathScale data is weak.

Benchmark questions are mapped to concepts exactly as seed questions are (``graph extract``:
the same versioned prompt, request parameters and LLM client, hence the same response cache:
a question extracted once is never asked again). Each item then counts towards every topic
and knowledge point named for it; names that differ only in case, spacing, punctuation or
plural are one concept (the ``fold`` of ``graph build``). Questions the LLM could not map are
counted by reason, never dropped silently.

>>> rows = concept_scores([(["Algebra"], ["linear equations"], True), (["algebra"], ["Fractions"], False)])
>>> [(r.name, r.size, r.correct) for r in rows["topics"]]
[('Algebra', 2, 1)]
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from mathscale.eval.benchmarks import Task
from mathscale.graph.config import ExtractConfig
from mathscale.graph.normalize import fold, tidy

Mapping = tuple[list[str], list[str]]  # (topics, knowledge points)


@dataclass
class ConceptScore:
    name: str
    size: int = 0
    correct: int = 0

    @property
    def accuracy(self) -> float:
        return self.correct / self.size if self.size else 0.0

    def to_json(self) -> dict:
        return {"name": self.name, "size": self.size, "correct": self.correct, "accuracy": self.accuracy}


def map_questions(tasks: Sequence[Task], cfg: ExtractConfig) -> tuple[list[Mapping | None], Counter]:
    """Concepts of each task's question (None where extraction failed) and the failures by reason."""
    from mathscale.graph.extract import Failure, extract_concepts, load_prompt
    from mathscale.llm.client import open_client
    from mathscale.records import Seed

    template = load_prompt(cfg.prompt)
    seeds = [Seed(id=str(i), question=t.item.question) for i, t in enumerate(tasks)]
    params = {"temperature": cfg.temperature, "max_tokens": cfg.max_tokens}  # as `graph extract` sends them
    mapped: list[Mapping | None] = [None] * len(tasks)
    failures: Counter = Counter()
    with open_client(cfg.llm) as llm:
        for record in extract_concepts(seeds, llm, template, params, total=len(seeds)):
            if isinstance(record, Failure):
                failures[record.reason] += 1
            else:
                mapped[int(record.id)] = (list(record.topics), list(record.knowledge_points))
    return mapped, failures


def concept_scores(items: Iterable[tuple[list[str], list[str], bool]]) -> dict[str, list[ConceptScore]]:
    """Per topic and per knowledge point: items and right answers, weakest first."""
    tables: dict[str, dict[str, ConceptScore]] = {"topics": {}, "knowledge_points": {}}
    for topics, kps, correct in items:
        for kind, names in (("topics", topics), ("knowledge_points", kps)):
            firsts: dict[str, str] = {}
            for name in names:  # an item counts once per concept, however many spellings it names
                firsts.setdefault(fold(name), name)
            for folded, name in firsts.items():
                if not folded:
                    continue
                score = tables[kind].setdefault(folded, ConceptScore(tidy(name)))
                score.size += 1
                score.correct += bool(correct)
    return {kind: sorted(t.values(), key=lambda s: (s.accuracy, -s.size, s.name)) for kind, t in tables.items()}


def concept_rows(scores: dict[str, list[ConceptScore]]) -> list:
    """The rows of ``concepts.csv`` (:mod:`mathscale.graph.focus`): topics, then knowledge points, weakest first."""
    from mathscale.graph.focus import ConceptRow

    kinds = {"topics": "topic", "knowledge_points": "kp"}
    return [ConceptRow(s.name, kinds[kind], s.size, s.correct) for kind, rows in scores.items() for s in rows]


def weakest_markdown(scores: dict[str, list[ConceptScore]], min_items: int, top: int) -> str:
    """The ``top`` weakest topics and knowledge points with at least ``min_items`` items each."""
    lines = []
    for kind, title in (("topics", "topic"), ("knowledge_points", "knowledge point")):
        rows = [s for s in scores[kind] if s.size >= min_items][:top]
        lines += [f"| {title} | items | right | accuracy |", "|---|---|---|---|"]
        lines += [f"| {s.name} | {s.size} | {s.correct} | {100 * s.accuracy:.1f} |" for s in rows]
        if not rows:
            lines.append(f"| (none with at least {min_items} items) | | | |")
        lines.append("")
    return "\n".join(lines)
