r"""Replies in tagged sections: a heading line per field, the text under it taken as written.

    ### Question
    What is $\frac{1}{2} + \frac{1}{3}$?

    ### Solution
    ...

    ### Answer
    \frac{5}{6}

In a JSON reply every backslash of the LaTeX must be doubled, and models often leave them
single: ``\frac`` in a JSON string is a form feed + "rac", and a few replies read the same
both ways, so no decoder can say what was meant (:mod:`mathscale.llm.jsonparse`). Text
under a heading needs no escaping, so its LaTeX comes back byte for byte;
``bench/bench_latex_roundtrip.py`` measures both formats on the MATH and CollegeMath
solutions.

:func:`parse_sections` reads what models really write around the headings: text before the
first one, ``## Answer``, ``**Answer:**``, ``Answer: 42`` on one line (used only when the
``###``-style headings are not all there, so an "Answer: 42" line closing a solution stays
in it), a code fence around the whole reply, and LaTeX whose every backslash is doubled out
of JSON habit (``\\frac``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

from mathscale.llm.jsonparse import ReplyError

_BACKSLASH_RUN = re.compile(r"\\+")
_ESCAPED_SYMBOLS = set("$%&#_{}")  # LaTeX's \$ \% …
_FENCE = "```"
# Words before a section's name that models copy from the prompts' placeholders
# ("<the new question>", "<step-by-step solution>", "<final answer only …>").
_QUALIFIERS = r"(?:the[ \t]+new|new|step[- ]by[- ]step|final)[ \t]+"


def heading(name: str) -> str:
    """The heading line of section ``name`` as the prompts write it: ``### Question``."""
    return "### " + name.replace("_", " ").capitalize()


def format_sections(fields: dict[str, str]) -> str:
    r"""A reply holding ``fields`` as tagged sections (what a model asked for them writes).

    >>> print(format_sections({"solution": r"$\frac{1}{2}$", "answer": "1/2"}))
    ### Solution
    $\frac{1}{2}$
    <BLANKLINE>
    ### Answer
    1/2
    """
    return "\n\n".join(f"{heading(name)}\n{text}" for name, text in fields.items())


def parse_sections(text: str, names: Sequence[str], optional: Sequence[str] = ()) -> dict[str, str]:
    r"""The text under the heading of each of ``names`` and ``optional``, stripped (an
    ``optional`` section the reply does not have is left out); raises ReplyError naming a
    missing one of ``names``.

    A heading is a line holding the section's name alone: ``### Answer`` (1 to 6 ``#``),
    ``**Answer**``, ``**Answer:**``, ``Answer:``, also as ``Final Answer``, ``Step-by-step
    solution``, ``New question``; after a colon the line may go on with the section's first
    words. When every section has a ``#`` heading, only those count. A
    section runs to the next heading of any section; a name's first heading wins.

    >>> parse_sections("Sure!\n### Solution\n$\\frac{1}{2} \\neq 1$\n**Answer:** $\\frac12$", ("solution", "answer"))
    {'solution': '$\\frac{1}{2} \\neq 1$', 'answer': '$\\frac12$'}
    """
    if not text or not text.strip():
        raise ReplyError("the reply is empty")
    every = (*names, *optional)
    lines = _undouble(text.replace("\r\n", "\n")).split("\n")  # a carriage return would read as a control character
    pattern, keys = _heading_pattern(every), {name.replace("_", " ").lower(): name for name in every}
    found = [h for h in (_heading(line, i, pattern, keys) for i, line in enumerate(lines)) if h is not None]
    marked = [h for h in found if h[3]]
    if {h[1] for h in marked} >= set(every):
        found = marked  # "### " headings for every section: a bold "Answer:" line is the text's own
    missing = [name for name in names if name not in {h[1] for h in found}]
    if missing:
        absent = ", ".join(f"'{heading(name)}'" for name in missing)
        raise ReplyError(f"the reply has no {absent} section{'s' if len(missing) > 1 else ''}")
    sections: dict[str, str] = {}
    for k, (i, name, first, _) in enumerate(found):
        end = found[k + 1][0] if k + 1 < len(found) else len(lines)
        if name not in sections:
            sections[name] = "\n".join([first, *lines[i + 1 : end]]).strip()
    fenced = bool(found) and _FENCE in "\n".join(lines[: found[0][0]])
    if fenced:  # the closing fence of a reply wrapped in a code block
        for name, body in sections.items():
            if body.endswith(_FENCE) and body.count(_FENCE) % 2:
                sections[name] = body[: -len(_FENCE)].rstrip()
    return {name: sections[name] for name in every if name in sections}


@functools.lru_cache(maxsize=16)
def _heading_pattern(names: tuple[str, ...]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(name.replace("_", " ")) for name in sorted(names, key=len, reverse=True))
    return re.compile(
        rf"""[ \t]*(?P<marks>\#{{1,6}})?[ \t]*(?P<bold>\*\*|__)?[ \t]*(?:{_QUALIFIERS})?(?P<name>{alternatives})\b
             [ \t]*(?P<colon>:)?[ \t]*(?P<close>\*\*|__)?[ \t]*(?P<colon2>:)?[ \t]*(?P<rest>.*)""",
        re.IGNORECASE | re.VERBOSE,
    )


def _heading(line: str, i: int, pattern: re.Pattern[str], keys: dict[str, str]) -> tuple[int, str, str, bool] | None:
    """(line number, section name, text after the heading on its line, whether it is a
    ``#`` heading) when ``line`` is a heading of ``pattern`` (:func:`_heading_pattern`),
    else None; ``keys`` maps a heading's name, lower case, to its section's name."""
    m = pattern.fullmatch(line)
    if m is None:
        return None
    colon = bool(m["colon"] or m["colon2"])
    rest = m["rest"]  # its trailing spaces are the text's (only the whole section is stripped)
    if m["close"] and not m["bold"]:  # "Answer: **42**": the bold is the answer's
        rest = (m["close"] + rest) if not m["colon2"] else rest
    elif m["bold"] and not m["close"] and rest.rstrip().endswith(m["bold"]):
        rest = rest.rstrip()[: -len(m["bold"])].rstrip()  # **Answer: 42**
    if (rest.strip() and not colon) or not (m["marks"] or m["bold"] or colon):
        return None  # "Solution 1: ..." or "Answer by listing ..." is text, not a heading
    return i, keys[m["name"].lower()], rest, bool(m["marks"])


def _undouble(text: str) -> str:
    r"""``text`` with every backslash run halved when the model doubled them all (``\\frac``,
    ``\\\\`` for a line break), as it would inside a JSON string; else ``text`` as it is.

    A reply is doubled when every run of backslashes in it has even length and some run
    goes on with a letter or a symbol LaTeX escapes (``\\$``): real LaTeX has single-backslash
    commands (an odd run), and on the MATH and CollegeMath solutions no reply written as-is
    looks doubled.

    >>> print(_undouble(r"$\\frac{1}{2} \\\\ \\neq$"), _undouble(r"$\frac{1}{2} \\ x$"))
    $\frac{1}{2} \\ \neq$ $\frac{1}{2} \\ x$
    """
    runs = list(_BACKSLASH_RUN.finditer(text))
    if not runs or any(len(m.group()) % 2 for m in runs):
        return text
    after = [text[m.end() : m.end() + 1] for m in runs]
    if not any(c.isalpha() or c in _ESCAPED_SYMBOLS for c in after if c):
        return text
    return _BACKSLASH_RUN.sub(lambda m: "\\" * (len(m.group()) // 2), text)
