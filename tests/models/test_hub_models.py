"""Models and benchmark datasets named by Hugging Face hub id, resolved offline through
huggingface_hub's own cache code (no mock): each test builds a real hub cache layout under a
temporary ``HF_HOME`` (``hub/models--org--name/snapshots/<commit>/`` written by
``save_pretrained``, ``refs/<branch>`` holding the commit) and runs the ``mathscale`` command
in a subprocess, since huggingface_hub reads ``HF_HOME`` and ``HF_HUB_OFFLINE`` at import.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.hub_helpers import commit, hub_env, mathscale
from tests.support.tiny import arithmetic_samples, build_tiny_model

MODEL = "tiny-org/tiny-llama"
BENCH = "tiny-org/tiny-bench"


@pytest.fixture(scope="module")
def hf_home(tmp_path_factory) -> Path:
    """``HF_HOME`` with MODEL at two revisions (main: 2 layers, v1: 1 layer) and BENCH at main."""
    home = tmp_path_factory.mktemp("hf_home")
    repo = home / "hub" / "models--tiny-org--tiny-llama"
    for ref, layers in (("main", 2), ("v1", 1)):
        build_tiny_model(repo / "snapshots" / commit(ref), layers=layers)
        (repo / "refs").mkdir(parents=True, exist_ok=True)
        (repo / "refs" / ref).write_text(commit(ref))  # no newline, as huggingface_hub writes it
    data = home / "hub" / "datasets--tiny-org--tiny-bench"
    (data / "snapshots" / commit("bench")).mkdir(parents=True)
    (data / "snapshots" / commit("bench") / "test.jsonl").write_text("".join(
        json.dumps({"data_topic": "gsm8k", "question": f"What is {i} + {i}?", "answer": str(2 * i)}) + "\n"
        for i in range(3)))  # fmt: skip
    (data / "refs").mkdir()
    (data / "refs" / "main").write_text(commit("bench"))
    return home


def resolve(env: dict[str, str], *names: str) -> list[str]:
    code = "import sys\nfrom mathscale.models.hub import model_folder\nfor n in sys.argv[1:]: print(model_folder(n))"
    done = subprocess.run([sys.executable, "-c", code, *names], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


@pytest.fixture
def samples(tmp_path) -> Path:
    path = tmp_path / "samples.jsonl"
    path.write_text("".join(json.dumps(s) + "\n" for s in arithmetic_samples(8)))
    return path


def test_ids_and_revisions_resolve_to_cached_snapshots(hf_home):
    snapshots = hf_home / "hub" / "models--tiny-org--tiny-llama" / "snapshots"
    got = resolve(hub_env(hf_home), MODEL, f"{MODEL}@main", f"{MODEL}@v1", f"{MODEL}@{commit('v1')}")
    assert got == [str(snapshots / commit(ref)) for ref in ("main", "main", "v1", "v1")]
    assert json.loads((Path(got[2]) / "config.json").read_text())["num_hidden_layers"] == 1
    # HF_HUB_CACHE names the cache itself, whatever HF_HOME says
    env = hub_env(hf_home.parent / "elsewhere", HF_HUB_CACHE=str(hf_home / "hub"))
    assert resolve(env, MODEL) == [str(snapshots / commit("main"))]


def test_dry_run_names_the_cached_snapshot(hf_home, samples, tmp_path):
    done = mathscale(hub_env(hf_home), "train", "--data", samples, "--model", f"{MODEL}@v1", "--out", tmp_path / "o",
                     "--dry-run", "launch.device=cpu")  # fmt: skip
    assert done.returncode == 0, done.stderr
    snapshot = hf_home / "hub" / "models--tiny-org--tiny-llama" / "snapshots" / commit("v1")
    assert f"model {MODEL}@v1: Hugging Face hub id, cached at {snapshot}" in done.stderr
    assert "mathscale.train.sft" in done.stdout.splitlines()[-1] and not (tmp_path / "o").exists()


def test_the_paper_model_dry_run_offline_with_nothing_cached(tmp_path, samples):
    """The issue's command: no download, the launch command printed, nothing written."""
    from accelerate.commands.launch import launch_command_parser

    env = hub_env(tmp_path / "empty_hf_home")
    argv = ["train", "--model", "mistralai/Mistral-7B-v0.1", "--deepspeed", "zero3", "--num-processes", "8",
            "--dry-run", "--data", samples, "--out", tmp_path / "run"]  # fmt: skip
    done = mathscale(env, *argv)
    assert done.returncode == 0, done.stderr
    assert "mistralai/Mistral-7B-v0.1: Hugging Face hub id, NOT in the local cache" in done.stderr
    assert "hf download mistralai/Mistral-7B-v0.1" in done.stderr
    assert "--nproc_per_node 8" in done.stdout.splitlines()[-1] or "--num_processes 8" in done.stdout
    gpu = mathscale(env, *argv, "launch.device=cuda")
    assert gpu.returncode == 0, gpu.stderr
    launch = shlex.split(gpu.stdout.splitlines()[-1])
    parsed = launch_command_parser().parse_args(launch[2:])
    assert launch[:2] == ["accelerate", "launch"] and parsed.num_processes == 8 and parsed.use_deepspeed
    assert parsed.config_file.endswith("mathscale/train/presets/accelerate/zero3.yaml")
    assert not (tmp_path / "run").exists() and not (tmp_path / "empty_hf_home").exists()


def test_an_uncached_id_offline_is_a_clear_error(hf_home, samples, tmp_path):
    env = hub_env(hf_home)
    done = mathscale(env, "train", "--data", samples, "--model", "tiny-org/absent", "--out", tmp_path / "o",
                     "launch.device=cpu", "--deepspeed", "none", "--num-processes", "1")  # fmt: skip
    assert done.returncode == 2
    err = done.stderr.strip()
    assert err.startswith("mathscale: error: model tiny-org/absent: not in the Hugging Face cache") and err.count("\n") == 0
    assert "`hf download tiny-org/absent`" in err and "unset HF_HUB_OFFLINE" in err and str(hf_home) in err
    assert not (tmp_path / "o").exists()

    bench = tmp_path / "bench.jsonl"
    bench.write_text(json.dumps({"question": "1+1?", "answer": "2"}) + "\n")
    done = mathscale(env, "eval", "--model", f"{MODEL}@no-such-branch", "--benchmarks", bench, "--out", tmp_path / "e")
    assert done.returncode == 2 and f"model {MODEL}@no-such-branch: not in the Hugging Face cache" in done.stderr
    assert "--revision no-such-branch" in done.stderr and not (tmp_path / "e").exists()
    done = mathscale(env, "eval", "--model", MODEL, "--benchmarks", "tiny-org/absent-bench", "--out", tmp_path / "e")
    assert done.returncode == 2 and "dataset tiny-org/absent-bench: not in the Hugging Face cache" in done.stderr
    assert "hf download tiny-org/absent-bench --repo-type dataset" in done.stderr


def test_an_uncached_id_with_the_hub_unreachable_is_a_clear_error(tmp_path, samples):
    """Online mode, but the hub's address refuses connections: the cache is tried, then a clear error."""
    env = hub_env(tmp_path / "hf", offline=False, HF_ENDPOINT="http://127.0.0.1:9")
    done = mathscale(env, "train", "--data", samples, "--model", "tiny-org/absent", "--out", tmp_path / "o",
                     "launch.device=cpu", "--deepspeed", "none", "--num-processes", "1")  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "model tiny-org/absent: not in the Hugging Face cache" in done.stderr
    assert "the hub cannot be reached" in done.stderr and "hf download tiny-org/absent" in done.stderr


def test_a_bad_id_is_refused_by_its_syntax(tmp_path, samples):
    done = mathscale(hub_env(tmp_path / "hf"), "train", "--data", samples, "--model", "org/bad--name", "--out",
                     tmp_path / "o", "--dry-run")  # fmt: skip
    assert done.returncode == 2
    assert "not a Hugging Face hub id (org/name or org/name@revision)" in done.stderr


@pytest.mark.slow
def test_a_cached_model_named_by_id_trains_and_evaluates_offline(hf_home, samples, tmp_path):
    env = hub_env(hf_home)
    out = tmp_path / "new" / "run"  # folders that do not exist yet
    done = mathscale(env, "train", "--data", samples, "--model", MODEL, "--out", out, "--deepspeed", "none",
                     "--num-processes", "1", "launch.device=cpu", "max_steps=2", "save_steps=2",
                     "per_device_batch_size=2", "logging_steps=1", "dataloader_num_workers=0")  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    metrics = json.loads((out / "train_metrics.json").read_text())
    assert metrics["global_step"] == 2 and len(metrics["losses"]) == 2
    snapshot = hf_home / "hub" / "models--tiny-org--tiny-llama" / "snapshots" / commit("main")
    assert f"model: {snapshot}" in (out / "mathscale_train.yaml").read_text()  # what the processes loaded
    assert (out / "model.safetensors").exists()

    evaluated = tmp_path / "eval" / "deeper"
    done = mathscale(env, "eval", "--backend", "hf", "--model", MODEL, "--benchmarks", BENCH, "--out", evaluated,
                     "max_new_tokens=4")  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads((evaluated / "metrics.json").read_text())
    assert result["model"] == MODEL and result["items"] == 3 and result["benchmarks"] == BENCH
    predictions = (evaluated / "predictions" / "gsm8k.jsonl").read_text().splitlines()
    assert [json.loads(p)["reference"] for p in predictions] == ["0", "2", "4"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("org/name", ("org/name", None)),
        ("org/name@v1.0", ("org/name", "v1.0")),
        ("org/name@refs/pr/1", ("org/name", "refs/pr/1")),
        ("org/name@", None),  # an empty revision
        ("name", None),  # no organisation: a typo of a folder must not go to the hub
        ("a/b/c", None),
        ("org/bad--name", None),
        ("org/name.git", None),
    ],
)
def test_hub_id_syntax(text, expected):
    from mathscale.models.hub import parse_hub_id

    hub = parse_hub_id(text)
    assert (None if hub is None else (hub.repo_id, hub.revision)) == expected


def test_model_names_are_classified_without_touching_the_hub(tmp_path):
    from mathscale.errors import MathscaleError
    from mathscale.models.hub import parse_model

    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "config.json").write_text("{}")
    assert parse_model(str(tmp_path / "m")).kind == "folder"
    assert parse_model("smollm2-135m").kind == "named"
    assert parse_model("mistralai/Mistral-7B-v0.1@main").hub.revision == "main"
    with pytest.raises(MathscaleError, match="no model given"):
        parse_model("")
    with pytest.raises(MathscaleError, match="no config.json there"):
        parse_model(str(tmp_path))
    with pytest.raises(MathscaleError, match="'./missing': no such folder, not a known model name"):
        parse_model("./missing")
