"""How every command's arguments become its config: the one place flags meet dataclasses.

A command's settings are one config dataclass (``<stage>/config.py``). Its CLI declares
the arguments that set fields with :func:`add_field`, which takes the help text, the
choices, the type and the default from the field (each is written once, in the field), and
turns the parsed arguments into the config with :func:`config_from_args`:

    defaults of the dataclass -> ``--config FILE`` -> ``key=value`` overrides -> flags given

A flag that was not given leaves the field alone, so a YAML file's value stands unless the
command line names it. argparse is imported only here and in the ``cli.py`` files.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import typing
from collections.abc import Sequence
from typing import Any, TypeVar

from mathscale.config import load_config
from mathscale.keys import help_of

C = TypeVar("C")

FIELD_DEST = "cfg."  # argparse dest of an argument that sets a config field: "cfg.<dotted field>"
_POSITIONALS = "positional_fields"  # the dests of a parser's positional fields (see config_from_args)
OVERRIDE = re.compile(r"^[A-Za-z_][\w.]*=")  # a `key=value` word


def add_config_args(parser: argparse.ArgumentParser, cls: type) -> None:
    """``--config FILE``, ``--print-config`` and trailing ``key=value`` overrides, for a command whose
    settings are the config dataclass ``cls``."""
    parser.add_argument("--config", metavar="FILE",
                        help="YAML config: only the keys that differ from the defaults (see --print-config)")  # fmt: skip
    add_print_config(parser, cls, reads="--config")
    parser.add_argument("overrides", nargs="*", metavar="key=value", help="override a config key: key=value or section.key=value (YAML values: true, 0.5, [1, 2])")


def add_print_config(parser: argparse.ArgumentParser, cls: type, reads: str) -> None:
    """``--print-config``: ``mathscale.cli`` prints the ``cls`` the arguments give, instead of running the command."""
    parser.add_argument("--print-config", action="store_true",
                        help=f"print the complete config these arguments give, as YAML that {reads} reads, and stop")  # fmt: skip
    parser.set_defaults(config_class=cls)


def add_field(parser: argparse.ArgumentParser, *names: str, cls: type, field: str, one_of: Sequence[str] = (),
              **kwargs: Any) -> argparse.Action:  # fmt: skip
    """An argument that sets config field ``field`` (dotted for nested ones) of ``cls``.

    Its help is the field's (``in_key(..., help=...)``), with the field's choices (a
    ``Literal``, or ``one_of``: names listed but left to the config's own check, with its
    message) and its default appended (no default for an empty string or list: those mean
    "not given"); ``type`` follows an ``int`` or ``float`` field. A positional (``names``
    without a dash) is optional on the command line, since the config file may give it; the
    command checks it is set.
    """
    f, tp = config_field(cls, field)
    default = field_default(cls, field)
    if "choices" not in kwargs and typing.get_origin(tp) is typing.Literal:
        kwargs["choices"] = typing.get_args(tp)
    if tp in (int, float) and kwargs.get("action") is None:
        kwargs.setdefault("type", tp)
    allowed = [str(c) for c in kwargs.get("choices") or one_of if c != ""]
    listed = f"; one of: {', '.join(allowed)}" if allowed else ""
    shown = "" if default in ("", [], None) else f" (default: {format_default(default)})"
    help = help_of(f) + listed + shown
    dest = FIELD_DEST + field
    if names and not names[0].startswith("-"):  # a positional: its dest is its name
        kwargs.setdefault("metavar", names[0])
        kwargs.setdefault("nargs", "?")
        action = parser.add_argument(dest, help=help, default=None, **kwargs)
        parser.set_defaults(**{_POSITIONALS: [*(parser.get_default(_POSITIONALS) or []), dest]})
    else:
        if kwargs.get("action") not in ("store_true", "store_false"):
            kwargs.setdefault("metavar", names[-1].lstrip("-").upper().replace("-", "_"))
        action = parser.add_argument(*names, dest=dest, help=help, default=None, **kwargs)
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


def config_field(cls: type, dotted: str) -> tuple[dataclasses.Field, Any]:
    """The field of a config dataclass named by a (nested, dotted) name, and its type."""
    *parents, last = dotted.split(".")
    for part in parents:
        cls = _field_type(cls, part)
    for f in dataclasses.fields(cls):
        if f.name == last:
            return f, typing.get_type_hints(cls)[last]
    raise KeyError(f"{cls.__name__} has no field {last!r}")


def field_default(cls: type, dotted: str) -> Any:
    """The default of a (nested, dotted) field of a config dataclass."""
    f, _ = config_field(cls, dotted)
    return f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]


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
