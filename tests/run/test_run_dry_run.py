"""``mathscale run|scale CONFIG --dry-run`` on the shipped GPU configs, offline, on a machine
without their model or data: every stage and the training launch printed, no LLM call, no
download, nothing written; missing inputs listed together, each with the key to set."""

from __future__ import annotations

import json
import re
import shlex

import pytest

from tests.support import REPO
from tests.support.hub_helpers import hub_env, mathscale

CONFIGS = {"paper_8gpu": ("mistralai/Mistral-7B-v0.1", 8, "zero3"), "single_gpu_lora": ("Qwen/Qwen2.5-Math-1.5B", 1, "zero2")}


@pytest.fixture
def inputs(tmp_path) -> list[str]:
    """Small seeds and benchmarks, as key=path overrides for the configs' data/ paths."""
    seeds, bench = tmp_path / "seeds.jsonl", tmp_path / "bench.jsonl"
    seeds.write_text("".join(json.dumps({"id": f"s{i}", "question": f"What is {i} + 1?"}) + "\n" for i in range(5)))
    bench.write_text("".join(json.dumps({"data_topic": "gsm8k", "question": f"What is {i} + {i}?",
                                         "answer": str(2 * i)}) + "\n" for i in range(4)))  # fmt: skip
    return [f"seeds={seeds}", f"benchmarks={bench}", f"generate.decontamination.benchmarks=[{bench}]"]


def stage_names(stdout: str) -> list[str]:
    return [m.group(1) for line in stdout.splitlines() if (m := re.match(r"\[([a-z][a-z0-9-]*)\] mathscale ", line))]


def launch_line(stdout: str, stage: str) -> list[str]:
    lines = stdout.splitlines()
    start = lines.index(next(line for line in lines if line.startswith(f"[{stage}] ")))
    launch = next(line for line in lines[start + 1 :] if line.strip().startswith("launch: "))
    return shlex.split(launch.strip()[len("launch: ") :])


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_shipped_gpu_config_passes_a_dry_run_offline(name, inputs, tmp_path):
    from accelerate.commands.launch import launch_command_parser

    model, gpus, preset = CONFIGS[name]
    out, hf_home = tmp_path / "run", tmp_path / "hf_home"
    done = mathscale(hub_env(hf_home), "run", REPO / "configs" / "run" / f"{name}.yaml", "--dry-run", *inputs,
                     f"out={out}", "train.launch.device=cuda", cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    stages = stage_names(done.stdout)
    assert stages == ["extract", "build", "generate", "train", "eval", "eval-base"]
    assert "seeds " in done.stdout and "benchmarks " in done.stdout and "4 items" in done.stdout
    assert f"model {model}: Hugging Face hub id, NOT in the local cache" in done.stdout
    argv = launch_line(done.stdout, "train")
    parsed = launch_command_parser().parse_args(argv[2:])
    assert argv[:2] == ["accelerate", "launch"] and parsed.num_processes == gpus and parsed.use_deepspeed
    assert parsed.config_file.endswith(f"mathscale/train/presets/accelerate/{preset}.yaml")
    assert parsed.training_script_args == [str(out.resolve() / "model" / "mathscale_train.yaml")]
    assert not out.exists() and not hf_home.exists()  # nothing written, nothing downloaded


def test_missing_inputs_are_listed_together_with_their_keys(tmp_path):
    done = mathscale(hub_env(tmp_path / "hf_home"), "run", REPO / "configs" / "run" / "paper_8gpu.yaml", "--dry-run",
                     cwd=tmp_path)  # fmt: skip
    assert done.returncode == 2
    err = done.stderr
    assert "paper_8gpu.yaml: missing inputs (give them as key=path overrides or in the config):" in err
    assert "  seeds: data/mwpbench_train.jsonl\n" in err
    assert "  benchmarks: data/mwpbench_test (no such file or folder, nor a cached Hugging Face dataset" in err
    assert "  generate.decontamination.benchmarks[0]: data/mwpbench_test" in err
    assert not (tmp_path / "runs").exists()


def test_scale_dry_run_plans_one_fine_tune_per_size(inputs, tmp_path, capsys):
    """In-process: the model here is a local folder, so no hub setting is involved."""
    from mathscale.cli import main
    from tests.support.tiny import build_tiny_model

    model = build_tiny_model(tmp_path / "tiny")
    out = tmp_path / "scale"
    assert main(["scale", str(REPO / "configs" / "run" / "scale_quickstart.yaml"), "--dry-run", *inputs,
                 f"out={out}", f"base_model={model}", "sizes=[5,10]", "train.launch.device=cpu"]) == 0  # fmt: skip
    stdout = capsys.readouterr().out
    stages = stage_names(stdout)
    assert stages == ["extract", "build", "generate", "eval-base", "train-n5", "eval-n5", "train-n10", "eval-n10"]
    assert f"model {model}: local folder" in stdout
    assert str(out.resolve() / "n10" / "model" / "mathscale_train.yaml") in launch_line(stdout, "train-n10")
    assert not out.exists()


def test_a_bad_setting_fails_the_dry_run(inputs, tmp_path, capsys):
    from mathscale.cli import main

    assert main(["run", str(REPO / "configs" / "run" / "quickstart.yaml"), "--dry-run", *inputs,
                 f"out={tmp_path / 'r'}", "generate.max_attempts=5000"]) == 2  # fmt: skip
    assert "max_attempts=5000: must be between 1 and 1024" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_run_and_scale_take_executor_ray_for_generate_and_eval(inputs, tmp_path, capsys):
    from mathscale.cli import main

    run, scale = (str(REPO / "configs" / "run" / f"{name}.yaml") for name in ("quickstart", "scale_quickstart"))
    on_ray = ["generate.executor=ray", "llm.base_urls=[http://127.0.0.1:9/v1]", "eval.executor=ray",
              "eval.backend=openai", "eval.llm.base_urls=[http://127.0.0.1:9/v1]"]  # fmt: skip
    assert main(["run", run, "--dry-run", *inputs, f"out={tmp_path / 'r'}", *on_ray]) == 0
    assert main(["scale", scale, "--dry-run", *inputs, f"out={tmp_path / 's'}", *on_ray]) == 0
    capsys.readouterr()
    # the embedded teacher cannot serve a cluster, nor can the hf backend: caught by the dry run
    assert main(["run", run, "--dry-run", *inputs, f"out={tmp_path / 'r'}", "generate.executor=ray"]) == 2
    assert "the cluster's workers need an OpenAI-compatible endpoint" in capsys.readouterr().err
    assert main(["run", run, "--dry-run", *inputs, f"out={tmp_path / 'r'}", "eval.executor=ray"]) == 2
    assert "executor=ray runs --backend openai" in capsys.readouterr().err
    assert not (tmp_path / "r").exists() and not (tmp_path / "s").exists()
