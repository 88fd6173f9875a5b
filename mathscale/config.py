"""Configs: one dataclass per command, read from YAML, overridden with ``key=value``.

>>> cfg = load_config(PingConfig, "my_ping.yaml", ["llm.concurrency=8"])  # doctest: +SKIP

Every field has a default and its help in its declaration (:mod:`mathscale.keys`), so a
command runs with no YAML at all, and a YAML file holds only what it changes (as
``configs/run/*.yaml`` do). ``mathscale <command> --print-config`` prints the complete
config, each key with its help, as YAML that ``--config`` reads back to the same config.
An unknown key or a value of the wrong type is an error that names the key and the file
(or the command-line override) it came from.
"""

from __future__ import annotations

import dataclasses
import os
import textwrap
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml

from mathscale.errors import MathscaleError
from mathscale.io import not_utf8
from mathscale.keys import help_of, plain_data
from mathscale.typecheck import TypeMismatch, build_dataclass

C = TypeVar("C")


def load_config(cls: type[C], path: str | os.PathLike[str] | None = None, overrides: Sequence[str] = (),
                values: Mapping[str, Any] | None = None) -> C:  # fmt: skip
    """Defaults of ``cls``, then the YAML file at ``path``, then each ``key=value`` override,
    then ``values`` (dotted field -> value: the flags a command line gave)."""
    data: dict[str, Any] = {}
    if path is not None:
        data = _read_yaml(Path(path))
        _build(cls, data, source=str(path))
    for override in overrides:
        key, value = _parse_override(override)
        _set_dotted(data, key, value)
        _build(cls, data, source=f"command-line override {override!r}")
    for key, value in (values or {}).items():
        _set_dotted(data, key, value)
        _build(cls, data, source=f"command-line option for {key!r}")
    cfg = _build(cls, data, source=str(path) if path else "defaults")
    _check_settings(cfg)
    return cfg


def require(cfg: Any, options: Mapping[str, str]) -> None:
    """Fail unless every field named in ``options`` (field -> how the command line spells
    it) is set: ``require(cfg, {"out": "--out"})`` -> "no --out given (or out: in the config)"."""
    for name, option in options.items():
        if getattr(cfg, name) in ("", None, []):
            raise MathscaleError(f"no {option} given (or {name}: in the config)")


def parse_shard(text: str | None) -> tuple[int, int]:
    """A shard spec ``"i/k"`` -> (i, k) with 0 <= i < k; None or "" -> (0, 1): the whole run."""
    if not text:
        return 0, 1
    i, sep, k = text.partition("/")
    try:
        shard, count = int(i), int(k)
    except ValueError:
        shard, count = -1, 0
    if not sep or not 0 <= shard < count:
        raise MathscaleError(f"--shard {text!r}: expected i/k with 0 <= i < k, e.g. 0/4")
    return shard, count


def config_to_dict(cfg: Any) -> dict[str, Any]:
    return dataclasses.asdict(cfg)


def dump_config(cfg: Any, *, comments: bool = False) -> str:
    """``cfg`` as YAML that :func:`load_config` reads back to an equal config; with ``comments``
    each key has its field's help above it (what ``--print-config`` prints)."""
    if not comments:
        return yaml.safe_dump(config_to_dict(cfg), sort_keys=False, allow_unicode=True)
    return "".join(_commented(cfg, indent=""))


def _commented(cfg: Any, indent: str) -> Iterator[str]:
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        for line in textwrap.wrap(help_of(f), width=100 - len(indent)):
            yield f"{indent}# {line}\n"
        if dataclasses.is_dataclass(value):
            yield f"{indent}{f.name}:\n"
            yield from _commented(value, indent + "  ")
        else:
            flow = yaml.safe_dump(plain_data(value), default_flow_style=True, allow_unicode=True, width=10**6)
            yield f"{indent}{f.name}: {flow.removesuffix(chr(10)).removesuffix(chr(10) + '...')}\n"


def _build(cls: type[C], data: dict[str, Any], source: str) -> C:
    try:
        return build_dataclass(cls, data)
    except TypeMismatch as exc:
        raise MathscaleError(f"{source}: key {exc.path!r}: {exc}") from None


def _check_settings(cfg: Any) -> None:
    """Run ``check()`` of the config and of every config nested in it: the rules that tie
    several fields together (a minimum at most its maximum). One field's own range is a
    bound in its declaration (``in_key(16, ge=1)``), checked as each value is read."""
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            _check_settings(value)
    check = getattr(cfg, "check", None)
    if callable(check):
        check()  # raises MathscaleError naming the fields


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MathscaleError(f"{path}: config file not found (`mathscale <command> --print-config` prints one)") from None
    except OSError as exc:
        raise MathscaleError(f"{path}: cannot read the config ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        raw = path.read_bytes()
        lineno = raw.count(b"\n", 0, exc.start) + 1
        raise MathscaleError(not_utf8(path, lineno, exc.start, raw[exc.start])) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise MathscaleError(f"{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise MathscaleError(f"{path}: a config must be a mapping of keys to values")
    return data


def _parse_override(text: str) -> tuple[str, Any]:
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise MathscaleError(f"override {text!r}: expected key=value, e.g. llm.concurrency=32")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return key.strip(), value


def _set_dotted(data: dict[str, Any], key: str, value: Any) -> None:
    *parents, last = key.split(".")
    node = data
    for part in parents:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise MathscaleError(f"override {key!r}: {part!r} is not a section")
        node = child
    node[last] = value
