"""Find the final answer in a model completion (the ``mathscale`` grader).

In order: the last ``\\boxed{...}`` / ``\\fbox{...}`` (nested braces balanced), the text after
the last "####", the last "the answer is ..." (rest of its line), and finally the last number.

>>> extract_answer(r"so $x = \\boxed{\\frac{1}{2}}$.")
'\\\\frac{1}{2}'
>>> extract_answer("The answer is 7 and 8.")
'7 and 8'
"""

from __future__ import annotations

import re

_BOX = re.compile(r"\\(?:boxed|fbox)\s*")
_ANSWER_IS = re.compile(r"(?:final answer|the answer|answer)\s*(?:\*\*)?\s*(?:is|:)\s*(?:\*\*)?\s*(?:equal to\s*)?:?", re.I)
_HASHES = re.compile(r"####\s*")
_NUMBER = re.compile(r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:/\d+)?|[-+]?\.\d+")


def last_boxed(text: str) -> str | None:
    """Content of the last ``\\boxed{}``/``\\fbox{}``; ``\\boxed 5`` gives ``5``; None if absent."""
    starts = [m for m in _BOX.finditer(text)]
    for match in reversed(starts):
        pos = match.end()
        if pos < len(text) and text[pos] == "{":
            content = _balanced(text, pos)
            if content is not None:
                return content.strip()
        elif pos < len(text):
            word = re.match(r"[^\s$.,]+", text[pos:])
            if word:
                return word.group(0)
    return None


def _balanced(text: str, open_pos: int) -> str | None:
    depth = 0
    i = open_pos
    while i < len(text):
        char = text[i]
        if char == "\\":  # \{ and \} do not count
            i += 2
            continue
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return text[open_pos + 1 : i]
        i += 1
    return None


def answer_after_phrase(text: str) -> str | None:
    """The rest of the line after the last "the answer is" (or "answer:")."""
    matches = list(_ANSWER_IS.finditer(text))
    if not matches:
        return None
    rest = text[matches[-1].end() :].strip()
    line = rest.split("\n", 1)[0].strip()
    line = re.split(r"\.\s+(?=[A-Z])|\.$", line, maxsplit=1)[0]  # end of the sentence
    line = line.strip().rstrip(".").strip().strip("*").strip().rstrip(".")  # markdown **bold**
    return line or None


def last_number(text: str) -> str | None:
    numbers = _NUMBER.findall(text)
    return numbers[-1] if numbers else None


def extract_answer(completion: str) -> str | None:
    """The final answer the completion states, or None when it states none."""
    boxed = last_boxed(completion)
    if boxed is not None:
        return boxed
    hashes = list(_HASHES.finditer(completion))
    if hashes:
        line = completion[hashes[-1].end() :].split("\n", 1)[0].strip().rstrip(".")
        if line:
            return line
    phrase = answer_after_phrase(completion)
    if phrase is not None:
        inner = last_boxed(phrase)
        return inner if inner is not None else phrase
    return last_number(completion)
