r"""Tolerant parsing of JSON that language models write, and validation against a schema.

Models wrap JSON in code fences, add a sentence before or after it, leave trailing
commas or stop mid-object. :func:`parse_json_reply` finds the first complete JSON
object in the text, and :func:`validate` checks it against a JSON schema.

Models also write LaTeX into JSON strings without doubling its backslashes. Read as
JSON, ``\frac`` would become a form feed + "rac", ``\begin`` a backspace + "egin",
``\theta`` a tab + "heta", and ``\sqrt`` would not parse at all. :func:`keep_latex`
rewrites such backslashes to literal ones before decoding; which escapes a reply means
as LaTeX is decided per reply (see there). ``bench/bench_latex_roundtrip.py`` measures it
on the MATH and CollegeMath solutions.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

import jsonschema

_TRAILING_COMMA = re.compile(r",\s*([}\]])")
_LETTERS = re.compile(r"[A-Za-z]*")
_QUOTE_OR_ESCAPE = re.compile(r'"|\\(.)', re.DOTALL)
_HEX4 = re.compile(r"[0-9a-fA-F]{4}")
# LaTeX commands that begin like the JSON escapes \n and \t (the other escapes that can
# start a command, \b \f \r, never stand for a control character in math text).
N_COMMANDS = frozenset(
    "ne neq nabla not notin nu neg newline noalign nmid nleq ngeq nleqslant ngeqslant nless ngtr nexists "
    "natural nearrow nwarrow nsubseteq nsupseteq nsubset nsupset ncong nsim nparallel nvdash nprec "
    "nsucc nRightarrow nLeftarrow nrightarrow nleftarrow nleftrightarrow nLeftrightarrow noindent "
    "nonumber normalsize nolimits nobreak newpage".split()
)  # fmt: skip
T_COMMANDS = frozenset(
    "text textbf textit textrm texttt textsf textnormal textstyle textcolor textup textmd textsc "
    "textdegree textsuperscript textsubscript textunderscore textasciicircum times theta tau tan tanh "
    "tfrac tbinom to top triangle triangleq triangleleft triangleright trianglelefteq trianglerighteq "
    "tilde therefore tiny tag tt thinspace thickspace thicksim thickapprox twoheadrightarrow "
    "textperiodcentered".split()
)  # fmt: skip
_ESCAPED_SYMBOLS = set("{}$%&#_,;:!|")  # \\{ in an escaped reply is LaTeX \{


class ReplyError(ValueError):
    """The reply holds no usable JSON object; the message says why (for the repair prompt)."""


def parse_json_reply(text: str) -> Any:
    """Return the first JSON object in ``text``.

    >>> parse_json_reply('Sure! ```json\\n{"a": [1, 2,],}\\n``` Hope it helps.')
    {'a': [1, 2]}
    """
    if not text or not text.strip():
        raise ReplyError("the reply is empty")
    decoder = json.JSONDecoder(strict=False)  # a raw newline inside a string is fine too
    start = text.find("{")
    if start < 0:
        raise ReplyError("the reply contains no JSON object")
    while start >= 0:
        candidate = _balanced_object(text, start)
        if candidate is not None:
            candidate = keep_latex(candidate)
            for attempt in (candidate, _TRAILING_COMMA.sub(r"\1", candidate)):
                try:
                    return decoder.decode(attempt)
                except json.JSONDecodeError:
                    pass
        start = text.find("{", start + 1)
    raise ReplyError("the JSON object in the reply is incomplete or malformed")


def _escapes(text: str) -> list[tuple[int, str, str]]:
    """(position, escape letter, the letters after it) of every backslash escape inside a
    JSON string of ``text``."""
    found = []
    in_string = False
    for m in _QUOTE_OR_ESCAPE.finditer(text):
        if m.group() == '"':
            in_string = not in_string
        elif in_string:
            found.append((m.start(), m.group(1), _LETTERS.match(text, m.end()).group()))
    return found


def _is_command(kind: str, rest: str) -> bool:
    return (kind == "n" and "n" + rest in N_COMMANDS) or (kind == "t" and "t" + rest in T_COMMANDS)


_SHORT_N = {"ne", "nu", "nmid"}  # also a newline before "e", "u", "mid"
_COMMAND_BEFORE = re.compile(r"\\[A-Za-z]+$")


def _newline_here(text: str, i: int, name: str) -> bool:
    r"""Whether ``\n`` + ``name`` at ``i`` of a raw reply is a newline rather than LaTeX.

    Only the short names are in doubt. Measured on MATH and CollegeMath: a newline before
    "e", "u", "mid" comes after ``;`` ``}`` ``)`` ``:`` ``.`` a line break, another newline
    or a command (``\hline``), and "e" then goes on with ``^ _ ( =``; the command ``\ne``
    comes after a space, a letter or ``$``, and goes on with a space or a digit.
    """
    if name not in _SHORT_N:
        return False
    before = text[i - 1] if i else '"'
    if before in ';}):.,"' or (before in "n\\" and i >= 2 and text[i - 2] == "\\"):
        return True
    if name == "ne" and text[i + 3 : i + 4] in ("^", "_", "(", "="):
        return True
    return bool(_COMMAND_BEFORE.search(text, max(0, i - 40), i))


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_TAB_WORD = re.compile(r"\t([A-Za-z]+)")


def has_control_chars(text: str) -> bool:
    r"""Whether ``text`` holds a control character a LaTeX command turned into: any but
    newline and tab, or a tab before the rest of a command's name (tab + "imes").

    >>> has_control_chars("\x08egin{bmatrix}"), has_control_chars("a\tb\nc"), has_control_chars("2\times 3")
    (True, False, True)
    """
    if _CONTROL.search(text):
        return True
    return any("t" + m.group(1) in T_COMMANDS for m in _TAB_WORD.finditer(text))


def keep_latex(text: str) -> str:
    """JSON text in which the backslashes a model meant as LaTeX are escaped (doubled).

    Per reply: a reply that escapes its LaTeX (``\\\\frac``, ``\\\\{``) is *escaped*;
    one with backslashes JSON does not allow (``\\sqrt``, ``\\{``) or with escapes that
    spell a LaTeX command (``\\frac``, ``\\begin``, ``\\right``, ``\\theta``, ``\\neq``)
    is *raw*; the side with more evidence wins. Then, in every reply, ``\\b``, ``\\f``,
    ``\\r`` followed by a letter, ``\\t`` followed by a LaTeX command's name and every
    invalid escape are LaTeX. In a raw reply also ``\\n`` followed by a command's name
    (``\\neq``, ``\\nabla``) and ``\\\\`` (a LaTeX line break); in an escaped reply
    ``\\n`` is a newline and ``\\\\`` one backslash, as JSON says.

    >>> json.loads(keep_latex(r'{"s": "$\\frac{1}{2} \\neq \\sqrt{x}$\\nDone"}'))["s"]
    '$\\\\frac{1}{2} \\\\neq \\\\sqrt{x}$\\nDone'
    """
    escapes = _escapes(text)
    if not escapes:
        return text
    raw = escaped = 0
    for i, kind, rest in escapes:
        if kind == "\\":
            after = text[i + 2 : i + 3]
            escaped += bool(after) and (after.isalpha() or after in _ESCAPED_SYMBOLS)
        elif kind in "bfr" and rest:
            raw += 1
        elif kind == "t" and _is_command(kind, rest):
            raw += 1
        elif kind == "u":
            raw += not _HEX4.match(text, i + 2)
        elif kind not in '"/bfnrt':
            raw += 1
    is_raw = raw > escaped
    out: list[str] = []
    last = 0
    for i, kind, rest in escapes:
        if kind == "\\":
            literal = is_raw  # a LaTeX line break: both backslashes stay
        elif kind in "bfr":
            literal = bool(rest)
        elif kind == "t":
            literal = _is_command(kind, rest)
        elif kind == "n":
            literal = (is_raw or not escaped) and _is_command(kind, rest) and not _newline_here(text, i, "n" + rest)
        elif kind == "u":
            literal = not _HEX4.match(text, i + 2)
        else:
            literal = kind not in '"/'
        if literal:  # one more backslash: the original one then stands for itself
            out.append(text[last:i])
            out.append("\\" * (3 if kind == "\\" else 2))
            last = i + 1
    out.append(text[last:])
    return "".join(out)


def _balanced_object(text: str, start: int) -> str | None:
    """The substring from ``start`` to its matching ``}`` (strings respected), or None."""
    depth = 0
    in_string = escaped = False
    for i in range(start, len(text)):
        ch = text[i]
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return text[start : i + 1]
    return None


def validate(data: Any, schema: dict[str, Any]) -> None:
    """Raise ReplyError naming the first field that breaks ``schema``."""
    validator = _validator(json.dumps(schema, sort_keys=True))
    if validator.is_valid(data):  # the fast path: building error objects is slow
        return
    error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    where = "/".join(str(p) for p in error.absolute_path) or "the object"
    raise ReplyError(f"{where}: {error.message}")


@functools.lru_cache(maxsize=64)
def _validator(schema_json: str) -> Any:
    schema = json.loads(schema_json)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)
