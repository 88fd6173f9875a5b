"""Multiple-choice answers: options from the record or the question, the letter a completion chose.

A completion may name its choice as "(C)", "C.", "C)", "option C", ``\\boxed{C}``,
``\\text{(C)}``, ``\\mathrm{C}``, or by the option's text ("the answer is 10" when (D) is 10).

>>> parse_options("Find x.\\n(A) 2\\n(B) 4\\n(C) 9\\n(D) 10")
{'A': '2', 'B': '4', 'C': '9', 'D': '10'}
>>> choose_letter("So the answer is option c.", {"A": "2", "C": "9"})
'C'
"""

from __future__ import annotations

import re
from typing import Any

from mathscale.eval.equivalence import equivalent
from mathscale.eval.final_answer import answer_after_phrase, last_boxed
from mathscale.eval.answer_normalize import compact, strip_delimiters

_OPTION = re.compile(r"(?:^|(?<=\s))\(?([A-E])\)\s*(.*?)(?=\s+\(?[A-E]\)|\s*$)", re.S)
_OPTION_DOT = re.compile(r"^\s*\(?([A-E])[.:]\s*(.+?)\s*$", re.M)
# Capital letters only ("a" is a variable), except after "option"/"choice".
_LETTER_ONLY = re.compile(
    r"^\s*(?:\\text\{)?\s*(?:\(\s*([A-E])\s*\)|([A-E])|(?i:option|choice)\s*\(?\s*([A-Ea-e])\s*\)?)\s*\}?\s*[.:)]?\s*$"
)
_LETTER_LEAD = re.compile(r"^\s*(?:(?i:option|choice)\s*)?\(([A-E])\)|^\s*(?i:option|choice)\s+([A-Ea-e])\b|^\s*([A-E])[.:)]\s")
_LETTER_WRAPPER = re.compile(r"\\(?:mathrm|mathbf|textbf|mathit|textnormal|textrm|boldsymbol)\{\s*([A-E])\s*\}")  # \mathrm{D}
_LETTER_ANYWHERE = re.compile(r"\(([A-E])\)|(?:option|choice)\s+\(?([A-E])\b")


def is_choice_reference(reference: str) -> bool:
    return bool(re.fullmatch(r"\s*\(?[A-E]\)?\s*", reference))


def reference_letter(reference: str) -> str:
    return reference.strip().strip("()").upper()


def parse_options(question: str) -> dict[str, str]:
    """Options written in the question as "(A) text" (one per line or inline) or "A. text" lines."""
    found = {m.group(1): m.group(2).strip() for m in _OPTION.finditer(question)}
    if len(found) < 2:
        found = {m.group(1): m.group(2).strip() for m in _OPTION_DOT.finditer(question)}
    return found if len(found) >= 2 else {}


def options_from_field(value: Any) -> dict[str, str]:
    """MWPBench ``options`` fields: ``{"A": text}``, ``["(A)text", ...]`` or one string."""
    if isinstance(value, dict):
        return {str(k).strip("()").upper(): str(v) for k, v in value.items()}
    if isinstance(value, list):
        return parse_options("\n".join(str(v) for v in value))
    if isinstance(value, str):
        return parse_options(value)
    return {}


def letter_in(text: str) -> str | None:
    """The letter ``text`` names when it is (or starts with) a choice: "(C)", "C.", "option c"."""
    text = _LETTER_WRAPPER.sub(r"\1", strip_delimiters(text))
    match = _LETTER_ONLY.match(text) or _LETTER_LEAD.match(text)
    if match:
        return next(g for g in match.groups() if g).upper()
    return None


def choose_letter(completion: str, options: dict[str, str]) -> str | None:
    """The letter the completion chose, or None."""
    for candidate in (last_boxed(completion), answer_after_phrase(completion)):
        if candidate is None:
            continue
        letter = letter_in(candidate)
        if letter:
            return letter
        key = compact(strip_delimiters(candidate))
        same = [k for k, v in options.items() if compact(strip_delimiters(v)) == key]
        if len(same) == 1:
            return same[0]
        matches = [k for k, v in options.items() if equivalent(candidate, v)]
        if len(matches) == 1:
            return matches[0]
    tail = completion[-300:]
    anywhere = list(_LETTER_ANYWHERE.finditer(tail))
    if anywhere:
        return next(g for g in anywhere[-1].groups() if g).upper()
    return None
