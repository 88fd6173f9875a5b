"""The LLM requests of generation: write a QA pair for a composition; solve it again (consensus);
rate the question (quality).

The v1 prompts of writing and solving ask for a JSON object; their successors ask for tagged
sections (``### Question`` / ``### Solution`` / ``### Answer``), which need no backslash
escaping, so the LaTeX of a question and its solution comes back as the model wrote it
(``bench/bench_latex_roundtrip.py``; :mod:`mathscale.llm.sections`). Ratings stay JSON:
they hold no LaTeX."""

from __future__ import annotations

from typing import Any

from mathscale.eval.final_answer import last_boxed
from mathscale.llm.client import Request
from mathscale.prompts import Prompt, load_prompt
from mathscale.records import Composition

QA_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "question": {"type": "string"},
        "solution": {"type": "string"},
        "answer": {"type": ["string", "number"]},
    },
    "required": ["question", "solution", "answer"],
}

SOLVE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"solution": {"type": "string"}, "answer": {"type": ["string", "number"]}},
    "required": ["solution", "answer"],
}


QA_SECTIONS = ("question", "solution")
SOLVE_SECTIONS = ("solution",)
# Both also ask for an answer section; a reply without one may still have its answer boxed
# in the solution (see answer_of).
ANSWER_SECTION = ("answer",)
# The prompts whose reply is a JSON object (kept, and read as before, for old runs); every
# other writing or solving prompt asks for the sections above.
JSON_PROMPTS = frozenset({"generate_qa.v1", "solve.v1"})


def reply_format(prompt: Prompt, schema: dict[str, Any], sections: tuple[str, ...]) -> dict[str, Any]:
    """The Request fields that ask for ``prompt``'s reply: its JSON schema, or its sections."""
    if prompt.name in JSON_PROMPTS:
        return {"schema": schema}
    return {"sections": sections, "optional_sections": ANSWER_SECTION}


def answer_of(data: dict[str, Any]) -> str:
    r"""The final answer of a writing or solving reply: its answer, or, when a tagged reply
    has no answer section (small models often end the solution with ``\boxed{24}`` and
    stop), the last ``\boxed{}`` of its solution; "" when neither is there (the sample is
    then dropped as ``missing_answer``).

    >>> answer_of({"solution": r"so $x = \boxed{\frac{1}{2}}$."})
    '\\frac{1}{2}'
    """
    if "answer" in data:
        return as_text(data["answer"])
    return (last_boxed(str(data.get("solution", ""))) or "").strip()


_RATING = {"type": "integer", "minimum": 1, "maximum": 5}
QUALITY_CRITERIA = ("solvable", "well_posed", "self_contained")
QUALITY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {name: _RATING for name in QUALITY_CRITERIA},
    "required": list(QUALITY_CRITERIA),
}


def qa_prompt(name: str) -> Prompt:
    return load_prompt(name, ("topics", "knowledge_points", "examples"))


def solve_prompt(name: str) -> Prompt:
    return load_prompt(name, ("question",))


def rate_prompt(name: str) -> Prompt:
    return load_prompt(name, ("question",))


def format_examples(examples: list[str]) -> str:
    if not examples:
        return ""
    lines = ["Example questions on these concepts (for style and level only):"]
    lines += [f"{i}. {' '.join(q.split())}" for i, q in enumerate(examples, 1)]
    return "\n".join(lines) + "\n\n"


def qa_request(request_id: str, comp: Composition, examples: list[str], prompt: Prompt, seed: int,
               params: dict[str, Any]) -> Request:  # fmt: skip
    """Ask for a new question, its solution and its answer on the composition's concepts."""
    messages = prompt.messages(
        topics="; ".join(comp.topics),
        knowledge_points="; ".join(comp.knowledge_points),
        examples=format_examples(examples),
    )
    reply = reply_format(prompt, QA_SCHEMA, QA_SECTIONS)
    return Request(id=request_id, messages=messages, prompt=prompt.name, seed=seed, params=params, **reply)


def solve_request(request_id: str, question: str, prompt: Prompt, seed: int, params: dict[str, Any]) -> Request:
    """An independent solution of ``question``, for consensus voting."""
    messages = prompt.messages(question=question)
    reply = reply_format(prompt, SOLVE_SCHEMA, SOLVE_SECTIONS)
    return Request(id=request_id, messages=messages, prompt=prompt.name, seed=seed, params=params, **reply)


def rate_request(request_id: str, question: str, prompt: Prompt, params: dict[str, Any]) -> Request:
    """Ratings 1-5 of ``question`` on :data:`QUALITY_CRITERIA`, for the quality filter."""
    messages = prompt.messages(question=question)
    return Request(id=request_id, messages=messages, prompt=prompt.name, schema=QUALITY_SCHEMA, seed=0, params=params)


def quality_score(ratings: dict[str, Any]) -> float:
    """The mean rating scaled to 0.2 .. 1 (all 5s = 1.0)."""
    return sum(float(ratings[c]) for c in QUALITY_CRITERIA) / (5 * len(QUALITY_CRITERIA))


def as_text(value: Any) -> str:
    """Models sometimes answer 42 instead of "42"; keep numbers as their plain text."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()
