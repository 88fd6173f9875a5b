"""Check a JSON/YAML value against a type annotation, for configs and records alike.

Only the annotation shapes we use are supported: ``str``, ``int``, ``float``, ``bool``,
``X | None``, ``list[X]``, ``tuple[X, ...]``, ``dict[str, X]``, ``Literal[...]`` and
nested dataclasses (given as dicts). An ``int`` is accepted where a ``float`` is
expected, and so is a numeric string (YAML 1.1 reads ``3e-3`` as text); a ``bool`` is
never accepted as a number.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import types
import typing
from typing import Any, Literal, Union, get_args, get_origin

from mathscale.keys import out_of_range


_FLOAT = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


class TypeMismatch(ValueError):
    """``path`` is the dotted field name; ``str(exc)`` explains what was expected."""

    def __init__(self, path: str, message: str):
        super().__init__(message)
        self.path = path


def type_name(tp: Any) -> str:
    if isinstance(tp, type):
        return tp.__name__
    return str(tp).replace("typing.", "")


def check(value: Any, tp: Any, path: str) -> Any:
    """Return ``value`` converted to ``tp`` (dicts to dataclasses, lists to tuples), or raise."""
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        options = get_args(tp)
        if value is None and type(None) in options:
            return None
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return check(value, option, path)
            except TypeMismatch as exc:
                errors.append(str(exc))
        raise TypeMismatch(path, f"expected {type_name(tp)}, got {_show(value)}")
    if origin is Literal:
        if value in get_args(tp):
            return value
        choices = ", ".join(repr(c) for c in get_args(tp))
        raise TypeMismatch(path, f"expected one of {choices}, got {_show(value)}")
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise TypeMismatch(path, f"expected a list, got {_show(value)}")
        (item_tp, *_rest) = get_args(tp) or (Any,)
        items = [check(v, item_tp, f"{path}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, dict):
            raise TypeMismatch(path, f"expected a mapping, got {_show(value)}")
        key_tp, val_tp = get_args(tp) or (Any, Any)
        return {check(k, key_tp, path): check(v, val_tp, f"{path}.{k}") for k, v in value.items()}
    if dataclasses.is_dataclass(tp):
        if isinstance(value, tp):
            return value
        if not isinstance(value, dict):
            raise TypeMismatch(path, f"expected a mapping, got {_show(value)}")
        return build_dataclass(tp, value, path)
    if tp is Any:
        return value
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str) and _FLOAT.match(value.strip()):  # YAML 1.1 reads 3e-3 as text
            return float(value)
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif isinstance(tp, type) and isinstance(value, tp):
        return value
    raise TypeMismatch(path, f"expected {type_name(tp)}, got {_show(value)}")


@functools.lru_cache(maxsize=None)
def _shape(cls: type) -> tuple[dict[str, Any], dict[str, dataclasses.Field]]:
    """Type hints and init fields of a dataclass, resolved once (resolving costs ~1 ms a call)."""
    return typing.get_type_hints(cls), {f.name: f for f in dataclasses.fields(cls) if f.init}


def build_dataclass(cls: type, data: dict[str, Any], path: str = "") -> Any:
    """Instantiate dataclass ``cls`` from ``data``; unknown keys and wrong types raise."""
    hints, fields = _shape(cls)
    kwargs = {}
    for key, value in data.items():
        where = f"{path}.{key}" if path else str(key)
        if key not in fields:
            known = ", ".join(sorted(fields))
            raise TypeMismatch(where, f"unknown key (known keys: {known})")
        kwargs[key] = check(value, hints[key], where)
        if (problem := out_of_range(fields[key], kwargs[key])) is not None:
            raise TypeMismatch(where, problem)
    missing = [
        name
        for name, f in fields.items()
        if name not in kwargs
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        where = f"{path}.{missing[0]}" if path else missing[0]
        raise TypeMismatch(where, "required field is missing")
    return cls(**kwargs)


def _show(value: Any) -> str:
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(value).__name__} {text}"
