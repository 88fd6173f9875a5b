"""Which config fields can change a result: declared once, next to each field.

A run skips a stage when its key (a hash of what can change the stage's output) is
unchanged. Every field of a config dataclass says whether it belongs in that key:

    concurrency: int = not_in_key(16)  # requests in flight at once
    temperature: float = in_key(0.7)

``in_key``: the field can change what a stage writes (a model name, a seed, a filter, a
learning rate). ``not_in_key``: it cannot (logging, progress bars, concurrency, timeouts,
retries, endpoint URLs, caches, loader workers), so changing it never reruns a stage.
A nested config that is ``in_key`` contributes its own ``in_key`` fields; one that is
``not_in_key`` contributes nothing. ``tests/test_keys.py`` fails on a field with neither.
"""

from __future__ import annotations

import dataclasses
from typing import Any

_KEY = "key"


def in_key(default: Any = dataclasses.MISSING, *, factory: Any = dataclasses.MISSING, help: str = "",
           passes_as: str = "", **bounds: float) -> Any:  # fmt: skip
    """A field whose value can change a stage's output.

    ``help`` is the setting's one description: ``--help`` of its flag and the comment
    ``--print-config`` writes beside it read it from here. ``bounds`` (``ge``, ``gt``, ``le``,
    ``lt``) give a number's allowed range, checked when a config is loaded:
    ``concurrency: int = not_in_key(16, ge=1)``. ``passes_as`` names the library argument the
    value goes to unchanged (a ``TrainingArguments`` field for the training config).
    """
    return _field(True, default, factory, help, passes_as, bounds)


def not_in_key(default: Any = dataclasses.MISSING, *, factory: Any = dataclasses.MISSING, help: str = "",
               passes_as: str = "", **bounds: float) -> Any:  # fmt: skip
    """A field that cannot change a stage's output (how, how fast or how loudly it runs);
    the other arguments as for :func:`in_key`."""
    return _field(False, default, factory, help, passes_as, bounds)


_HELP, _PASSES_AS = "help", "passes_as"


def _field(key: bool, default: Any, factory: Any, help: str, passes_as: str, bounds: dict[str, float]) -> Any:
    metadata = {_KEY: key, **_range(bounds), **({_HELP: help} if help else {}),
                **({_PASSES_AS: passes_as} if passes_as else {})}  # fmt: skip
    return dataclasses.field(default=default, default_factory=factory, metadata=metadata)


def help_of(f: dataclasses.Field) -> str:
    """The field's description ("" when it has none)."""
    return f.metadata.get(_HELP, "")


def passed_as(f: dataclasses.Field) -> str:
    """The library argument the field's value is passed to as it is ("" when none)."""
    return f.metadata.get(_PASSES_AS, "")


_RANGE = "range"
_OPS = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}


def _range(bounds: dict[str, float]) -> dict[str, Any]:
    unknown = set(bounds) - set(_OPS)
    if unknown:
        raise TypeError(f"unknown bounds {sorted(unknown)}; known: {sorted(_OPS)}")
    return {_RANGE: dict(bounds)} if bounds else {}


def out_of_range(f: dataclasses.Field, value: Any) -> str | None:
    """None when ``value`` is within field ``f``'s declared range, else what is allowed:
    "expected a number >= 1, got 0"."""
    bounds = f.metadata.get(_RANGE)
    if not bounds or not isinstance(value, (int, float)) or isinstance(value, bool):
        return None
    ok = {"ge": value >= bounds.get("ge", value), "gt": "gt" not in bounds or value > bounds["gt"],
          "le": value <= bounds.get("le", value), "lt": "lt" not in bounds or value < bounds["lt"]}  # fmt: skip
    if all(ok.values()):
        return None
    allowed = " and ".join(f"{_OPS[op]} {bound:g}" for op, bound in bounds.items())
    return f"expected a number {allowed}, got {value:g}"


def decision(f: dataclasses.Field) -> bool | None:
    """True (in the key), False (not) or None (undecided: a bug the tests catch)."""
    return f.metadata.get(_KEY)


def key_view(cfg: Any, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """The part of ``cfg`` that can change a result, as plain data (``skip``: top-level names).

    An undecided field counts as part of the key: a missing decision reruns too much,
    never too little.
    """
    view: dict[str, Any] = {}
    for f in dataclasses.fields(cfg):
        if f.name in skip or decision(f) is False:
            continue
        value = getattr(cfg, f.name)
        view[f.name] = key_view(value) if dataclasses.is_dataclass(value) else plain_data(value)
    return view


def plain_data(value: Any) -> Any:
    """``value`` as plain data (YAML, JSON): a dataclass as its dict, inside dicts and lists too."""
    if dataclasses.is_dataclass(value):
        return dataclasses.asdict(value)
    if isinstance(value, dict):
        return {k: plain_data(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_data(v) for v in value]
    return value


def undecided_fields(cls: type, prefix: str = "", seen: set[type] | None = None) -> list[str]:
    """Dotted names of fields of ``cls`` and of the configs nested in it with no decision."""
    import typing

    seen = seen if seen is not None else set()
    if cls in seen:
        return []
    seen.add(cls)
    hints = typing.get_type_hints(cls)
    missing: list[str] = []
    for f in dataclasses.fields(cls):
        if decision(f) is None:
            missing.append(f"{prefix}{cls.__name__}.{f.name}")
        for nested in _dataclasses_in(hints.get(f.name)):
            missing += undecided_fields(nested, prefix, seen)
    return missing


def _dataclasses_in(tp: Any) -> list[type]:
    import typing

    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return [tp]
    return [c for arg in typing.get_args(tp) for c in _dataclasses_in(arg)]
