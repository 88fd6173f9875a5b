"""Find the final answer in a model completion, the way a reader would (the ``mathscale`` grader).

In order, the first that is there decides:

1. boxes: the last ``\\boxed{...}`` / ``\\fbox{...}`` (nested braces balanced); boxes joined
   only by "and", "or", commas or ``x =`` (``$\\boxed{(1,3)}$ and $\\boxed{(4,0)}$``) are one
   answer with several parts, while a box followed by words ("then finally ...") is an
   intermediate result and the last box alone counts;
2. the text after the last "####";
3. a stated answer: after the last "the answer is", "Final Answer:", "answer:", the rest of
   its sentence, read as prose (:func:`stated_answer`);
4. a conclusion: the last sentence opening with "therefore", "thus", "hence", "so", "in
   conclusion", read the same way ("Therefore $x \\geq 5$ is the solution" gives ``x \\geq 5``);
5. the last ``$...$`` of the last paragraph, else the last number.

Reading a sentence as prose (:func:`stated_answer`): what follows its last "is"/"are"/
"equals"/"="-like verb outside math (``The smallest $k$ is 12`` gives ``12``), its first math
or number when words follow (``$-1004$, and checking ...`` gives ``-1004``); when nothing
mathematical follows the verb (``$x \\geq 5$ is the solution``), the math before it.

>>> extract_answer(r"so $x = \\boxed{\\frac{1}{2}}$.")
'\\\\frac{1}{2}'
>>> extract_answer("Final Answer: The smallest $k$ is 12.")
'12'
>>> extract_answer("The answer is 7 and 8.")
'7 and 8'
"""

from __future__ import annotations

import re

_BOX = re.compile(r"\\(?:boxed|fbox)\s*")
_ANSWER_IS = re.compile(
    r"(?:final answer|the answer|answer)\s*(?:\*\*)?\s*(?:is|:)\s*(?:\*\*)?\s*(?:equal to\s*)?:?|final answer\s*(?:\*\*)?\s*$",
    re.I | re.M,
)
_HASHES = re.compile(r"####\s*")
_NUMBER = re.compile(r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:/\d+)?|[-+]?\.\d+")
_LEADING_NUMBER = re.compile(r"\s*(?:\\\$|\$(?=\d))?\s*([-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:/\d+)?%?|[-+]?\.\d+%?)")
# math spans: $$...$$, $...$, \(...\), \[...\]; a "$" followed by a digit and no closing "$" is money
_MATH = re.compile(r"\$\$(.+?)\$\$|\$((?:[^$\\]|\\.)+?)\$|\\\((.+?)\\\)|\\\[(.+?)\\\]", re.S)
_PROSE_INSIDE = re.compile(r"[a-zA-Z]{2,}\s+[a-zA-Z]{2,}\s+[a-zA-Z]{2,}")
_CONCLUSION = re.compile(r"(?:^|(?<=[.!?:\n]))\s*(?:\*\*)?\s*(?:therefore|thus|hence|so|in conclusion|in summary|finally|consequently)\b", re.I)
# the verb after which a stated answer comes ("the smallest k is 12", "the roots are 1 and 2")
_VERB = re.compile(
    r"(?<![\w\\])(?:is|are|equals|equal to|was|were|becomes|be|gives|giving|yields|get|gets|obtain|makes|making|total of|simplifies to|reduces to|=)(?![\w])", re.I
)
_NO_ANSWER_AFTER = re.compile(r"^\s*(?:the|our|a|an|its|one|only)?\s*(?:final\s+)?(?:answer|solution|solutions|result|value|values|set|range|domain)\b", re.I)
_CLAUSE_END = re.compile(r",?\s+(?:because|since|as|which|where|when|so|for|after|before|and\s+(?:so|thus|this|that|we|the|it))\b|[;!?]\s|\s\(", re.I)
_FILLER = re.compile(r"^(?:(?:about|approximately|exactly|just|only|roughly|around|nearly|precisely|simply|then|now|here|thus|so)\s+)+", re.I)
_JOIN = re.compile(r"^(?:[\s$,;]|\\[,;:! ]|\\q?quad|\\text\{\s*(?:and|or|,)?\s*\}|\band\b|\bor\b|\\\\|&|[a-zA-Z](?:_\{?\w+\}?)?\s*=)*$")
_ITEM = r"(?:#+|[-+]?\d[\d,./]*%?)"
_LIST = re.compile(rf"{_ITEM}(?:\s*(?:,|,?\s*\b(?:and|or)\b)\s*{_ITEM})+")
_LATEX_UNIT = re.compile(r"\s*\\(?:text|textnormal|textrm|mbox|mathrm)\s*\{[^{}]*\}(?:\s*\^\s*\{?\d\}?)?")
_MAX_TAIL = 4000  # characters from the end a stated answer is looked for in


def boxes(text: str) -> list[tuple[int, int, str]]:
    """``(start, end, content)`` of every closed ``\\boxed{}``/``\\fbox{}``; ``\\boxed 5`` gives ``5``."""
    found = []
    for match in _BOX.finditer(text):
        pos = match.end()
        if pos < len(text) and text[pos] == "{":
            close = _closing_brace(text, pos)
            if close is not None:
                found.append((match.start(), close + 1, text[pos + 1 : close].strip()))
        elif pos < len(text):
            word = re.match(r"[^\s$.,]+", text[pos:])
            if word:
                found.append((match.start(), pos + word.end(), word.group(0)))
    return [b for i, b in enumerate(found) if not any(o[0] < b[0] and b[1] <= o[1] for o in found[:i])]  # outermost


def last_boxed(text: str) -> str | None:
    """Content of the last ``\\boxed{}``/``\\fbox{}``; ``\\boxed 5`` gives ``5``; None if absent."""
    found = boxes(text)
    return found[-1][2] if found else None


def final_boxes(text: str) -> list[str]:
    """The last box, with the boxes before it that only "and", "or", commas or ``x =`` separate."""
    found = boxes(text)
    if not found:
        return []
    group = [found[-1]]
    for box in reversed(found[:-1]):
        gap = text[box[1] : group[0][0]]
        if len(gap) > 80 or not _JOIN.match(gap):
            break
        group.insert(0, box)
    return [content for _, _, content in group]


def _closing_brace(text: str, open_pos: int) -> int | None:
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
                return i
        i += 1
    return None


def _sentence(text: str) -> str:
    """``text`` up to the end of its first sentence (a full stop outside math, or a newline)."""
    line = text.strip().split("\n", 1)[0]
    masked = _mask_math(line)
    end = re.search(r"\.(?=\s+[A-Z(\\$*#]|\s*$)|\s+I hope\b", masked)
    return line[: end.start()] if end else line


def _math_spans(text: str) -> list[re.Match]:
    """The math spans of ``text``; "$5 for the pen and $" is money, not math."""
    return [m for m in _MATH.finditer(text) if not _PROSE_INSIDE.search(re.sub(r"\\[a-zA-Z]+(?:\{[^{}]*\})?", " ", _span_text(m)))]


def _mask_math(text: str) -> str:
    """``text`` with every math span replaced by ``#`` of the same length (positions kept)."""
    for m in reversed(_math_spans(text)):
        text = text[: m.start()] + "#" * (m.end() - m.start()) + text[m.end() :]
    return text


def answer_after_phrase(text: str) -> str | None:
    """The rest of the sentence after the last "the answer is" (or "answer:"), as written."""
    last = _last_phrase(text)
    if last is None:
        return None
    rest = text[last.end() :].lstrip(" \t:*")
    if not rest.split("\n", 1)[0].strip() and last.group(0).strip().lower().endswith("answer"):
        rest = rest.lstrip("\n")  # "Final Answer\n$12$"
    line = _sentence(rest).strip().strip("*").strip().rstrip(".").strip()
    return line or None


def whole_statement(completion: str) -> str | None:
    """Everything after the last "the answer is" to the end, for a reference that is itself prose
    or several sentences ("The answer is No solution : $\\oslash$.")."""
    tail = completion[-_MAX_TAIL:]
    last = _last_phrase(tail)
    return None if last is None else tail[last.end() :].strip().strip("*").strip().rstrip(".").strip() or None


def _last_phrase(text: str) -> re.Match | None:
    """The last "the answer is" / "Final Answer:" of ``text``."""
    last = None
    for last in _ANSWER_IS.finditer(text):
        pass
    return last


def stated_answer(sentence: str) -> str | None:
    """The answer a sentence states (see the module docstring); None when it names no one answer."""
    sentence = sentence.strip().strip("*").strip()
    masked = _mask_math(sentence)
    if not re.search(r"[a-zA-Z]{2,}", re.sub(r"\\[a-zA-Z]+(?:\{[^{}]*\})?", "", masked)):
        spans = _math_spans(sentence)
        if len(spans) == 1 and spans[0].start() == 0 and spans[0].end() == len(sentence):
            return _span_text(spans[0])
        return sentence  # no words outside math: all of it is the answer
    for verb in reversed(list(_VERB.finditer(masked))):
        after = sentence[verb.end() :]
        if _NO_ANSWER_AFTER.match(_mask_math(after)):  # "$x \geq 5$ is the solution"
            before = _last_math(sentence[: verb.start()])
            if before is not None:
                return before
            continue
        found = _leading_answer(after)
        if found is not None:
            return found
    spans = _math_spans(sentence)
    if len(spans) == 1:
        return _span_text(spans[0])
    if not spans:
        numbers = _NUMBER.findall(sentence)
        if len(numbers) == 1:
            return numbers[0]
    return None


def _leading_answer(text: str) -> str | None:
    """The math or number that ``text`` opens with, or all of it up to a clause when it is short math."""
    text = _FILLER.sub("", text.strip(" :*"))
    masked = _mask_math(text)
    cut = _CLAUSE_END.search(masked)
    if cut:
        text, masked = text[: cut.start()], masked[: cut.start()]
    text, masked = text.strip().rstrip(",.").strip(), masked.strip().rstrip(",.").strip()
    if not text:
        return None
    first = next((m for m in _math_spans(text) if m.start() == 0), None)
    if first and first.end() == len(text.rstrip()):
        return _span_text(first)
    if not re.search(r"[a-zA-Z]{2,}", re.sub(r"\\[a-zA-Z]+", "", masked)):
        return text if re.search(r"[\d#]", masked) else None
    if _LIST.fullmatch(masked):  # "$1$ and $2$", "7 and 8": all of it
        return text
    if first:  # math, then words: "$-1004$, and checking ..."
        return _span_text(first)
    number = _LEADING_NUMBER.match(text)
    if number:
        return text[number.start(1) : _unit_end(text, number.end(1))]
    return None


def _unit_end(text: str, end: int) -> int:
    """Where the words after a number end when they are a unit ("12 square units", "7 home runs",
    ``15\\mbox{ cm}^2``)."""
    rest = re.match(r"(?:\s+(?!(?:and|or|of|to|in|at|for|per)\b)[a-zA-Z]+)+", text[end:]) or _LATEX_UNIT.match(text[end:])
    return end + rest.end() if rest else end


def _span_text(match: re.Match) -> str:
    return next(g for g in match.groups() if g is not None).strip()


def _last_math(text: str) -> str | None:
    spans = _math_spans(text)
    return _span_text(spans[-1]) if spans else None


def conclusion(text: str) -> str | None:
    """The last sentence that opens with "therefore", "thus", "so", ... and holds math or a number."""
    for match in reversed(list(_CONCLUSION.finditer(text))):
        sentence = _sentence(text[match.end() :]).strip(" ,:")
        if re.search(r"\d", sentence) or _math_spans(sentence):
            return sentence
    return None


def last_number(text: str) -> str | None:
    numbers = _NUMBER.findall(text)
    return numbers[-1] if numbers else None


def last_sentence(text: str) -> str | None:
    """The last sentence of ``text`` that holds math or a number."""
    lines = [line for line in text.strip().split("\n") if line.strip()]
    if not lines:
        return None
    masked = _mask_math(lines[-1])
    starts = [0] + [m.end() for m in re.finditer(r"[.!?]\s+(?=[A-Z(\\$*])", masked)]
    for start in reversed(starts):
        sentence = _sentence(lines[-1][start:])
        if re.search(r"\d", sentence) or _math_spans(sentence):
            return sentence
    return None


def extract_answer(completion: str) -> str | None:
    """The final answer the completion states (see the module docstring), or None when it states none."""
    parts = final_boxes(completion)
    if parts:
        return ", ".join(dict.fromkeys(parts))
    tail = completion[-_MAX_TAIL:]
    hashes = list(_HASHES.finditer(tail))
    if hashes:
        line = tail[hashes[-1].end() :].split("\n", 1)[0].strip().rstrip(".")
        if line:
            return line
    phrase = answer_after_phrase(tail)
    if phrase is not None:
        return _leading_answer(phrase) or stated_answer(phrase) or phrase
    for sentence in (conclusion(tail), last_sentence(tail)):
        found = stated_answer(sentence) if sentence is not None else None
        if found is not None:
            return found
    paragraph = tail.rstrip().rsplit("\n\n", 1)[-1]
    spans = _math_spans(paragraph)
    if spans and not _NUMBER.search(_mask_math(paragraph)[spans[-1].end() :]):
        return _span_text(spans[-1])
    return last_number(tail)
