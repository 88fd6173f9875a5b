"""How every command's arguments become its config: the one place flags meet dataclasses.

A command's settings are one config dataclass (``<stage>/config.py``). Its CLI declares
the arguments that set fields with :func:`add_field`, which takes the help text's default
from the dataclass (each default is written once, in the field), and turns the parsed
arguments into the config with :func:`config_from_args`:

    defaults of the dataclass -> ``--config FILE`` -> ``key=value`` overrides -> flags given

A flag that was not given leaves the field alone, so a YAML file's value stands unless the
command line names it. argparse is imported only here and in the ``cli.py`` files.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import typing
from typing import Any, TypeVar

from mathscale.config import load_config

C = TypeVar("C")

FIELD_DEST = "cfg."  # argparse dest of an argument that sets a config field: "cfg.<dotted field>"
_POSITIONALS = "positional_fields"  # the dests of a parser's positional fields (see config_from_args)
OVERRIDE = re.compile(r"^[A-Za-z_][\w.]*=")  # a `key=value` word


def add_config_args(parser: argparse.ArgumentParser, default_config: str = "") -> None:
    """``--config FILE`` and trailing ``key=value`` overrides, for every configurable command."""
    where = f" (the defaults are spelled out in {default_config})" if default_config else ""
    parser.add_argument("--config", metavar="FILE", help=f"YAML config{where}")
    parser.add_argument("overrides", nargs="*", metavar="key=value", help="override a config key: key=value or section.key=value (YAML values: true, 0.5, [1, 2])")


def add_field(parser: argparse.ArgumentParser, *names: str, cls: type, field: str, help: str, **kwargs: Any) -> argparse.Action:
    """An argument that sets config field ``field`` (dotted for nested ones) of ``cls``.

    A positional (``names`` without a dash) is optional on the command line, since the
    config file may give it; the command checks it is set. The dataclass default is
    appended to ``help`` (none for an empty string or list: those mean "not given").
    """
    default = field_default(cls, field)
    shown = "" if default in ("", [], None) else f" (default: {format_default(default)})"
    dest = FIELD_DEST + field
    if names and not names[0].startswith("-"):  # a positional: its dest is its name
        kwargs.setdefault("metavar", names[0])
        kwargs.setdefault("nargs", "?")
        action = parser.add_argument(dest, help=help + shown, default=None, **kwargs)
        parser.set_defaults(**{_POSITIONALS: [*(parser.get_default(_POSITIONALS) or []), dest]})
    else:
        if kwargs.get("action") not in ("store_true", "store_false"):
            kwargs.setdefault("metavar", names[-1].lstrip("-").upper().replace("-", "_"))
        action = parser.add_argument(*names, dest=dest, help=help + shown, default=None, **kwargs)
    action.config_class, action.config_field = cls, field  # for the test that help and dataclass agree
    return action


def config_from_args(cls: type[C], args: argparse.Namespace) -> C:
    """The config of a parsed command line: defaults, ``--config``, overrides, then flags given.

    A positional may be left out when the config file gives it; argparse then hands the
    first ``key=value`` word to the positional, so such words go back to the overrides.
    """
    overrides = list(getattr(args, "overrides", None) or [])
    values = {}
    for dest, value in vars(args).items():
        if not dest.startswith(FIELD_DEST) or value is None:
            continue
        if dest in (getattr(args, _POSITIONALS, None) or []):
            words = value if isinstance(value, list) else [value]
            overrides = [w for w in words if OVERRIDE.match(w)] + overrides
            words = [w for w in words if not OVERRIDE.match(w)]
            if not words:
                continue
            value = words if isinstance(value, list) else words[0]
        values[dest[len(FIELD_DEST):]] = value
    return load_config(cls, getattr(args, "config", None), overrides, values)


def field_default(cls: type, dotted: str) -> Any:
    """The default of a (nested, dotted) field of a config dataclass."""
    *parents, last = dotted.split(".")
    for part in parents:
        cls = _field_type(cls, part)
    for f in dataclasses.fields(cls):
        if f.name == last:
            if f.default is not dataclasses.MISSING:
                return f.default
            return f.default_factory()  # type: ignore[misc]
    raise KeyError(f"{cls.__name__} has no field {last!r}")


def format_default(value: Any) -> str:
    """How a default reads in ``--help``: the YAML spelling (true, [1, 2], 0.0002)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(format_default(v) for v in value) + "]"
    return str(value)


def _field_type(cls: type, name: str) -> type:
    hints = typing.get_type_hints(cls)
    tp = hints[name]
    if not dataclasses.is_dataclass(tp):
        raise KeyError(f"{cls.__name__}.{name} is not a nested config")
    return tp


def exit_status(result: Any) -> int:
    """A command's exit status: its result's ``exit_code`` (0 when it has none)."""
    return int(getattr(result, "exit_code", 0) or 0)
