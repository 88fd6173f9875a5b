"""Normalisation of final answers for the ``mathscale`` grader (not the official one).

It removes what never changes the value of an answer: math delimiters, ``\\left``/``\\right``,
spacing commands, ``\\dfrac``/``\\tfrac``, degree marks, dollar signs, thousands separators
(``1,234``, ``12,\\!507``, ``1{,}000``, ``1\\,000``), units (``\\text{ cm}``,
``\\textnormal{ miles}``, "18 dollars") and ``\\text{}`` wrappers; it undoes backslashes doubled
by a raw string (``\\\\frac``), reads a LaTeX decimal comma (``2{,}5``) and a mixed number
(``512\\frac{1}{4}`` is 512.25, not a product). A percent sign is removed and reported,
because "50%" may be compared with 50 or with 0.5.

>>> normalize_answer(r"$\\dfrac{1}{2}\\,\\text{cm}$")
Normalized(text='\\\\frac{1}{2}', percent=False)
>>> normalize_answer("1,234.5%")
Normalized(text='1234.5', percent=True)
"""

from __future__ import annotations

import re
from typing import NamedTuple


class Normalized(NamedTuple):
    text: str
    percent: bool


_DELIMITERS = re.compile(r"^\s*(?:\$\$|\$|\\\(|\\\[)(.*?)(?:\$\$|\$|\\\)|\\\])\s*$", re.S)
_LEFT_RIGHT = re.compile(r"\\(?:left|right|bigl|bigr|Bigl|Bigr|big|Big)(?![a-zA-Z])\.?")
_SPACING = re.compile(r"(?<!\\)\\[,;:! ]|\\q?quad(?![a-zA-Z])|\\displaystyle|~")
_DEGREES = re.compile(r"\^\s*\{?\s*\\circ\s*\}?|°|\\degree(?![a-zA-Z])|\^\{\\text\{o\}\}")
_PERCENT = re.compile(r"\\%|%|\\text\{\s*percent\s*\}|\s+percent$")
_CONNECTIVES = re.compile(r"\\(?:text|mbox|mathrm)\{\s*(?:or|and)\s*\}|\s+(?:or|and)\s+")
# a unit is text at the very end, after a number or a closing brace: "12\text{ cm}^2"
_UNIT_TEXT = re.compile(r"(?<=[\d}])\s*\\(?:text|textnormal|textrm|mbox|mathrm|textbf)\{(?!\s*[ie]\s*\})\s*[a-zA-Z][a-zA-Z\s./]*\}(?:\^\{?\d\}?)?\s*$")
_WRAPPER = re.compile(r"\\(?:text|textbf|textnormal|textrm|textsf|mbox|mathrm|mathbf|mathit|boldsymbol|textit)\{([^{}]*)\}")
_THOUSANDS = re.compile(r"^[-+]?\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
_NUMBER_WITH_UNIT = re.compile(r"^([-+]?(?:\d[\d,]*(?:\.\d+)?|\.\d+)(?:/\d+)?)\s+[a-zA-Z]{2,}[a-zA-Z .]*(?:\^?[23])?$")  # "18 dollars", not "8 i"
_SPACES = re.compile(r"\s+")
_LEAD_IN = re.compile(r"^(?:the\s+)?(?:solution|answer)s?(?:\s+(?:is|are))?\s*:\s*(?=[$\\(\[{\d-])", re.I)  # "Solution is: $[x=-1, y=5]$"
_DOUBLED = re.compile(r"\\\\(?=[a-zA-Z{}()\[\]%$,!;:])")  # "\\frac" from a raw string; not "\\ " (a matrix row)
_THOUSANDS_MARK = re.compile(r"(?<=\d)(?:,\\!|\{,\}|\\,|\\;|\\ |~)(?=\d{3}(?!\d))")
_DECIMAL_COMMA = re.compile(r"(?<=\d)\{,\}(?=\d)")
_MIXED = re.compile(r"^(-?)(\d+)(?:\s*\\frac(?:\{(\d+)\}|(\d))(?:\{(\d+)\}|(\d))|\s+(\d+)/(\d+))$")


def strip_delimiters(text: str) -> str:
    """``$x$``, ``$$x$$``, ``\\(x\\)``, ``\\[x\\]`` -> ``x`` (repeatedly)."""
    while True:
        match = _DELIMITERS.match(text)
        if not match:
            return text.strip()
        text = match.group(1)


def normalize_answer(text: str) -> Normalized:
    text = _DOUBLED.sub(lambda _: "\\", text.strip()) if "\\\\" in text else text.strip()
    text = _LEAD_IN.sub("", text)
    text = strip_delimiters(text)
    text = _THOUSANDS_MARK.sub("", text)
    text = _DECIMAL_COMMA.sub(".", text)
    text = text.replace("\\$", "").replace("$", "")
    text = re.sub(r"\\[dtc]frac(?![a-zA-Z])", r"\\frac", text)
    text = _LEFT_RIGHT.sub("", text)
    text = _SPACING.sub(" ", text).replace("{,}", "")
    text = _DEGREES.sub("", text)
    text, percents = _PERCENT.subn("", text)
    text = _CONNECTIVES.sub(",", text)
    text = _UNIT_TEXT.sub("", text)
    for _ in range(3):  # nested wrappers
        text = _WRAPPER.sub(r"\1", text)
    text = text.replace("\\\\", "\\") if "\\begin" not in text else text
    text = _SPACES.sub(" ", text).strip().rstrip(".").strip()
    if _THOUSANDS.match(text):
        text = text.replace(",", "")
    text = re.sub(r"(?<=\d) (?=\d{3}(?!\d))", "", text)
    unit = _NUMBER_WITH_UNIT.match(text)
    if unit:
        text = unit.group(1)
        if _THOUSANDS.match(text):
            text = text.replace(",", "")
    mixed = _MIXED.match(text)
    if mixed:
        sign, whole, *parts = mixed.groups()
        num, den = [p for p in parts if p is not None]
        if 0 < int(num) < int(den):  # a proper fraction after a whole number: a mixed number
            text = f"{sign}({whole}+\\frac{{{num}}}{{{den}}})"
    return Normalized(text, percents > 0)


def compact(text: str) -> str:
    """The string-comparison key: no spaces."""
    return text.replace(" ", "")
