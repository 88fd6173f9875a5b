"""Per-sample filters: :data:`FILTERS`, each declared once with its name, its test and its card line.

MathScale drops questions phrased as a choice among options; we add length bounds,
require a final answer, and drop a sample holding a control character that LaTeX became
(``\x08egin{bmatrix}``: mathscale.llm.jsonparse keeps LaTeX literal, this catches the rest).

A filter's name is the drop reason it gives (the ``reason`` of a ``.drops.jsonl`` line, a key
of the report's ``dropped``). :func:`drop_reason` runs the filters in their order, cheapest
first; the dataset card lists them with the settings they ran with (:func:`describe_filters`).
A new filter is one entry here, with the :class:`FilterConfig` field it reads, if any: the
settings live beside the filters (``generate/config.py`` imports them), so a filter is one file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mathscale.errors import MathscaleError
from mathscale.keys import in_key

# The paper's list (MathScale, section 2.3): such questions need options the generator
# rarely writes out, and they do not train free-form answering.
CHOICE_PHRASES = ("which of the following", "which one", "which is", "the following", "which statement")


def _has_control_chars(*texts: str) -> bool:
    from mathscale.llm.jsonparse import has_control_chars  # jsonschema: not at config import (mathscale --help)

    return any(has_control_chars(text) for text in texts)


def is_choice_question(question: str) -> bool:
    text = " ".join(question.lower().split())
    return any(phrase in text for phrase in CHOICE_PHRASES)


@dataclass
class FilterConfig:
    """Per-sample filters (mathscale/generate/filters.py)."""

    drop_choice_questions: bool = in_key(True, help="MathScale's \"which of the following …\" filter")
    min_question_chars: int = in_key(20, ge=0)
    max_question_chars: int = in_key(2000, ge=1)
    min_solution_chars: int = in_key(20, ge=0)
    max_solution_chars: int = in_key(8000, ge=1)
    max_answer_chars: int = in_key(200, ge=1)

    def check(self) -> None:
        """Raise MathscaleError when a minimum exceeds its maximum: no sample could pass."""
        for kind in ("question", "solution"):
            low, high = getattr(self, f"min_{kind}_chars"), getattr(self, f"max_{kind}_chars")
            if low > high:
                raise MathscaleError(f"filters.min_{kind}_chars={low} is above filters.max_{kind}_chars={high}: "
                                     f"no {kind} could pass; expected min_{kind}_chars <= max_{kind}_chars")  # fmt: skip


@dataclass(frozen=True)
class Texts:
    """The three texts of a candidate sample."""

    question: str
    solution: str
    answer: str

    def stripped(self) -> Texts:
        return Texts(self.question.strip(), self.solution.strip(), self.answer.strip())


@dataclass(frozen=True)
class SampleFilter:
    """One per-sample filter: when it drops a sample, and what the dataset card says of it."""

    drops: Callable[[Texts, FilterConfig], bool]  # True: the sample goes, with this filter's name as its reason
    describe: Callable[[FilterConfig], str]  # the card's line: what it drops, with the settings it ran with
    raw: bool = False  # sees the texts as the reply gave them; the others see them strip()ped


FILTERS: dict[str, SampleFilter] = {  # name (the drop reason) -> filter, in the order they run
    # Before strip(): a form feed made from "\frac" at either end is whitespace to it.
    "control_characters": SampleFilter(
        lambda t, cfg: _has_control_chars(t.question, t.solution, t.answer),
        lambda cfg: "a text holds a control character a LaTeX command became in the reply's JSON (`\\x08egin`, `\\x0crac`)",
        raw=True,
    ),
    "missing_answer": SampleFilter(lambda t, cfg: not t.answer, lambda cfg: "the final answer is empty"),
    "missing_question": SampleFilter(lambda t, cfg: not t.question, lambda cfg: "the question is empty"),
    "missing_solution": SampleFilter(lambda t, cfg: not t.solution, lambda cfg: "the solution is empty"),
    "question_too_short": SampleFilter(lambda t, cfg: len(t.question) < cfg.min_question_chars,
                                       lambda cfg: f"the question is under {cfg.min_question_chars} characters"),
    "question_too_long": SampleFilter(lambda t, cfg: len(t.question) > cfg.max_question_chars,
                                      lambda cfg: f"the question is over {cfg.max_question_chars} characters"),
    "solution_too_short": SampleFilter(lambda t, cfg: len(t.solution) < cfg.min_solution_chars,
                                       lambda cfg: f"the solution is under {cfg.min_solution_chars} characters"),
    "solution_too_long": SampleFilter(lambda t, cfg: len(t.solution) > cfg.max_solution_chars,
                                      lambda cfg: f"the solution is over {cfg.max_solution_chars} characters"),
    "answer_too_long": SampleFilter(lambda t, cfg: len(t.answer) > cfg.max_answer_chars,
                                    lambda cfg: f"the answer is over {cfg.max_answer_chars} characters"),
    "choice_question": SampleFilter(
        lambda t, cfg: cfg.drop_choice_questions and is_choice_question(t.question),
        lambda cfg: "the question asks to choose among options (MathScale's \"which of the following\" filter)"
        + ("" if cfg.drop_choice_questions else "; off (drop_choice_questions=false)"),
    ),
}  # fmt: skip


def drop_reason(question: str, solution: str, answer: str, cfg: FilterConfig) -> str | None:
    """The name of the first filter that drops this sample, or None to keep it."""
    raw = Texts(question, solution, answer)
    stripped = raw.stripped()
    for name, sample_filter in FILTERS.items():
        if sample_filter.drops(raw if sample_filter.raw else stripped, cfg):
            return name
    return None


def describe_filters(cfg: FilterConfig) -> list[tuple[str, str]]:
    """(name, what it drops) of every filter, in order, as ``cfg`` sets them: the dataset card's list."""
    return [(name, sample_filter.describe(cfg)) for name, sample_filter in FILTERS.items()]
