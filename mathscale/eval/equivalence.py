"""Is a predicted final answer equivalent to the reference? The fast path of the ``mathscale`` grader.

:func:`decide` answers True or False where these checks are sure, and None where they are not
(an expression our small parser does not read, an expression undefined at the test points,
structures of different kinds); :func:`equivalent` then asks the caller's ``symbolic``
check (math-verify, run in a worker under a time limit: :mod:`mathscale.eval.symbolic`).
What the fast path decides, cheapest first:

1. equal strings after :func:`~mathscale.eval.answer_normalize.normalize_answer`; equal words
   ("Yes"/"yes"); two different plain words are different;
2. names and chains: a name on one side is dropped (``(a,b)=(5,1)`` is ``(5,1)``,
   ``x = 5`` is ``5``, ``a+b = 7`` is ``7``); an equation chain keeps its first name and its
   last side (``y = 4+4 = 8`` is ``y = 8``); ``A \\approx 0.577`` is ``A`` (or its decimal);
3. structure: ``\\{1,2\\}`` and ``1, 2`` are unordered collections, ``(1,2]`` and ``(3,4)``
   ordered ones whose brackets must match, ``A \\cup B`` a union, ``\\pm 4`` the set
   ``\\{4, -4\\}``: compared element-wise;
4. relations: ``7 \\leq y`` is ``y \\geq 7``; a reference relation in one variable is the
   interval it describes (``2 < g(t) < 5`` is ``(2,5)``, ``x \\geq 5`` is ``[5,\\infty)``), and
   so is a predicted one when the reference interval cannot be read as a point (it has
   ``\\infty`` or a square bracket);
5. equations side by side, up to moving terms across and multiplying by -1;
6. numbers: exact for integers and fractions (``1 + 5051/2^{100}`` is not ``1 - 5051/2^{100}``);
   two decimals agree when one rounds to the other (``3.14``, ``3.14159``), so two written to
   the same place must be equal; else relative tolerance 1e-4 when a decimal is involved (rounding),
   "50%" as 50 or 0.5, a decimal comma (``2,5``) against a decimal reference;
7. expressions: evaluated at fixed pseudo-random points (``x^2+1`` equals ``1+x^2`` and
   ``2x+1`` does not equal ``x+1``); when evaluation fails there, undecided.

>>> equivalent(r"\\{2, 1\\}", r"\\{1,2\\}")
True
>>> equivalent("[-2,3)", "[-2,3]")
False
>>> decide(r"\\operatorname{lcm}(4, 6)", "12") is None   # for math-verify
True
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
from collections.abc import Callable, Iterable

from mathscale.eval.latex import (Tree, TooLarge, evaluate, exact_value, has_decimal, is_integer_literal, parse_latex,
                                  variables)  # fmt: skip
from mathscale.eval.answer_normalize import compact, normalize_answer

SymbolicCheck = Callable[[str, str], bool]  # (predicted, reference) -> equivalent? (the slow path)
Verdict = bool | None  # None: the fast path cannot tell

DECIMAL_TOLERANCE = 1e-4  # a decimal answer may be rounded
EXACT_TOLERANCE = 1e-9  # float noise when both sides are exact
_VANISHING = 1e-12  # below this a value is float noise or too small to compare
_POINTS = 3
_OPEN = {"(": ")", "[": "]", "{": "}"}
_CLOSE = {")", "]", "}"}
_RELATION_OP = re.compile(r"\\(?:leqslant|geqslant|leq|geq|le|ge|neq|ne|lt|gt)(?![a-zA-Z])|<=|>=|!=|[<>≤≥≠]")
_CANONICAL_OP = {"\\le": "≤", "\\leq": "≤", "\\leqslant": "≤", "<=": "≤", "\\ge": "≥", "\\geq": "≥", "\\geqslant": "≥", ">=": "≥",
                 "\\ne": "≠", "\\neq": "≠", "!=": "≠", "\\lt": "<", "\\gt": ">"}  # fmt: skip
_FLIP = {"<": ">", ">": "<", "≤": "≥", "≥": "≤", "≠": "≠", "=": "="}
# a name an answer may be given under: x, x_1, f(x), AB, \angle ABC, a+b, (a, b)
_NAME = r"(?:[a-zA-Z](?:_\{?\w+\}?)?(?:\([a-zA-Z,\s]*\))?|[A-Z]{2,3}|\\[a-zA-Z]+(?:\s*[A-Z]{1,3})?)"
_NAME_PREFIX = re.compile(rf"^\s*(?:{_NAME}(?:\s*[-+]\s*{_NAME})*|\(\s*{_NAME}(?:\s*,\s*{_NAME})+\s*\))\s*=(?!=)")
_IN_PREFIX = re.compile(rf"^\s*{_NAME}\s*\\in(?![a-zA-Z])")
_DECIMAL_COMMA = re.compile(r"^-?\d+,(?:\d{1,2}|\d{4,})$")
_PLAIN_NUMBER = re.compile(r"^-?\d+\.\d+$")
_WORDS = re.compile(r"^[a-zA-Z][a-zA-Z ]*$")
_INFINITY = re.compile(r"\\infty|\\infinity|∞")
_CONNECTIVE = re.compile(r"(?<![\\a-zA-Z])(?:if|when|where|for|and|or|with|then|so)(?![a-zA-Z])")


def equivalent(predicted: str, reference: str, symbolic: SymbolicCheck | None = None) -> bool:
    """True when ``predicted`` and ``reference`` denote the same answer; where the fast path
    cannot tell, ``symbolic(predicted, reference)`` decides (no ``symbolic``: False)."""
    verdict = decide(predicted, reference)
    if verdict is None:
        return bool(symbolic(predicted, reference)) if symbolic is not None else False
    return verdict


def same_text(predicted: str, reference: str) -> bool:
    """Equal after :func:`~mathscale.eval.answer_normalize.normalize_answer`, spaces aside: the
    first check of :func:`decide`, which can never accept a different answer."""
    if _unit_powers_differ(predicted, reference):
        return False
    return compact(normalize_answer(predicted)[0]) == compact(normalize_answer(reference)[0])


def decide(predicted: str, reference: str) -> Verdict:
    """True or False when the fast checks are sure, None when they are not."""
    if _unit_powers_differ(predicted, reference):
        return False
    verdict = _decide(predicted, reference)
    if verdict is None and _not_for_math_verify(predicted, reference):
        return False  # math-verify reads only part of these (see below)
    return verdict


def _not_for_math_verify(predicted: str, reference: str) -> bool:
    a, b = compact(normalize_answer(predicted)[0]), compact(normalize_answer(reference)[0])
    return (_only_numbers_or_signs_differ(a, b) or _one_adds_a_term(a, b)
            or bool(_PROSE.search(_WRAPPED_TEXT.sub("", reference))) or bool(_TEXT_ONLY.fullmatch(reference.strip())))  # fmt: skip


_NUMBER_OR_SIGN = re.compile(r"\d+(?:\.\d+)?|[-+]")
_PROSE = re.compile(r"[a-zA-Z]{2,}[\s.,:]+[a-zA-Z]{2,}[\s.,:]+[a-zA-Z]{2,}")
_WRAPPED_TEXT = re.compile(r"\\[a-zA-Z]+")
_TEXT_ONLY = re.compile(r"\$?\\(?:text|mathrm)\{[a-zA-Z ]+\}\$?")  # a word answer: "\text{even}" is not "\text{even}+1"


_UNIT_POWER = re.compile(r"\\(?:text|textnormal|textrm|mbox|mathrm)\s*\{\s*~?\s*([a-zA-Z]+)\s*\}\s*(?:\^\s*\{?\s*(\d)\s*\}?)?\s*\$?\s*\.?$")


def _unit_powers_differ(predicted: str, reference: str) -> bool:
    """Both end in the same unit to different powers (``15\\mbox{ cm}^3`` against ``15\\mbox{ cm}^2``):
    units are dropped to compare the numbers, so this is checked first."""
    a, b = _UNIT_POWER.search(predicted.strip()), _UNIT_POWER.search(reference.strip())
    return bool(a and b) and a.group(1).lower() == b.group(1).lower() and (a.group(2) or "1") != (b.group(2) or "1")


def _one_adds_a_term(a: str, b: str) -> bool:
    """One answer is the other with a term, element or condition put in (``\\sin\\theta + 1``
    against ``\\sin\\theta``; ``\\{x | x=3k, k \\in \\mathbb{Z}\\}`` against ``\\{x | x=3k\\}``):
    different, unless what was put in is zero, which no answer writes."""
    short, long = sorted((a, b), key=len)
    if not short or short == long:
        return False
    prefix = len(os.path.commonprefix([short, long]))
    suffix = len(os.path.commonprefix([short[prefix:][::-1], long[prefix:][::-1]]))
    if prefix + suffix != len(short):
        return False
    inserted = long[prefix : len(long) - suffix]
    return inserted[:1] in ("+", "-", ",") and _balanced(inserted) and "=" not in inserted


def _balanced(text: str) -> bool:
    depth = 0
    for char in text:
        depth += char in "([{"
        depth -= char in ")]}"
        if depth < 0:
            return False
    return depth == 0


def _only_numbers_or_signs_differ(a: str, b: str) -> bool:
    """Two answers the fast path cannot read, written alike but for numbers or ``+``/``-`` signs
    (``40_4`` and ``40_9``, two matrices, a set-builder set, two series that differ in one
    sign): math-verify drops what it cannot parse and would call them equal, so they are
    different (and deciding here spares its slowest cases, seconds for a long one). A
    reference in prose (three words in a row) is the same: math-verify keeps one number of
    it; and a word answer (``\\text{even}``) is never an expression of it."""
    return a != b and _NUMBER_OR_SIGN.sub("#", a) == _NUMBER_OR_SIGN.sub("#", b)


def _decide(predicted: str, reference: str) -> Verdict:
    pred, pred_pct = normalize_answer(predicted)
    ref, ref_pct = normalize_answer(reference)
    short, long = sorted((len(compact(pred)), len(compact(ref))))
    if short == long and compact(pred) == compact(ref):
        return True
    if long > 4 * short + 100:  # 20,000 digits are not "5"
        return False
    if pred.lower() == ref.lower() and _WORDS.match(ref) and len(ref) > 1:  # "Yes" / "yes"
        return True
    if _DECIMAL_COMMA.match(pred) and (_PLAIN_NUMBER.match(ref) or _one_number(ref)):  # "2,5" for 2.5, "0,75" for 3/4
        pred = pred.replace(",", ".")
    elif _DECIMAL_COMMA.match(ref) and _PLAIN_NUMBER.match(pred):
        ref = ref.replace(",", ".")
    if "\\approx" in pred and "\\approx" not in ref:
        return _approximate(pred, ref, pred_pct, ref_pct)
    pred, ref = _drop_names(pred, ref)
    return _same_structure(split_structure(pred), split_structure(ref), pred_pct, ref_pct)


def _approximate(pred: str, ref: str, pred_pct: bool, ref_pct: bool) -> Verdict:
    """``A \\approx B``: A is the answer; B counts when the reference is a decimal too."""
    exact, _, rounded = pred.partition("\\approx")
    verdict = decide(exact, ref) if exact.strip() else False
    if verdict is not True and _PLAIN_NUMBER.match(ref.strip()) and decide(rounded, ref):
        return True
    return verdict


def _one_number(text: str) -> bool:
    """A reference that is one number, however written (``\\frac34``), not a list."""
    tree = parse_latex(text) if "," not in text and "=" not in text else None
    return tree is not None and not variables(tree)


def _drop_names(pred: str, ref: str) -> tuple[str, str]:
    """Drop the name a side gives its answer under, when the other side is no equation or names
    the same thing: ``(a,b) = (5,1)`` against ``(5,1)``; ``x = 2`` against ``x = 3``."""
    if top_level_count(pred, "=") < 2 or top_level_count(ref, "=") < 2:  # two chains: compared side by side
        pred, ref = chain_ends(pred), chain_ends(ref)
    (pred_name, pred_rest), (ref_name, ref_rest) = _named(pred), _named(ref)
    same = pred_name is not None and ref_name is not None and compact(pred_name) == compact(ref_name)
    if pred_name is not None and (same or "=" not in ref):
        pred = pred_rest
    if ref_name is not None and (same or "=" not in pred):
        ref = ref_rest
    return pred.strip(), ref.strip()


def _named(text: str) -> tuple[str | None, str]:
    """(name, answer) of ``(a,b) = (5,1)`` or ``x \\in [1,2]``; (None, text) when no name is given."""
    if top_level_count(text, "=") == 1:
        match = _NAME_PREFIX.match(text)
        if match:
            return text[: match.end() - 1].strip(), text[match.end() :]
    match = _IN_PREFIX.match(text)
    if match:
        return text[: match.end() - 3].strip(), text[match.end() :]
    return None, text


def chain_ends(text: str) -> str:
    """``y = 4+4 = 8`` -> ``y = 8``; ``4+4 = 8`` -> ``8`` (only with two or more "=" at the top level)."""
    if top_level_count(text, "=") < 2 or _RELATION_OP.search(text) or top_level_count(text, ",") > 0:
        return text
    if _CONNECTIVE.search(text) or top_level_count(text, ";") > 0:  # "y = ... if a = b", "y = 1; y = 2": no chain
        return text
    sides = split_top(text, "=")
    first = sides[0] + "=" if _NAME_PREFIX.match(sides[0] + "=") else ""
    return first + sides[-1]


def top_level_count(text: str, separator: str) -> int:
    return len(split_top(text, separator)) - 1


def split_top(text: str, separator: str = ",") -> list[str]:
    """Split at separators outside brackets: ``(1,2),3`` -> ``["(1,2)", "3"]``."""
    parts, depth, start, i = [], 0, 0, 0
    while i < len(text):
        char = text[i]
        if char == "\\" and text[i + 1 : i + 2] in ("{", "}"):
            depth += 1 if text[i + 1] == "{" else -1
            i += 2
            continue
        if char in _OPEN:
            depth += 1
        elif char in _CLOSE:
            depth -= 1
        elif depth == 0 and text.startswith(separator, i) and not (separator[-1].isalpha() and text[i + len(separator) : i + len(separator) + 1].isalpha()):
            parts.append(text[start:i])
            start = i + len(separator)
            i = start
            continue
        i += 1
    parts.append(text[start:])
    return [p.strip() for p in parts]


def _encloses(text: str) -> bool:
    """Does the bracket at ``text[0]`` close at ``text[-1]`` (any of ( [ and ) ])?"""
    depth = 0
    for i, char in enumerate(text):
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
            if depth == 0:
                return i == len(text) - 1
    return False


def split_structure(text: str) -> tuple:
    """``("union", parts)``, ``("set", items)``, ``("seq", open, close, items)``, ``("atom", text)``."""
    text = text.strip()
    unions = split_top(text, "\\cup")
    if len(unions) > 1:
        return ("union", [split_structure(u) for u in unions])
    if text.startswith("\\{") and text.endswith("\\}") and "\\mid" not in text and "|" not in text and ":" not in text:
        inner = text[2:-2].strip()
        return ("set", [split_structure(p) for p in split_top(inner)] if inner else [])
    if len(text) >= 2 and text[0] in "([" and text[-1] in ")]" and _encloses(text):
        items = split_top(text[1:-1])
        if len(items) > 1:
            return ("seq", text[0], text[-1], [split_structure(p) for p in items])
    if text.startswith("\\begin{pmatrix}") or text.startswith("\\begin{bmatrix}"):
        body = re.sub(r"\\(?:begin|end)\{[pb]matrix\}", "", text)
        rows = [r for r in (row.strip() for row in body.split("\\\\")) if r]
        return ("seq", "matrix", "", [("seq", "row", "", [("atom", c.strip()) for c in row.split("&")]) for row in rows])
    items = split_top(text)
    if len(items) > 1:  # a list; an item "\pm 1" is two of its elements
        parts = [(split_structure(p), _plus_minus(p) is not None) for p in items]
        return ("set", [e for part, pm in parts for e in (part[1] if pm and part[0] == "set" else [part])])
    plus_minus = _plus_minus(text)
    if plus_minus is not None:
        return ("set", [("atom", p) for p in plus_minus])
    return ("atom", text)


def _plus_minus(text: str) -> list[str] | None:
    """``1 \\pm \\sqrt{5}`` -> ``["1 + \\sqrt{5}", "1 - \\sqrt{5}"]`` (one top-level ``\\pm`` only)."""
    if "\\pm" not in text and "±" not in text:
        return None
    text = text.replace("±", "\\pm")
    parts = split_top(text, "\\pm")
    if len(parts) != 2 or "=" in text or _RELATION_OP.search(text):
        return None
    left, right = parts
    return [f"{left}+{right}" if left else right, f"{left}-({right})" if left else f"-({right})"]


def _all(verdicts: Iterable[Verdict]) -> Verdict:
    """True if all are True, False if any is False, else None."""
    result: Verdict = True
    for verdict in verdicts:
        if verdict is False:
            return False
        if verdict is None:
            result = None
    return result


def _same_structure(a: tuple, b: tuple, a_pct: bool, b_pct: bool) -> Verdict:
    if a[0] == "atom" and b[0] == "atom":
        return atoms_equivalent(a[1], b[1], a_pct, b_pct)
    interval = _relation_versus_interval(a, b)
    if interval is not None:
        return interval
    if a[0] != b[0]:
        return _different_kinds(a, b)
    if a[0] == "seq":
        if a[1:3] != b[1:3] or len(a[3]) != len(b[3]):
            return False
        return _all(_same_structure(x, y, a_pct, b_pct) for x, y in zip(a[3], b[3]))
    if len(a[1]) != len(b[1]):  # set or union: unordered, each element matched once
        return False
    return _match_unordered(a[1], b[1], a_pct, b_pct)


def _match_unordered(a_items: list, b_items: list, a_pct: bool, b_pct: bool) -> Verdict:
    remaining = list(b_items)
    unsure = False
    for item in a_items:
        verdicts = [_same_structure(item, other, a_pct, b_pct) for other in remaining]
        if True in verdicts:
            del remaining[verdicts.index(True)]
        elif None in verdicts:
            unsure = True
        else:
            return False
    return None if unsure else True


def _different_kinds(a: tuple, b: tuple) -> Verdict:
    """A plain number or expression is never a collection; anything else is for math-verify."""
    for one, other in ((a, b), (b, a)):
        if one[0] == "atom" and other[0] in ("set", "seq") and _is_plain(one[1]):
            return False
    return None


def _is_plain(text: str) -> bool:
    return "=" not in text and not _RELATION_OP.search(text) and parse_latex(text) is not None


def _relation_versus_interval(pred: tuple, ref: tuple) -> Verdict:
    """``(2,5)`` for the reference ``2 < x < 5``, and ``x > 2`` for ``(2, \\infty)``; None: not this case."""
    ref_intervals = _as_intervals(ref)
    pred_intervals = _as_intervals(pred)
    if ref_intervals is None or pred_intervals is None:
        return None
    ref_is_relation, pred_is_relation = _is_relation(ref), _is_relation(pred)
    if ref_is_relation == pred_is_relation:
        return None  # two relations or two intervals: compared as they are
    if pred_is_relation and not any(_unambiguous(iv) for iv in ref_intervals):
        return None  # (2, 5) may be a point: not read as an interval
    if len(ref_intervals) != len(pred_intervals):
        return False
    return _match_unordered(pred_intervals, ref_intervals, False, False)


def _is_relation(structure: tuple) -> bool:
    if structure[0] == "atom":
        return bool(_RELATION_OP.search(structure[1]))
    if structure[0] in ("set", "union"):
        return all(_is_relation(s) for s in structure[1])
    return False


def _unambiguous(interval: tuple) -> bool:
    return interval[1] == "[" or interval[2] == "]" or any(_INFINITY.search(e[1]) for e in interval[3])


def _as_intervals(structure: tuple) -> list[tuple] | None:
    """The intervals a structure denotes (an interval, a union, a relation in one variable), or None."""
    if structure[0] == "seq" and structure[1] in "([" and len(structure[3]) == 2 and all(e[0] == "atom" for e in structure[3]):
        return [structure]
    if structure[0] in ("union", "set"):
        parts = [_as_intervals(s) for s in structure[1]]
        if any(p is None for p in parts):
            return None
        return [iv for p in parts for iv in p]  # type: ignore[union-attr]
    if structure[0] == "atom":
        interval = _relation_interval(structure[1])
        return [interval] if interval is not None else None
    return None


def _relation_interval(text: str) -> tuple | None:
    """``2 < x \\le 5`` -> ``("seq", "(", "]", [2, 5])``; ``x \\geq 5`` -> ``[5, \\infty)``; None if not one variable."""
    chain = relation_chain(text)
    if chain is None:
        return None
    sides, ops = chain
    if any(op in ("≠", "=") for op in ops):
        return None
    if all(op in (">", "≥") for op in ops):
        sides, ops = sides[::-1], [_FLIP[op] for op in reversed(ops)]
    if not all(op in ("<", "≤") for op in ops):
        return None
    if len(sides) == 3 and parse_latex(sides[1]) is not None and variables(parse_latex(sides[1]) or ("num", "0")):
        low, high = sides[0], sides[2]
        return ("seq", "(" if ops[0] == "<" else "[", ")" if ops[1] == "<" else "]", [("atom", low), ("atom", high)])
    if len(sides) == 2:
        left, right = (parse_latex(s) for s in sides)
        if left is None or right is None:
            return None
        if variables(left) and not variables(right):  # x < 5
            return ("seq", "(", ")" if ops[0] == "<" else "]", [("atom", "-\\infty"), ("atom", sides[1])])
        if variables(right) and not variables(left):  # 5 < x
            return ("seq", "(" if ops[0] == "<" else "[", ")", [("atom", sides[0]), ("atom", "\\infty")])
    return None


def relation_chain(text: str) -> tuple[list[str], list[str]] | None:
    """``a < b \\le c`` -> (["a", "b", "c"], ["<", "≤"]); None when ``text`` holds no relation."""
    ops = [_CANONICAL_OP.get(m.group(0), m.group(0)) for m in _RELATION_OP.finditer(text)]
    if not ops:
        return None
    sides = [s.strip() for s in _RELATION_OP.split(text)]
    if any(not s for s in sides) or len(sides) != len(ops) + 1:
        return None
    return sides, ops


def _relations_equivalent(a: str, b: str, a_pct: bool, b_pct: bool) -> Verdict:
    """``7 \\leq y`` and ``y \\geq 7``: the same chain of relations read in either direction."""
    chain_a, chain_b = relation_chain(a), relation_chain(b)
    if chain_a is None or chain_b is None:
        return None
    (sides_a, ops_a), (sides_b, ops_b) = chain_a, chain_b
    if len(ops_a) != len(ops_b):
        return False
    readings = [(sides_b, ops_b), (sides_b[::-1], [_FLIP[op] for op in reversed(ops_b)])]
    verdicts = []
    for sides, ops in readings:
        if ops != ops_a:
            continue
        verdicts.append(_all(atoms_equivalent(x, y, a_pct, b_pct) for x, y in zip(sides_a, sides)))
    if True in verdicts:
        return True
    return None if None in verdicts else False


def atoms_equivalent(a: str, b: str, a_pct: bool = False, b_pct: bool = False) -> Verdict:
    if compact(a) == compact(b):
        return True
    if _RELATION_OP.search(a) or _RELATION_OP.search(b):
        if _RELATION_OP.search(a) and _RELATION_OP.search(b):
            return _relations_equivalent(a, b, a_pct, b_pct)
        return False if _is_plain(a) or _is_plain(b) else None  # a relation is not a number
    if "=" in a and "=" in b:  # two equations: "w_6 = 1" is not "w_0 = 1"
        return _equations_equivalent(a, b)
    a, b = _drop_names(a, b)
    if compact(a) == compact(b):
        return True
    if "=" in a or "=" in b:
        return None
    ta, tb = parse_latex(a), parse_latex(b)
    if ta is None or tb is None:
        if _WORDS.match(a) and _WORDS.match(b):  # two different words or phrases
            return compact(a).lower() == compact(b).lower()
        return None
    return trees_equivalent(ta, tb, a_pct, b_pct)


def _equations_equivalent(a: str, b: str) -> Verdict:
    """Same equation up to moving terms across and multiplying by -1; None if not parsable.
    Two chains of as many sides (``t = \\frac{\\ln 2}{0.1} = 10 \\ln 2``) are compared side by side."""
    sides_a, sides_b = split_top(a, "="), split_top(b, "=")
    if len(sides_a) > 2 and len(sides_a) == len(sides_b):
        verdicts = [atoms_equivalent(x, y) for x, y in zip(sides_a, sides_b)]
        return False if False in verdicts else None if None in verdicts else True
    a, b = chain_ends(a), chain_ends(b)
    if a.count("=") != 1 or b.count("=") != 1:
        return None
    (al, ar), (bl, br) = a.split("="), b.split("=")
    trees = [parse_latex(s) for s in (al, ar, bl, br)]
    if any(t is None for t in trees):
        return None
    tal, tar, tbl, tbr = trees
    if trees_equivalent(tal, tbl) is True:  # the same left side: the right sides decide (+C is not -C)
        return trees_equivalent(tar, tbr)
    diff_a = ("add", tal, ("neg", tar))
    diff_b = ("add", tbl, ("neg", tbr))
    same = trees_equivalent(diff_a, diff_b)
    if same is True:
        return True
    opposite = trees_equivalent(diff_a, ("neg", diff_b))
    if opposite is True:
        return True
    return None if None in (same, opposite) else False


def trees_equivalent(ta: Tree, tb: Tree, a_pct: bool = False, b_pct: bool = False) -> Verdict:
    names = sorted(variables(ta) | variables(tb))
    tolerance = DECIMAL_TOLERANCE if has_decimal(ta) or has_decimal(tb) or a_pct or b_pct else EXACT_TOLERANCE
    if not names:
        if is_integer_literal(ta) and is_integer_literal(tb) and not (a_pct or b_pct):
            return _integer(ta) == _integer(tb)
        if not (a_pct or b_pct) and tolerance == EXACT_TOLERANCE:
            exact_a, exact_b = exact_value(ta), exact_value(tb)
            if exact_a is not None and exact_b is not None:
                return exact_a == exact_b
        va, vb = _value(ta), _value(tb)
        if va is None or vb is None:
            too_large = (va is None and _too_large(ta), vb is None and _too_large(tb))
            if any(too_large) and not all(too_large):  # 10^{10^{10}} is no number a float holds
                return False if (va if vb is None else vb) is not None else None
            return None
        if va != va or vb != vb:  # nan
            return None
        if not (_finite(va) and _finite(vb)):
            return va == vb
        places = _decimal_places(ta), _decimal_places(tb)
        if None not in places and not (a_pct or b_pct):
            rounds = abs(va - vb) < 0.5 * 10 ** -min(places) * (1 - 1e-9)  # 3.14 is 3.14159 rounded (0.1 is not 0.05)
            # to the same place they must agree (1.475773165 is not 1.475773162); else one may be rounded
            return rounds if places[0] == places[1] else rounds or _close(va, vb, tolerance)
        candidates_a = (va, va / 100) if a_pct else (va,)
        candidates_b = (vb, vb / 100) if b_pct else (vb,)
        return any(_close(x, y, tolerance) for x in candidates_a for y in candidates_b)
    agreed = 0
    for point in range(_POINTS):
        env = {name: _test_value(name, point) for name in names}
        try:
            va, vb = evaluate(ta, env), evaluate(tb, env)
        except (ArithmeticError, ValueError, KeyError):
            continue
        if not (_finite(va) and _finite(vb)):
            continue
        if abs(va) < _VANISHING and abs(vb) < _VANISHING:  # both vanish here (e^{-40t}): this point tells nothing
            continue
        if not _close(va, vb, max(tolerance, 1e-7)):
            return False
        agreed += 1
    return True if agreed >= 2 else None


def _decimal_places(tree: Tree) -> int | None:
    """Digits after the point of a decimal literal (``-1.250`` -> 3); None for anything else."""
    while tree[0] == "neg":
        tree = tree[1]
    if tree[0] != "num" or "." not in tree[1]:
        return None
    return len(tree[1].split(".", 1)[1]) or None


def _value(tree: Tree) -> complex | None:
    try:
        return evaluate(tree, {})
    except (ArithmeticError, ValueError, KeyError):
        return None


def _too_large(tree: Tree) -> bool:
    try:
        evaluate(tree, {})
    except TooLarge:
        return True
    except (ArithmeticError, ValueError, KeyError):
        return False
    return False


def _integer(tree: Tree) -> int:
    sign = 1
    while tree[0] == "neg":
        sign, tree = -sign, tree[1]
    return sign * int(tree[1])


def _finite(z: complex) -> bool:
    return z == z and abs(z) != float("inf")


def _close(x: complex, y: complex, tolerance: float) -> bool:
    if x == y:  # also equal infinities
        return True
    if not (_finite(x) and _finite(y)):
        return False
    return abs(x - y) <= tolerance * max(abs(x), abs(y)) or abs(x - y) < 1e-12


@functools.lru_cache(maxsize=4096)
def _test_value(name: str, point: int) -> float:
    """A fixed value in [0.31, 1.71) for variable ``name`` at test point ``point``."""
    digest = hashlib.blake2b(f"{name}:{point}".encode(), digest_size=4).digest()
    return 0.31 + 1.4 * int.from_bytes(digest, "big") / 2**32
