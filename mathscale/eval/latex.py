"""A small LaTeX math parser: answer strings -> expression trees we can evaluate.

Final answers are short (``\\frac{\\sqrt{3}}{2}``, ``2x^2+1``, ``\\pi r^2``), so a
recursive-descent parser over a few dozen LaTeX commands covers them, runs in tens of
microseconds and never executes anything. Trees are nested tuples:

    ("num", "2.5") ("var", "x_1") ("const", "pi"|"e"|"i"|"oo")
    ("add"|"mul", a, b) ("neg", a) ("div", a, b) ("pow", a, b)
    ("func", name, a) ("log", base, a) ("root", n, a) ("fact", a) ("abs", a) ("binom", n, k)

:func:`parse_latex` returns ``None`` for anything outside this grammar (words, relations,
matrices): the caller then leaves the answer to math-verify. :func:`evaluate` computes a
tree with complex floats.

>>> parse_latex(r"\\frac12 x")
('mul', ('div', ('num', '1'), ('num', '2')), ('var', 'x'))
"""

from __future__ import annotations

import cmath
import math
import re
from fractions import Fraction

Tree = tuple

_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+\.?\d*|\.\d+)|(?P<cmd>\\[a-zA-Z]+|\\[{}|,;:! ])|(?P<word>[a-zA-Z]+)|(?P<op>.))"
)
FUNCTIONS = {
    "sin", "cos", "tan", "sec", "csc", "cot", "arcsin", "arccos", "arctan",
    "sinh", "cosh", "tanh", "ln", "log", "exp", "sqrt",
}  # fmt: skip
CONSTANTS = {"pi": "pi", "infty": "oo", "infinity": "oo", "e": "e"}
MUL_COMMANDS = {"cdot", "times", "ast"}
SPACING = {"\\,", "\\;", "\\:", "\\!", "\\ ", "\\quad", "\\qquad", "\\left", "\\right", "\\displaystyle"}
WRAPPERS = {"mathrm", "mathbf", "boldsymbol", "mathit", "operatorname", "text", "textbf", "textnormal", "textrm", "mbox"}
_ATOM_COMMANDS = FUNCTIONS | set(CONSTANTS) | WRAPPERS | {"frac", "dfrac", "tfrac", "cfrac", "sqrt", "binom", "dbinom", "tbinom", "lvert"}
_MAX_LEN = 400


class ParseFailure(ValueError):
    pass


class TooLarge(OverflowError):
    """The value's magnitude is beyond a float's (over 1e307): ``10^{10^{10}}``, ``200!``."""


def _is_letter(token: str) -> bool:
    """A one-letter ASCII variable (CJK characters are "alphabetic" too, but not variables)."""
    return len(token) == 1 and token.isascii() and token.isalpha()


def tokenize(text: str) -> list[str]:
    tokens: list[str] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:  # only trailing spaces
            break
        pos = match.end()
        kind = match.lastgroup
        token = match.group(kind)
        if kind == "word":
            tokens.extend(_split_word(token))
        elif token in SPACING:
            continue
        else:
            tokens.append(token)
    return tokens


def _split_word(word: str) -> list[str]:
    """``sin`` is a function; ``xy`` is x times y; ``cm`` or ``apples`` is not math."""
    if word in FUNCTIONS:
        return ["\\" + word]
    if len(word) <= 2:
        return list(word)
    for name in sorted(FUNCTIONS, key=len, reverse=True):  # "sinx" -> \sin x
        if word.startswith(name) and len(word) - len(name) <= 1:
            return ["\\" + name, *word[len(name):]]
    raise ParseFailure(f"word {word!r}")


class _Parser:
    def __init__(self, tokens: list[str]):
        self.tokens = tokens
        self.pos = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if token is None or (expected is not None and token != expected):
            raise ParseFailure(f"expected {expected!r} at {self.pos}, got {token!r}")
        self.pos += 1
        return token

    def expression(self) -> Tree:
        tree = self.term()
        while self.peek() in ("+", "-"):
            op = self.take()
            right = self.term()
            tree = ("add", tree, right if op == "+" else ("neg", right))
        return tree

    def term(self) -> Tree:
        tree = self.unary()
        while True:
            token = self.peek()
            if token in ("*", "/", "\\div") or (token and token[1:] in MUL_COMMANDS):
                self.take()
                right = self.unary()
                tree = ("div", tree, right) if token in ("/", "\\div") else ("mul", tree, right)
            elif self.starts_atom(token) and not (token[0].isdigit() or token[0] == "."):
                # implicit product: "2x", "x(y+1)", "\\pi r^2"; never "0. 98" (two numbers)
                tree = ("mul", tree, self.power())
            else:
                return tree

    def starts_atom(self, token: str | None) -> bool:
        if token is None:
            return False
        if token in ("(", "{", "["):
            return True
        if token[0].isdigit() or token[0] == "." or _is_letter(token):
            return True
        return token.startswith("\\") and token[1:] in _ATOM_COMMANDS

    def unary(self) -> Tree:
        token = self.peek()
        if token == "-":
            self.take()
            return ("neg", self.unary())
        if token == "+":
            self.take()
            return self.unary()
        return self.power()

    def power(self) -> Tree:
        base = self.postfix()
        if self.peek() == "^":
            self.take()
            exponent = self.argument(signed=True)
            return ("pow", base, exponent)
        return base

    def postfix(self) -> Tree:
        tree = self.atom()
        while self.peek() == "!":
            self.take()
            tree = ("fact", tree)
        return tree

    def argument(self, signed: bool = False) -> Tree:
        """A ``{group}`` or a single token, as after ``^`` or in ``\\frac12``."""
        token = self.peek()
        if token == "{":
            return self.group("{", "}")
        if signed and token == "-":
            self.take()
            return ("neg", self.argument())
        if token is not None and token[0].isdigit():
            self.take()
            if len(token) > 1 and "." not in token:  # \frac12 -> 1 / 2: one digit each
                self.tokens[self.pos - 1 : self.pos] = [token[0], token[1:]]
                return ("num", token[0])
            return ("num", token)
        return self.postfix()

    def group(self, opener: str, closer: str) -> Tree:
        self.take(opener)
        tree = self.expression()
        self.take(closer)
        return tree

    def atom(self) -> Tree:
        token = self.take()
        if token[0].isdigit() or token[0] == ".":
            return ("num", token)
        if token == "(":
            return self._close(self.expression(), ")")
        if token == "[":
            return self._close(self.expression(), "]")
        if token == "{":
            return self._close(self.expression(), "}")
        if token == "|" or token in ("\\lvert", "\\vert"):
            inner = self.expression()
            closer = self.take()
            if closer not in ("|", "\\rvert", "\\vert"):
                raise ParseFailure("unclosed |")
            return ("abs", inner)
        if _is_letter(token):
            return self._variable(token)
        if not token.startswith("\\"):
            raise ParseFailure(f"unexpected {token!r}")
        name = token[1:]
        if name in ("frac", "dfrac", "tfrac", "cfrac"):
            return ("div", self.argument(), self.argument())
        if name in ("binom", "dbinom", "tbinom"):
            return ("binom", self.argument(), self.argument())
        if name == "sqrt":
            index: Tree = ("num", "2")
            if self.peek() == "[":
                index = self.group("[", "]")
            return ("root", index, self.argument())
        if name in WRAPPERS:
            self.take("{")
            start = self.pos
            depth = 1
            while depth:
                t = self.take()
                depth += {"{": 1, "}": -1}.get(t, 0)
            inner = _Parser(self.tokens[start : self.pos - 1])
            tree = inner.expression()
            if inner.peek() is not None:
                raise ParseFailure("text")
            return tree
        if name in CONSTANTS:
            return ("const", CONSTANTS[name])
        if name in FUNCTIONS:
            return self._function(name)
        raise ParseFailure(f"command {token}")

    def _close(self, tree: Tree, closer: str) -> Tree:
        self.take(closer)
        return tree

    def _variable(self, letter: str) -> Tree:
        name = letter
        if self.peek() == "_":
            self.take()
            sub = self.take()
            if sub == "{":
                parts = []
                while self.peek() != "}":
                    parts.append(self.take())
                self.take("}")
                sub = "".join(parts)
            name = f"{letter}_{sub}"
        if name == "e":
            return ("const", "e")
        if name == "i":
            return ("const", "i")
        return ("var", name)

    def _function(self, name: str) -> Tree:
        base: Tree | None = None
        if name == "log" and self.peek() == "_":
            self.take()
            base = self.argument()
        exponent: Tree | None = None
        if self.peek() == "^":  # \sin^2 x
            self.take()
            exponent = self.argument(signed=True)
        if name == "sqrt":
            return ("root", ("num", "2"), self.argument())
        arg = self.group("(", ")") if self.peek() == "(" else self.group("{", "}") if self.peek() == "{" else self.power()
        tree: Tree = ("log", base, arg) if base is not None else ("func", name, arg)
        return ("pow", tree, exponent) if exponent is not None else tree


def parse_latex(text: str) -> Tree | None:
    """The expression tree of ``text``, or None when it is not a plain expression."""
    if len(text) > _MAX_LEN:
        return None
    try:
        parser = _Parser(tokenize(text))
        if parser.peek() is None:
            return None
        tree = parser.expression()
        if parser.peek() is not None:
            return None
        return tree
    except (ParseFailure, RecursionError):
        return None


def variables(tree: Tree) -> set[str]:
    if tree[0] == "var":
        return {tree[1]}
    found: set[str] = set()
    for child in tree[1:]:
        if isinstance(child, tuple):
            found |= variables(child)
    return found


def has_decimal(tree: Tree) -> bool:
    if tree[0] == "num":
        return "." in tree[1]
    return any(isinstance(c, tuple) and has_decimal(c) for c in tree[1:])


def is_integer_literal(tree: Tree) -> bool:
    while tree[0] == "neg":
        tree = tree[1]
    return tree[0] == "num" and "." not in tree[1]


_FUNCS = {
    "sin": cmath.sin, "cos": cmath.cos, "tan": cmath.tan,
    "sec": lambda z: 1 / cmath.cos(z), "csc": lambda z: 1 / cmath.sin(z), "cot": lambda z: 1 / cmath.tan(z),
    "arcsin": cmath.asin, "arccos": cmath.acos, "arctan": cmath.atan,
    "sinh": cmath.sinh, "cosh": cmath.cosh, "tanh": cmath.tanh,
    "ln": cmath.log, "log": cmath.log, "exp": cmath.exp, "sqrt": cmath.sqrt,
}  # fmt: skip
_CONST_VALUES = {"pi": math.pi, "e": math.e, "i": 1j, "oo": math.inf}


_EXACT_DIGITS = 400  # an exact value with more digits than this is not worth it (2^{10^6})


def exact_value(tree: Tree) -> Fraction | None:
    """The exact rational value of a tree of numbers, + - * / and integer powers; None when it
    has anything else (a variable, a function, a root) or is too large to hold exactly. Floats
    cannot tell ``1 + 5051/2^{100}`` from ``1 - 5051/2^{100}``; fractions can."""
    kind = tree[0]
    if kind == "num":
        return Fraction(tree[1])
    if kind == "neg":
        value = exact_value(tree[1])
        return None if value is None else -value
    if kind in ("add", "mul", "div"):
        a, b = exact_value(tree[1]), exact_value(tree[2])
        if a is None or b is None or (kind == "div" and b == 0):
            return None
        return a + b if kind == "add" else a * b if kind == "mul" else a / b
    if kind == "pow":
        base, exponent = exact_value(tree[1]), exact_value(tree[2])
        if base is None or exponent is None or exponent.denominator != 1 or (base == 0 and exponent < 0):
            return None
        size = max(len(str(base.numerator)), len(str(base.denominator)))
        if size * abs(exponent.numerator) > _EXACT_DIGITS:
            return None
        return base ** int(exponent)
    return None


def evaluate(tree: Tree, env: dict[str, complex]) -> complex:
    """Value of ``tree`` with complex floats; raises ArithmeticError/ValueError/KeyError on failure,
    :class:`TooLarge` when the value is beyond a float."""
    kind = tree[0]
    if kind == "num":
        return complex(float(tree[1]))
    if kind == "var":
        return env[tree[1]]
    if kind == "const":
        return complex(_CONST_VALUES[tree[1]])
    if kind == "add":
        return evaluate(tree[1], env) + evaluate(tree[2], env)
    if kind == "mul":
        return evaluate(tree[1], env) * evaluate(tree[2], env)
    if kind == "neg":
        return -evaluate(tree[1], env)
    if kind == "div":
        return evaluate(tree[1], env) / evaluate(tree[2], env)
    if kind == "pow":
        base, exponent = evaluate(tree[1], env), evaluate(tree[2], env)
        if abs(base) > 1 and exponent.real * math.log(abs(base)) > 709:
            raise TooLarge("power")
        if abs(exponent) > 1e4 and abs(base) > 1:
            raise OverflowError("huge power")
        return base**exponent
    if kind == "func":
        return _FUNCS[tree[1]](evaluate(tree[2], env))
    if kind == "log":
        return cmath.log(evaluate(tree[2], env)) / cmath.log(evaluate(tree[1], env))
    if kind == "root":
        index, value = evaluate(tree[1], env), evaluate(tree[2], env)
        if index == 3 and value.imag == 0:  # real cube root of a negative number
            return complex(math.copysign(abs(value.real) ** (1 / 3), value.real))
        return value ** (1 / index)
    if kind == "fact":
        value = evaluate(tree[1], env)
        if value.real > 170:
            raise TooLarge("factorial")
        if value.imag:
            raise ValueError("factorial of a complex number")
        return complex(math.gamma(value.real + 1))
    if kind == "abs":
        return complex(abs(evaluate(tree[1], env)))
    if kind == "binom":
        n, k = evaluate(tree[1], env).real, evaluate(tree[2], env).real
        if n > 170:
            raise OverflowError("binomial")
        return complex(math.gamma(n + 1) / (math.gamma(k + 1) * math.gamma(n - k + 1)))
    raise ValueError(kind)
