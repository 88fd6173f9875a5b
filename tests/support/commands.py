"""Every leaf command of ``mathscale`` with its parser, as the tests of the CLI and the config walk them."""

from __future__ import annotations

import argparse

from mathscale.cli import build_parser


def leaf_parsers() -> dict[str, argparse.ArgumentParser]:
    """``{"graph build": <its parser>, ...}`` for every command that runs (not the groups)."""

    def walk(parser: argparse.ArgumentParser, prefix: str) -> dict[str, argparse.ArgumentParser]:
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs:
            return {prefix.strip(): parser}
        return {name: leaf for word, sub in subs[0].choices.items() for name, leaf in walk(sub, f"{prefix} {word}").items()}

    return walk(build_parser(), "")
