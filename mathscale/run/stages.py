"""Stages of a run, their up-to-date keys, and the manifest that records them.

A stage's key is a hash of the part of its config that can change its outputs (each
config field declares that, see :mod:`mathscale.keys`), the keys of the stages it reads
from and the content of its input files. A stage whose key is in the manifest as done,
with its outputs present and holding what it recorded when it finished (their content
hashes), is skipped; a changed output (a replaced graph, a cut samples file) reruns the
stage — a stage that ``appends`` resumes and completes it; a stage that started under the same key but did
not finish, or finished short (:class:`ShortfallError`, status ``short``), is resumed
(each stage command resumes by itself); a stage whose ``grow``
field (generate's ``n``) became larger under the same key is extended, keeping what it
made; a stage whose key changed runs again — and since the keys chain, so does every
stage after it. Nothing is deleted on the way: the outputs a rerun replaces move to
``<run>/superseded/<stage>-<old key>/`` and the run says so; ``--prune`` removes them.
"""

from __future__ import annotations

import dataclasses
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
from mathscale.errors import ShortfallError
from mathscale.io import atomic_write, atomic_write_json, side_file
from mathscale.keys import key_view

log = logging.getLogger(__name__)

SUPERSEDED = "superseded"  # <run>/superseded/<stage>-<key>/: outputs a rerun replaced
PACKAGES = ("torch", "transformers", "peft", "accelerate", "deepspeed", "datasets", "trl", "openai",
            "llama_cpp_python", "networkx", "numpy", "sympy")  # fmt: skip


@dataclass
class Stage:
    """One step: a command's ``main`` and the config it gets (inputs and outputs included),
    what it reads and writes.

    ``command`` is the stage's ``main(cfg)``; ``cli`` is how the same command is spelled on
    the command line (``"graph extract"``), for the line the run prints.
    """

    name: str
    cli: str
    command: Callable[[Any], Any]
    config: Any
    outputs: list[Path]
    upstream: list[str] = field(default_factory=list)  # stages whose outputs it reads
    inputs: list[Path] = field(default_factory=list)  # files outside the run it reads
    resume: dict[str, Any] = field(default_factory=dict)  # config fields set when resuming a started stage
    grow: str = ""  # config field whose increase extends the outputs (slots nest) instead of replacing them
    appends: bool = False  # its command resumes from what its output holds: a cut output is completed, not replaced

    def size(self) -> Any:
        return getattr(self.config, self.grow) if self.grow else None


def output_digest(path: Path) -> str:
    """What a finished stage records of an output: a file's content hash; a folder's file names and
    sizes (hashing a checkpoint's gigabytes on every run would cost more than it tells)."""
    if not path.is_dir():
        return file_digest(path)
    digest = hashlib.sha256()
    for child in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(f"{child.relative_to(path)}\0{child.stat().st_size}\n".encode())
    return digest.hexdigest()


def changed_outputs(stage: Stage, record: dict[str, Any]) -> list[Path]:
    """The outputs whose content differs from what the stage recorded when it finished."""
    recorded = record.get("output_digests") or {}
    return [p for p in stage.outputs if str(p) in recorded and (not p.exists() or output_digest(p) != recorded[str(p)])]


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
    """Hash of what can change the stage's outputs; the ``grow`` field is tracked apart."""
    parts = {
        "stage": stage.name,
        "config": key_view(stage.config, skip=(stage.grow,) if stage.grow else ()),
        "upstream": [_made(manifest.stage(u)) for u in stage.upstream],
        "inputs": [file_digest(p) for p in stage.inputs],
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


def _made(record: dict[str, Any]) -> str:
    """What a downstream stage depends on: the upstream key and, for a stage that grows, its size."""
    size = record.get("size")
    return f"{record.get('key')}" + ("" if size is None else f":{size}")


def run_stages(stages: list[Stage], folder: Path) -> Manifest:
    """Run what is out of date, in order, each by calling its command's ``main(cfg)``.

    Each stage's config is also written to ``<folder>/configs/<stage>.yaml``, so the printed
    ``mathscale <command> --config <that file>`` reruns it by hand. Returns the manifest.
    """
    manifest = Manifest(folder)
    config_dir = folder / "configs"
    config_dir.mkdir(parents=True, exist_ok=True)
    for stage in stages:
        key, size = stage_key(stage, manifest), stage.size()
        record = manifest.stage(stage.name)
        same, present = record.get("key") == key, all(p.exists() for p in stage.outputs)
        changed = changed_outputs(stage, record) if same and record.get("status") == "done" and present else []
        if same and record.get("status") == "done" and present and record.get("size") == size and not changed:
            print(f"[{stage.name}] up to date (key {key}), skipped")
            continue
        cfg = stage.config
        if changed:
            print(f"[{stage.name}] {', '.join(map(str, changed))} changed since the stage finished; "
                  + ("resuming it" if stage.appends else "running it again"))  # fmt: skip
        if changed and stage.appends:
            cfg = dataclasses.replace(cfg, **stage.resume)
        elif changed and (moved := supersede(stage, record, folder)) is not None:
            print(f"[{stage.name}] the changed outputs moved to {moved} (`mathscale run CONFIG --prune` removes them)")
        elif same and record.get("status") in ("running", "short") and _not_smaller(size, record.get("size")):
            what = "an interrupted run" if record["status"] == "running" else "a run that came up short"
            print(f"[{stage.name}] resuming {what} (key {key})")
            cfg = dataclasses.replace(cfg, **stage.resume)
        elif same and record.get("status") == "done" and present and _not_smaller(size, record.get("size")):
            print(f"[{stage.name}] extending {stage.grow}={record.get('size')} to {size}: keeping what it made (key {key})")
            cfg = dataclasses.replace(cfg, **stage.resume)
        elif (moved := supersede(stage, record, folder)) is not None:
            print(f"[{stage.name}] its config or inputs changed; the previous outputs moved to {moved} "
                  "(`mathscale run CONFIG --prune` removes them)")  # fmt: skip
        config_path = config_dir / f"{stage.name}.yaml"
        atomic_write(config_path, dump_config(cfg))
        print(f"[{stage.name}] mathscale {stage.cli} --config {config_path}", flush=True)
        manifest.update(stage.name, key=key, size=size, status="running", started=time.strftime("%Y-%m-%dT%H:%M:%S"))
        started = time.perf_counter()
        try:
            stage.command(cfg)  # a failure raises MathscaleError
        except ShortfallError:  # its outputs are valid but fewer than asked: the caller decides
            manifest.update(stage.name, status="short", seconds=round(time.perf_counter() - started, 2),
                            outputs=[str(p) for p in stage.outputs])  # fmt: skip
            raise
        manifest.update(stage.name, status="done", seconds=round(time.perf_counter() - started, 2),
                        outputs=[str(p) for p in stage.outputs],
                        output_digests={str(p): output_digest(p) for p in stage.outputs if p.exists()})  # fmt: skip
    return manifest


def _not_smaller(size: Any, before: Any) -> bool:
    return size is None and before is None or size is not None and before is not None and size >= before


def outputs_with_side_files(path: Path) -> list[Path]:
    """``path`` and the reports, usage, drops and dataset files written beside it."""
    found = [path] if path.exists() else []
    return found + [p for p in sorted(path.parent.glob(side_file(path, ".*").name)) if p != path]


def supersede(stage: Stage, record: dict[str, Any], folder: Path) -> Path | None:
    """Move what ``stage`` made earlier to ``<folder>/superseded/<stage>-<key>/``; None if nothing."""
    found = [p for out in stage.outputs for p in outputs_with_side_files(out)]
    if not found:
        return None
    dest = folder / SUPERSEDED / f"{stage.name}-{record.get('key') or 'unrecorded'}"
    suffix = 1
    while dest.exists():  # the same old outputs superseded twice (e.g. a run switched back and forth)
        suffix += 1
        dest = dest.with_name(f"{stage.name}-{record.get('key') or 'unrecorded'}-{suffix}")
    for path in found:
        try:
            target = dest / path.resolve().relative_to(folder.resolve())
        except ValueError:  # an output outside the run folder keeps its name
            target = dest / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(path), str(target))
    return dest


def prune(folder: Path) -> list[Path]:
    """Remove ``<folder>/superseded/``, saying what goes; returns what was removed."""
    root = folder / SUPERSEDED
    removed = sorted(root.iterdir()) if root.is_dir() else []
    for path in removed:
        print(f"pruned {path}")
    if root.is_dir():
        shutil.rmtree(root)
    if not removed:
        print(f"nothing to prune in {root}")
    return removed
