"""A wheel built from this checkout can train: installed into a fresh virtual environment,
``mathscale train`` finds its DeepSpeed and accelerate presets inside the installed package.

The wheel is built offline with the setuptools already installed (no build isolation) and
installed with ``--no-deps`` into a venv that sees this Python's site-packages, so torch,
transformers and accelerate come from here. Every command runs from a folder outside the
checkout, without PYTHONPATH, so nothing can be found in the checkout (or in an editable
install of another one, which this Python's site-packages may hold).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import REPO
from tests.support.tiny import arithmetic_samples, build_tiny_model

pytestmark = pytest.mark.slow

PRESETS = ["zero2", "zero3", "zero3_offload"]


def run(argv: list[object], cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["HF_HUB_OFFLINE"] = "1"
    done = subprocess.run([str(a) for a in argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{shlex.join(map(str, argv))}\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict[str, Path]:
    """The wheel of this checkout installed into a new venv; the venv, its site-packages, a tiny
    model, samples, and an empty working folder outside the checkout."""
    root = tmp_path_factory.mktemp("wheel").resolve()
    # Build from a copy of what the wheel is made of: an in-tree build would leave build/ and
    # *.egg-info in the checkout, and a stale build/ there could slip removed files into the wheel.
    src = root / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    shutil.copytree(REPO / "mathscale", src / "mathscale", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    work = root / "work"
    work.mkdir()
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", root / "dist",
         src], cwd=work)  # fmt: skip
    (wheel,) = (root / "dist").glob("mathscale-*.whl")
    venv = root / "venv"
    # No pip of its own (ensurepip is slow): the system pip, seen through --system-site-packages,
    # installs into the venv it runs in. --ignore-installed: the system may hold mathscale already.
    run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", venv], cwd=work)
    run([venv / "bin" / "python", "-m", "pip", "install", "--no-deps", "--no-index", "--ignore-installed", wheel], cwd=work)
    site = run([venv / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=work)
    model = build_tiny_model(root / "tiny")
    samples = root / "samples.jsonl"
    samples.write_text("".join(json.dumps(s) + "\n" for s in arithmetic_samples(8)))
    return {"venv": venv, "site": Path(site.stdout.strip()), "model": model, "samples": samples, "work": work}


def test_the_venv_imports_its_own_mathscale(installed):
    done = run([installed["venv"] / "bin" / "python", "-c", "import mathscale; print(mathscale.__file__)"],
               cwd=installed["work"])  # fmt: skip
    assert Path(done.stdout.strip()) == installed["site"] / "mathscale" / "__init__.py"


@pytest.mark.parametrize("preset", PRESETS)
def test_a_dry_run_launches_with_the_presets_of_the_installed_package(installed, preset):
    from accelerate.commands.launch import launch_command_parser

    out = installed["work"] / "run"
    done = run([installed["venv"] / "bin" / "mathscale", "train", "--dry-run", "--data", installed["samples"],
                "--model", installed["model"], "--out", out, "--deepspeed", preset, "--num-processes", "2",
                "launch.device=cuda"], cwd=installed["work"])  # fmt: skip
    argv = shlex.split(done.stdout.strip().splitlines()[-1])
    assert argv[:2] == ["accelerate", "launch"]
    parsed = launch_command_parser().parse_args(argv[2:])
    presets = installed["site"] / "mathscale" / "train" / "presets"
    assert Path(parsed.config_file) == presets / "accelerate" / f"{preset}.yaml"
    assert Path(parsed.config_file).is_file()
    assert parsed.use_deepspeed and parsed.deepspeed_config_file == str(out / "deepspeed_config.json")
    deepspeed = presets / "deepspeed" / f"{preset}.json"
    assert f"DeepSpeed config: {deepspeed} (written to {out / 'deepspeed_config.json'} at launch)" in done.stderr
    assert json.loads(deepspeed.read_text())["zero_optimization"]["stage"] == (2 if preset == "zero2" else 3)
    assert str(REPO) not in done.stdout + done.stderr and not out.exists()
