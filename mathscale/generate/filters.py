"""Per-sample filters, each returning a drop reason (counted in the report) or None.

MathScale drops questions phrased as a choice among options; we add length bounds,
require a final answer, and drop a sample holding a control character that LaTeX became
(``\x08egin{bmatrix}``: mathscale.llm.jsonparse keeps LaTeX literal, this catches the rest).
"""

from __future__ import annotations

from mathscale.generate.config import FilterConfig
from mathscale.llm.jsonparse import has_control_chars

# The paper's list (MathScale, section 2.3): such questions need options the generator
# rarely writes out, and they do not train free-form answering.
CHOICE_PHRASES = ("which of the following", "which one", "which is", "the following", "which statement")


def is_choice_question(question: str) -> bool:
    text = " ".join(question.lower().split())
    return any(phrase in text for phrase in CHOICE_PHRASES)


def drop_reason(question: str, solution: str, answer: str, cfg: FilterConfig) -> str | None:
    """Why this sample must go, or None to keep it. Cheapest checks first."""
    # Before strip(): a form feed made from "\frac" at either end is whitespace to it.
    if has_control_chars(question) or has_control_chars(solution) or has_control_chars(answer):
        return "control_characters"  # LaTeX the reply's JSON turned into a form feed, a backspace …
    question, solution, answer = question.strip(), solution.strip(), answer.strip()
    if not answer:
        return "missing_answer"
    if not question:
        return "missing_question"
    if not solution:
        return "missing_solution"
    if len(question) < cfg.min_question_chars:
        return "question_too_short"
    if len(question) > cfg.max_question_chars:
        return "question_too_long"
    if len(solution) < cfg.min_solution_chars:
        return "solution_too_short"
    if len(solution) > cfg.max_solution_chars:
        return "solution_too_long"
    if len(answer) > cfg.max_answer_chars:
        return "answer_too_long"
    if cfg.drop_choice_questions and is_choice_question(question):
        return "choice_question"
    return None
