"""Stages of a run, their up-to-date keys, and the manifest that records them.

A stage's key is a hash of its config (as written to ``<run>/configs/<stage>.yaml``), the
keys of the stages it reads from and the content of its input files. A stage whose key
is in the manifest as done, with its outputs present, is skipped; a stage that started
under the same key but did not finish, or finished short (:class:`ShortfallError`, status
``short``), is resumed (each stage command resumes by itself);
a stage whose key changed has its outputs removed and runs again — and since the keys
chain, so does every stage after it.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
import platform
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mathscale import __version__
from mathscale.config import dump_config
from mathscale.errors import MathscaleError, ShortfallError
from mathscale.io import atomic_write, atomic_write_json, side_file

log = logging.getLogger(__name__)

PACKAGES = ("torch", "transformers", "peft", "accelerate", "deepspeed", "datasets", "trl", "openai",
            "llama_cpp_python", "networkx", "numpy", "sympy")  # fmt: skip


@dataclass
class Stage:
    """One step: ``argv`` for the mathscale CLI, the config it gets, what it reads and writes."""

    name: str
    argv: list[str]
    config: Any
    outputs: list[Path]
    upstream: list[str] = field(default_factory=list)  # stages whose outputs it reads
    inputs: list[Path] = field(default_factory=list)  # files outside the run it reads
    resume_flag: list[str] = field(default_factory=list)  # extra argv when resuming a started stage


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    if path.is_dir():
        for child in sorted(p for p in path.rglob("*") if p.is_file()):
            digest.update(str(child.relative_to(path)).encode())
            digest.update(file_digest(child).encode())
        return digest.hexdigest()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


class Manifest:
    """``<run>/manifest.json``: versions, and per stage its key, state, timings and outputs."""

    def __init__(self, folder: Path):
        self.path = folder / "manifest.json"
        if self.path.exists():
            self.data = json.loads(self.path.read_text(encoding="utf-8"))
        else:
            self.data = {"created": time.strftime("%Y-%m-%dT%H:%M:%S"), "stages": {}}
        self.data["mathscale"] = __version__
        self.data["python"] = platform.python_version()
        self.data["command"] = sys.argv[1:] or ["<library call>"]
        self.data["packages"] = {name: _version(name) for name in PACKAGES}

    def stage(self, name: str) -> dict[str, Any]:
        return self.data["stages"].get(name, {})

    def update(self, name: str, **values: Any) -> None:
        self.data["stages"].setdefault(name, {}).update(values)
        atomic_write_json(self.path, self.data)

    def save(self) -> None:
        atomic_write_json(self.path, self.data)


def _version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name.replace("_", "-"))
    except importlib.metadata.PackageNotFoundError:
        return None


def stage_key(stage: Stage, manifest: Manifest) -> str:
    parts = {
        "stage": stage.name,
        "config": dump_config(stage.config),
        "upstream": [manifest.stage(u).get("key") for u in stage.upstream],
        "inputs": [file_digest(p) for p in stage.inputs],
        "argv": [a for a in stage.argv if not a.startswith("--config")],
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


def run_stages(stages: list[Stage], folder: Path, invoke: Callable[[list[str]], None]) -> Manifest:
    """Run what is out of date, in order; returns the manifest."""
    manifest = Manifest(folder)
    config_dir = folder / "configs"
    config_dir.mkdir(parents=True, exist_ok=True)
    for stage in stages:
        key = stage_key(stage, manifest)
        record = manifest.stage(stage.name)
        if record.get("key") == key and record.get("status") == "done" and all(p.exists() for p in stage.outputs):
            print(f"[{stage.name}] up to date (key {key}), skipped")
            continue
        argv = list(stage.argv)
        if record.get("key") == key and record.get("status") in ("running", "short"):
            what = "an interrupted run" if record["status"] == "running" else "a run that came up short"
            print(f"[{stage.name}] resuming {what} (key {key})")
            argv += stage.resume_flag
        else:
            for path in stage.outputs:  # outputs of another config: start clean
                _remove(path)
        config_path = config_dir / f"{stage.name}.yaml"
        atomic_write(config_path, dump_config(stage.config))
        argv = [*argv, "--config", str(config_path)]
        print(f"[{stage.name}] mathscale {' '.join(argv)}", flush=True)
        manifest.update(stage.name, key=key, status="running", started=time.strftime("%Y-%m-%dT%H:%M:%S"))
        started = time.perf_counter()
        try:
            invoke(argv)
        except ShortfallError:  # its outputs are valid but fewer than asked: the caller decides
            manifest.update(stage.name, status="short", seconds=round(time.perf_counter() - started, 2),
                            outputs=[str(p) for p in stage.outputs])  # fmt: skip
            raise
        manifest.update(stage.name, status="done", seconds=round(time.perf_counter() - started, 2),
                        outputs=[str(p) for p in stage.outputs])  # fmt: skip
    return manifest


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()
    for side in path.parent.glob(side_file(path, ".*").name):
        if side.is_file() and side != path:  # reports, usage, drops, failures beside the output
            side.unlink()
        elif side.is_dir():
            shutil.rmtree(side)


def invoke_cli(argv: list[str]) -> None:
    """Run one mathscale command in this process; a failure raises MathscaleError."""
    from mathscale.cli import _load, build_parser

    args = build_parser().parse_args(argv)
    code = _load(args.handler)(args) or 0
    if code != 0:
        raise MathscaleError(f"`mathscale {' '.join(argv)}` exited with status {code}")
