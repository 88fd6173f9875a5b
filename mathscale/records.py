"""Typed records for every stage, one JSON line each (the data contracts between the stages).

Every record our stages write carries ``"schema": "<name>/<version>"`` so a file says
what it holds. ``from_json`` checks field types and reports the bad field; the JSONL
reader in :mod:`mathscale.io` prefixes the message with ``file:line``.

Example::

    >>> c = Concepts(id="q1", question="2+2?", topics=["Arithmetic"],
    ...              knowledge_points=["Addition"], model="m", prompt="extract/1")
    >>> Concepts.from_json(c.to_json()) == c
    True
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from mathscale.errors import DataError
from mathscale.typecheck import TypeMismatch, build_dataclass

R = TypeVar("R", bound="Record")


class Record:
    """Base for frozen record dataclasses: JSON round trip with schema and type checks."""

    SCHEMA: ClassVar[str | None] = None  # None: an input format we read but never write
    STRICT: ClassVar[bool] = True  # unknown keys are an error (else they are ignored)

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)  # type: ignore[call-overload]
        if self.SCHEMA:
            data = {"schema": self.SCHEMA, **data}
        return data

    @classmethod
    def from_json(cls: type[R], data: Any, where: str = "<record>") -> R:
        if not isinstance(data, dict):
            raise DataError(f"{where}: expected a JSON object, got {type(data).__name__}")
        data = dict(data)
        schema = data.pop("schema", None)
        if cls.SCHEMA and schema is not None and schema != cls.SCHEMA:
            raise DataError(
                f"{where}: field 'schema': this is a {schema!r} record, expected {cls.SCHEMA!r}"
            )
        try:
            data = cls._prepare(data)
            if not cls.STRICT:
                names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
                data = {k: v for k, v in data.items() if k in names}
            return build_dataclass(cls, data)
        except TypeMismatch as exc:
            raise DataError(f"{where}: field {exc.path!r}: {exc}") from None

    @classmethod
    def _prepare(cls, data: dict[str, Any]) -> dict[str, Any]:
        """Hook to map foreign layouts (e.g. MWPBench records) onto the fields."""
        return data


@dataclass(frozen=True)
class Seed(Record):
    """A seed question. Also reads MWPBench records (``data_source`` becomes ``source``)."""

    id: str
    question: str
    answer: str | None = None
    solution: str | None = None
    source: str | None = None

    STRICT: ClassVar[bool] = False

    @classmethod
    def _prepare(cls, data: dict[str, Any]) -> dict[str, Any]:
        if "source" not in data and "data_source" in data:
            data["source"] = data["data_source"]
        if "id" not in data and "question_number" in data and "data_source" in data:
            data["id"] = f"{data['data_source']}:{data['question_number']}"
        for key in ("id", "answer"):  # ids and answers are often numbers in the wild
            if isinstance(data.get(key), (int, float)) and not isinstance(data[key], bool):
                data[key] = str(data[key])
        if isinstance(data.get("question"), str) and not data["question"].strip():
            raise TypeMismatch("question", "is empty")
        return data


@dataclass(frozen=True)
class Concepts(Record):
    """The topics and knowledge points an LLM named for one seed question."""

    id: str
    question: str
    topics: list[str]
    knowledge_points: list[str]
    model: str
    prompt: str  # name/version of the prompt template that produced it

    SCHEMA: ClassVar[str] = "concepts/1"


@dataclass(frozen=True)
class Composition(Record):
    """One random walk over the concept graph: walk ``index`` under ``seed``."""

    index: int
    topics: list[str]
    knowledge_points: list[str]
    seed: int = 0

    SCHEMA: ClassVar[str] = "composition/1"


@dataclass(frozen=True)
class QAPair(Record):
    """A synthesised question with its step-by-step solution and final answer."""

    id: str
    index: int
    topics: list[str]
    knowledge_points: list[str]
    question: str
    solution: str
    answer: str
    model: str
    prompt: str
    meta: dict[str, Any] = field(default_factory=dict)

    SCHEMA: ClassVar[str] = "qa/1"


@dataclass(frozen=True)
class BenchmarkItem(Record):
    """An MWPBench test record (extra fields such as ``license`` are ignored)."""

    data_topic: str
    question: str
    answer: str
    data_source: str = ""
    id: str = ""

    STRICT: ClassVar[bool] = False

    @classmethod
    def _prepare(cls, data: dict[str, Any]) -> dict[str, Any]:
        if isinstance(data.get("answer"), (int, float)) and not isinstance(data["answer"], bool):
            data["answer"] = str(data["answer"])
        if not data.get("id") and "question_number" in data:
            data["id"] = f"{data.get('data_source', '')}:{data['question_number']}"
        if isinstance(data.get("id"), int):
            data["id"] = str(data["id"])
        return data


@dataclass(frozen=True)
class Prediction(Record):
    """One graded model completion for a benchmark item."""

    id: str
    data_topic: str
    question: str
    reference: str
    completion: str
    extracted: str | None
    correct: bool

    SCHEMA: ClassVar[str] = "prediction/1"
