"""The package's shape (README, "Layout"): where commands, configs and argparse may live."""

from __future__ import annotations

import ast
import dataclasses
import importlib
from pathlib import Path

import pytest

from tests.support import REPO

PACKAGE = REPO / "mathscale"
MODULES = sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, at the top or inside functions."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_only_the_cli_modules_import_argparse():
    allowed = {"cli.py", "cli_common.py"}
    offenders = [str(p.relative_to(PACKAGE)) for p in MODULES if "argparse" in imported_modules(p) and p.name not in allowed]
    assert offenders == []


def test_run_calls_commands_not_the_cli():
    for path in (PACKAGE / "run").glob("*.py"):
        if path.name == "cli.py":
            continue
        cli = {m for m in imported_modules(path) if m.endswith((".cli", ".cli_common")) or m == "mathscale.cli"}
        assert not cli, f"run/{path.name} imports {cli}"


def test_training_knows_nothing_of_the_llm_client():
    for path in (PACKAGE / "train").glob("*.py"):
        assert not {m for m in imported_modules(path) if m.startswith("mathscale.llm")}, f"train/{path.name}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_config_dataclasses_live_in_config_modules(path):
    # the sample filters' settings live beside the filters, so that a new filter is one file (issue 27)
    if path.name == "config.py" or path.relative_to(PACKAGE) == Path("generate/filters.py"):
        return
    module = importlib.import_module(module_name(path))
    defined_here = [obj for obj in vars(module).values()
                    if isinstance(obj, type) and dataclasses.is_dataclass(obj) and obj.__module__ == module.__name__]  # fmt: skip
    assert [c.__name__ for c in defined_here if c.__name__.endswith("Config")] == []
