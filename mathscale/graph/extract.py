"""Extraction: an LLM acting as a math teacher names 1–2 topics and 1–5 knowledge points.

The prompt is a versioned template file (``mathscale/prompts/extract_concepts.v2.txt``:
system text, worked examples as user/assistant turns, the user turn with ``{question}``,
separated by ``---`` lines); its name goes into every record and into the LLM cache key.
v2, the default, names concepts in an open vocabulary (worked examples, rules against
generic names); v1 listed 18 topic names to choose from and is kept to reproduce old runs. Every seed ends as a :class:`~mathscale.records.Concepts`
record or a :class:`Failure` with a reason — nothing is dropped silently.

>>> template = load_prompt("extract_concepts.v1")
>>> request = extract_request(Seed(id="q1", question="What is 2+3?"), template)
>>> request.prompt
'extract_concepts.v1'
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from mathscale import prompts
from mathscale.errors import DataError
from mathscale.llm.client import LLMClient, Request
from mathscale.llm.jsonparse import ReplyError, has_control_chars, validate
from mathscale.prompts import Prompt
from mathscale.records import Concepts, Seed

MAX_TOPICS, MAX_KPS = 2, 5

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "topics": {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1, "maxItems": MAX_TOPICS},
        "knowledge_points": {
            "type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1, "maxItems": MAX_KPS,
        },
    },
    "required": ["topics", "knowledge_points"],
}  # fmt: skip


@dataclass(frozen=True)
class Failure:
    """A seed that produced no record: ``reason`` is a short tag, ``detail`` says more."""

    id: str
    reason: str
    detail: str = ""
    where: str = ""  # file:line, for input problems

    def to_json(self) -> dict[str, str]:
        return {k: v for k, v in self.__dict__.items() if v}


def load_prompt(name: str) -> Prompt:
    """The extraction prompt ``name`` (``mathscale/prompts/<name>.txt``, one ``{question}`` slot)."""
    return prompts.load_prompt(name, ("question",))


def extract_request(seed: Seed, template: Prompt, params: dict[str, Any] | None = None) -> Request:
    return Request(
        id=seed.id,
        prompt=template.name,
        schema=SCHEMA,
        seed=0,
        params=dict(params or {}),
        messages=template.messages(question=seed.question.strip()),
    )


class ConceptError(ValueError):
    """A reply that is valid JSON but names no usable concept; ``reason`` tags it."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason


def clean_names(names: list[str], limit: int) -> list[str]:
    """Strip, drop empty entries and case-insensitive repeats, keep at most ``limit``."""
    out: list[str] = []
    seen: set[str] = set()
    for name in names:
        name = " ".join(str(name).split()).strip(" .;:,")
        if name and name.lower() not in seen:
            seen.add(name.lower())
            out.append(name)
    return out[:limit]


def concepts_from_data(data: Any) -> tuple[list[str], list[str]]:
    """(topics, knowledge points) from a parsed reply; ReplyError / ConceptError otherwise."""
    validate(data, SCHEMA)
    topics = clean_names(data["topics"], MAX_TOPICS)
    kps = clean_names(data["knowledge_points"], MAX_KPS)
    if not topics:
        raise ConceptError("empty_topics", "every topic is blank")
    if not kps:
        raise ConceptError("empty_knowledge_points", "every knowledge point is blank")
    return topics, kps


def check_seeds(items: Iterable[tuple[str, Any]], skip: set[str] = frozenset()) -> Iterator[Seed | Failure]:
    """Seeds from ``(file:line, object)`` pairs; a bad line or a repeated id becomes a Failure.

    Ids in ``skip`` (already extracted) are passed over silently.
    """
    seen: set[str] = set()
    for where, obj in items:
        try:
            seed = Seed.from_json(obj, where)
        except DataError as exc:
            yield Failure(id=str(obj.get("id", "")) if isinstance(obj, dict) else "", reason="bad_seed",
                          detail=str(exc), where=where)  # fmt: skip
            continue
        if seed.id in seen:
            yield Failure(id=seed.id, reason="duplicate_id", detail="an earlier line has the same id", where=where)
            continue
        seen.add(seed.id)
        if seed.id not in skip:
            yield seed


def extract_concepts(seeds: Iterable[Seed], llm: LLMClient, template: Prompt,
                     params: dict[str, Any] | None = None, total: int | None = None) -> Iterator[Concepts | Failure]:  # fmt: skip
    """One Concepts record or Failure per seed, in completion order (seed ids must be unique:
    :func:`check_seeds` makes them so)."""
    by_id: dict[str, Seed] = {}

    def requests() -> Iterator[Request]:
        for seed in seeds:
            by_id[seed.id] = seed
            yield extract_request(seed, template, params)

    for result in llm.run(requests(), total=total, desc="extract"):
        seed = by_id.pop(result.id)
        if not result.ok:
            yield Failure(seed.id, result.error or "unknown", result.detail)
            continue
        try:
            topics, kps = concepts_from_data(result.data)
        except ConceptError as exc:
            yield Failure(seed.id, exc.reason, str(exc))
            continue
        except ReplyError as exc:
            yield Failure(seed.id, "schema", str(exc))
            continue
        if any(has_control_chars(name) for name in topics + kps):
            yield Failure(seed.id, "control_characters", f"a concept holds a control character: {topics + kps!r}"[:300])
            continue
        yield Concepts(id=seed.id, question=seed.question, topics=topics, knowledge_points=kps,
                       model=llm.model, prompt=template.name)  # fmt: skip
