"""Is a predicted final answer equivalent to the reference? (the ``mathscale`` grader)

In order, cheapest first:

1. equal strings after :func:`~mathscale.eval.normalize.normalize_answer`;
2. structure: ``\\{1,2\\}`` and ``1, 2`` are unordered collections, ``(1,2]`` and ``(3,4)``
   ordered ones whose brackets must match, ``A \\cup B`` a union: compared element-wise;
3. a ``x =`` / ``f(x) =`` prefix is dropped; equations are compared side by side;
4. numbers: exact for integers, relative tolerance 1e-4 when a decimal is involved (rounding),
   "50%" as 50 or 0.5;
5. expressions: evaluated at fixed pseudo-random points (``x^2+1`` equals ``1+x^2`` and
   ``2x+1`` does not equal ``x+1``); when evaluation fails at those points, the caller's
   ``symbolic`` check (sympy, run in a worker under a time limit) decides.

>>> equivalent(r"\\{2, 1\\}", r"\\{1,2\\}")
True
>>> equivalent("[-2,3)", "[-2,3]")
False
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable

from mathscale.eval.latex import Tree, evaluate, has_decimal, is_integer_literal, parse_latex, variables
from mathscale.eval.normalize import compact, normalize_answer

SymbolicCheck = Callable[[Tree, Tree], bool]

DECIMAL_TOLERANCE = 1e-4  # a decimal answer may be rounded
EXACT_TOLERANCE = 1e-9  # float noise when both sides are exact
_POINTS = 3
_OPEN = {"(": ")", "[": "]", "{": "}"}
_CLOSE = {")", "]", "}"}
_RELATION = re.compile(r"\\(?:le|ge|leq|geq|ne|neq|lt|gt)(?![a-zA-Z])|[<>]")
_NAME_PREFIX = re.compile(r"^\s*(?:[a-zA-Z](?:_\{?\w+\}?)?(?:\([a-zA-Z,\s]*\))?|\\[a-zA-Z]+)\s*=(?!=)")


def equivalent(predicted: str, reference: str, symbolic: SymbolicCheck | None = None) -> bool:
    """True when ``predicted`` and ``reference`` denote the same answer."""
    pred, pred_pct = normalize_answer(predicted)
    ref, ref_pct = normalize_answer(reference)
    if compact(pred) == compact(ref):
        return True
    if pred.lower() == ref.lower() and re.fullmatch(r"[a-zA-Z ]{2,}", ref):  # "Yes" / "yes"
        return True
    return _same_structure(split_structure(pred), split_structure(ref), pred_pct, ref_pct, symbolic)


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
        elif depth == 0 and text.startswith(separator, i):
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
    if text.startswith("\\{") and text.endswith("\\}") and "\\mid" not in text and "|" not in text:
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
    if len(items) > 1:
        return ("set", [split_structure(p) for p in items])
    return ("atom", text)


def _same_structure(a: tuple, b: tuple, a_pct: bool, b_pct: bool, symbolic: SymbolicCheck | None) -> bool:
    if a[0] == "atom" and b[0] == "atom":
        return atoms_equivalent(a[1], b[1], a_pct, b_pct, symbolic)
    if a[0] != b[0]:
        return False
    if a[0] == "seq":
        if a[1:3] != b[1:3] or len(a[3]) != len(b[3]):
            return False
        return all(_same_structure(x, y, a_pct, b_pct, symbolic) for x, y in zip(a[3], b[3]))
    remaining = list(b[1])  # set or union: unordered, each element matched once
    if len(a[1]) != len(remaining):
        return False
    for item in a[1]:
        for j, other in enumerate(remaining):
            if _same_structure(item, other, a_pct, b_pct, symbolic):
                del remaining[j]
                break
        else:
            return False
    return True


def drop_name_prefix(text: str) -> str:
    """``x = 5`` -> ``5``; ``f(x) = 2x`` -> ``2x``; one ``=`` only."""
    if text.count("=") != 1:
        return text
    return _NAME_PREFIX.sub("", text, count=1).strip()


def atoms_equivalent(a: str, b: str, a_pct: bool = False, b_pct: bool = False, symbolic: SymbolicCheck | None = None) -> bool:
    if compact(a) == compact(b):
        return True
    if _RELATION.search(a) or _RELATION.search(b):
        return compact(_unify_relations(a)) == compact(_unify_relations(b))
    if "=" in a and "=" in b:  # two equations: "w_6 = 1" is not "w_0 = 1"
        verdict = _equations_equivalent(a, b, symbolic)
        if verdict is not None:
            return verdict
    a, b = drop_name_prefix(a), drop_name_prefix(b)
    if compact(a) == compact(b):
        return True
    if "=" in a or "=" in b:
        return False
    ta, tb = parse_latex(a), parse_latex(b)
    if ta is None or tb is None:
        return compact(a).lower() == compact(b).lower()
    return trees_equivalent(ta, tb, a_pct, b_pct, symbolic)


def _unify_relations(text: str) -> str:
    text = re.sub(r"\\leq?(?![a-zA-Z])|\\leqslant", "≤", text)
    text = re.sub(r"\\geq?(?![a-zA-Z])|\\geqslant", "≥", text)
    return re.sub(r"\\neq?(?![a-zA-Z])", "≠", text)


def _equations_equivalent(a: str, b: str, symbolic: SymbolicCheck | None) -> bool | None:
    """Same equation up to moving terms across and multiplying by -1; None if not parsable."""
    if a.count("=") != 1 or b.count("=") != 1:
        return None
    (al, ar), (bl, br) = a.split("="), b.split("=")
    trees = [parse_latex(s) for s in (al, ar, bl, br)]
    if any(t is None for t in trees):
        return None
    tal, tar, tbl, tbr = trees
    diff_a = ("add", tal, ("neg", tar))
    diff_b = ("add", tbl, ("neg", tbr))
    return trees_equivalent(diff_a, diff_b, symbolic=symbolic) or trees_equivalent(diff_a, ("neg", diff_b), symbolic=symbolic)


def trees_equivalent(ta: Tree, tb: Tree, a_pct: bool = False, b_pct: bool = False, symbolic: SymbolicCheck | None = None) -> bool:
    names = sorted(variables(ta) | variables(tb))
    tolerance = DECIMAL_TOLERANCE if has_decimal(ta) or has_decimal(tb) or a_pct or b_pct else EXACT_TOLERANCE
    if not names:
        if is_integer_literal(ta) and is_integer_literal(tb) and not (a_pct or b_pct):
            return _integer(ta) == _integer(tb)
        try:
            va, vb = evaluate(ta, {}), evaluate(tb, {})
        except (ArithmeticError, ValueError, KeyError):
            return symbolic(ta, tb) if symbolic else False
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
        if not _close(va, vb, max(tolerance, 1e-7)):
            return False
        agreed += 1
    if agreed >= 2:
        return True
    return symbolic(ta, tb) if symbolic else False


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
