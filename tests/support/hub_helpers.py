"""Helpers for tests that name models by Hugging Face hub id: a clean hub environment, and the
``mathscale`` command in a subprocess (huggingface_hub reads ``HF_HOME`` and ``HF_HUB_OFFLINE``
once, at import, so each setting needs a fresh process)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

from tests.support import REPO


def commit(name: str) -> str:
    """A 40-hex-digit id, like a git commit."""
    return hashlib.sha1(name.encode()).hexdigest()


def hub_env(hf_home: Path | None, *, offline: bool = True, **extra: str) -> dict[str, str]:
    """This environment without any hub setting of the caller's, then ours."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGINGFACE_", "TRANSFORMERS_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])])
    if hf_home is not None:
        env["HF_HOME"] = str(hf_home)
    if offline:
        env["HF_HUB_OFFLINE"] = "1"
    env.update(extra)
    return env


def mathscale(env: dict[str, str], *argv: object, cwd: Path | None = None, timeout: int = 300):
    """``mathscale ARGV`` in a subprocess with ``env``; the CompletedProcess (text stdout/stderr)."""
    return subprocess.run([sys.executable, "-m", "mathscale.cli", *map(str, argv)], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)  # fmt: skip
