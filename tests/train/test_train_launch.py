"""`mathscale train` before anything starts: configs, launch commands (--dry-run), bad input."""

from __future__ import annotations

import json
import shlex
import subprocess

import pytest

from mathscale.config import load_config
from mathscale.errors import MathscaleError
from mathscale.train.config import TrainConfig
from mathscale.train.artifacts import CONFIG_NAME
from mathscale.train.launch import load_deepspeed_config, preset_path
from tests.support import REPO
from tests.support.tiny import arithmetic_samples, build_tiny_model
from tests.support.train_helpers import run_train, train_parser, write_samples


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return build_tiny_model(tmp_path_factory.mktemp("model") / "tiny")


@pytest.fixture
def samples(tmp_path):
    return write_samples(tmp_path / "samples.jsonl", arithmetic_samples(8))


@pytest.fixture
def no_launch(monkeypatch):
    """Fail the test if anything tries to start a process."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"launched {args}")

    monkeypatch.setattr(subprocess, "Popen", refuse)


def dry_run(capsys, *argv) -> list[str]:
    assert run_train(*argv, "--dry-run") == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    return shlex.split(line)




@pytest.mark.parametrize("preset", ["zero2", "zero3", "zero3_offload"])
def test_shipped_deepspeed_configs(preset):
    ds = load_deepspeed_config(TrainConfig(deepspeed=preset))
    assert ds["zero_optimization"]["stage"] == (2 if preset == "zero2" else 3)
    assert ds["zero_allow_untested_optimizer"] is True  # the Trainer's torch AdamW
    if preset != "zero2":
        assert ds["zero_optimization"]["stage3_gather_16bit_weights_on_model_save"] is True
    accel = preset_path("accelerate", preset).read_text()
    assert f"presets/deepspeed/{preset}.json" in accel
    # both are package data of mathscale.train, beside its modules
    assert preset_path("deepspeed", preset) == REPO / "mathscale" / "train" / "presets" / "deepspeed" / f"{preset}.json"


def test_fields_and_the_trainer_section_reach_training_arguments_as_they_are():
    from transformers import TrainingArguments

    from mathscale.train.sft import passed_arguments

    cfg = TrainConfig(out="o", learning_rate=1e-4, warmup_ratio=0.1, lr_scheduler="linear", seed=7,
                      trainer={"adam_beta2": 0.95, "lr_scheduler_kwargs": {"power": 2.0}})  # fmt: skip
    args = TrainingArguments(output_dir="o", **passed_arguments(cfg))  # what training_arguments adds them to
    assert (args.learning_rate, args.warmup_steps, args.lr_scheduler_type, args.seed) == (1e-4, 0.1, "linear", 7)
    assert (args.adam_beta2, args.lr_scheduler_kwargs) == (0.95, {"power": 2.0})


def test_help():
    text = train_parser().parse_args.__self__._subparsers._group_actions[0].choices["train"].format_help()
    for flag in ["--data", "--model", "--out", "--deepspeed", "--lora", "--num-processes", "--dry-run", "--resume"]:
        assert flag in text


def test_dry_run_cpu_uses_torchrun(capsys, tmp_path, tiny, samples, no_launch):
    out = tmp_path / "run"
    argv = dry_run(capsys, "--data", samples, "--model", tiny, "--out", out, "--deepspeed", "zero3",
                   "launch.device=cpu")  # fmt: skip
    from torch.distributed.run import get_args_parser

    i = argv.index("torch.distributed.run")
    parsed = get_args_parser().parse_args(argv[i + 1 :])
    assert parsed.nproc_per_node == "2" and parsed.module
    assert parsed.training_script == "mathscale.train.sft"
    assert parsed.training_script_args == [str(out.resolve() / CONFIG_NAME)]
    assert not out.exists()  # a dry run writes nothing


def test_dry_run_multi_gpu(capsys, tmp_path, tiny, samples, no_launch):
    from accelerate.commands.launch import launch_command_parser

    out = tmp_path / "run"
    argv = dry_run(capsys, "--data", samples, "--model", tiny, "--out", out, "--deepspeed", "zero3",
                   "--num-processes", "8", "launch.device=cuda")  # fmt: skip
    assert argv[:2] == ["accelerate", "launch"]
    parsed = launch_command_parser().parse_args(argv[2:])
    assert parsed.num_processes == 8 and parsed.num_machines == 1 and parsed.use_deepspeed
    assert parsed.config_file.endswith("mathscale/train/presets/accelerate/zero3.yaml")
    assert parsed.deepspeed_config_file == str(out.resolve() / "deepspeed_config.json")
    assert parsed.module and parsed.training_script == "mathscale.train.sft"


def test_dry_run_names_the_deepspeed_config_it_would_write(capsys, tmp_path, tiny, samples, no_launch):
    out = tmp_path / "run"
    assert run_train("--data", samples, "--model", tiny, "--out", out, "--deepspeed", "zero3_offload",
                     "--num-processes", "2", "launch.device=cuda", "--dry-run") == 0  # fmt: skip
    err = capsys.readouterr().err
    assert f"DeepSpeed config: {preset_path('deepspeed', 'zero3_offload')} (written to {out.resolve()}/deepspeed_config.json" in err
    assert run_train("--data", samples, "--model", tiny, "--out", out, "--deepspeed", "none", "--num-processes", "1",
                     "launch.device=cuda", "--dry-run") == 0  # fmt: skip
    assert "DeepSpeed config" not in capsys.readouterr().err


def test_dry_run_multi_node_every_node(capsys, tmp_path, tiny, samples, no_launch):
    """SLURM style: the same command on each node, with its machine rank."""
    from accelerate.commands.launch import launch_command_parser

    argv = dry_run(capsys, "--data", samples, "--model", tiny, "--out", tmp_path / "run", "--num-processes", "8",
                   "--num-machines", "2", "launch.device=cuda", "launch.machine_rank=1",
                   "launch.main_address=10.0.0.1")  # fmt: skip
    parsed = launch_command_parser().parse_args(argv[2:])
    assert (parsed.num_processes, parsed.num_machines, parsed.machine_rank) == (16, 2, 1)
    assert parsed.main_process_ip == "10.0.0.1" and parsed.main_process_port == 29500


def test_dry_run_multi_node_hostfile(capsys, tmp_path, tiny, samples, no_launch):
    from deepspeed.launcher.runner import parse_args

    hosts = tmp_path / "hosts"
    hosts.write_text("node1 slots=8\nnode2 slots=8\n")
    argv = dry_run(capsys, "--data", samples, "--model", tiny, "--out", tmp_path / "run", "--num-processes", "8",
                   "--num-machines", "2", "--hostfile", hosts, "launch.device=cuda")  # fmt: skip
    assert argv[0] == "deepspeed"
    parsed = parse_args(argv[1:])
    assert (parsed.hostfile, parsed.num_nodes, parsed.num_gpus) == (str(hosts), 2, 8)
    assert parsed.module and parsed.user_script == "mathscale.train.sft"


def test_dry_run_named_model_is_not_converted(capsys, tmp_path, samples, no_launch, monkeypatch):
    monkeypatch.setenv("MATHSCALE_CACHE", str(tmp_path / "cache"))
    argv = dry_run(capsys, "--data", samples, "--model", "smollm2-135m", "--out", tmp_path / "run",
                   "launch.device=cpu")  # fmt: skip
    assert "mathscale.train.sft" in argv and not (tmp_path / "cache").exists()


def bad(tmp_path, tiny, samples, *extra):
    return ["--data", samples, "--model", tiny, "--out", tmp_path / "run", "launch.device=cpu", *extra]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"data": "empty"}, "holds no samples"),
        ({"data": "no_solution"}, r"samples\.jsonl:2: no 'solution' field"),
        ({"data": "no_question"}, r"samples\.jsonl:1: no 'question' field"),
        ({"model": "missing"}, "no such folder, not a known model name"),
        ({"model": "no_config"}, "no config.json"),
        ({"extra": ["deepspeed_config=BAD"]}, r"bad\.json:2: DeepSpeed config is not valid JSON"),
        ({"extra": ["--num-processes", "64"]}, "--num-processes 64 but this machine has"),
        ({"extra": ["--resume"]}, "no checkpoint-\\* folder"),
        ({"extra": ["--deepspeed", "none"]}, "several processes need DeepSpeed"),
        ({"extra": ["launch.device=cuda"]}, "torch sees no GPU"),
        ({"extra": ["trainer={adam_beta3: 0.9}"]}, r"trainer\.adam_beta3: transformers\.TrainingArguments has no such field; did you mean adam_beta"),
        ({"extra": ["trainer={lr_scheduler_type: linear}"]}, r"trainer\.lr_scheduler_type: set it as lr_scheduler \(its own key\)"),
        ({"extra": ["trainer={optim: sgd}"]}, "trainer.optim: mathscale sets this TrainingArguments field itself"),
    ],
)
def test_bad_input_fails_before_launching(tmp_path, tiny, samples, no_launch, change, message):
    import torch

    if "cuda" in str(change) and torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    rows = {"empty": [], "no_solution": [{"question": "q", "solution": "s"}, {"question": "q"}],
            "no_question": [{"solution": "s"}]}  # fmt: skip
    if "data" in change:
        samples = write_samples(tmp_path / "samples.jsonl", rows[change["data"]])
    if change.get("model") == "missing":
        tiny = tmp_path / "no-such-model"
    if change.get("model") == "no_config":
        tiny = tmp_path / "empty-folder"
        tiny.mkdir()
    (tmp_path / "bad.json").write_text('{"zero_optimization":\n  {"stage": 2,}\n}')
    extra = [e.replace("BAD", str(tmp_path / "bad.json")) for e in change.get("extra", [])]
    with pytest.raises(MathscaleError, match=message):
        run_train(*bad(tmp_path, tiny, samples, *extra))
    assert not (tmp_path / "run").exists()


def test_saved_config_is_what_processes_read(tmp_path, tiny, samples, monkeypatch):
    """Without --dry-run the run's config and DeepSpeed config are written, then the command starts."""
    started = []

    class FakeProcess:
        returncode = 0

        def __init__(self, argv, env):
            started.append((argv, env))
            out = tmp_path / "run"
            (out / "train_metrics.json").write_text(json.dumps({"global_step": 1, "seconds": 1, "losses": [[1, 2.0]]}))

        def wait(self):
            return 0

    monkeypatch.setattr(subprocess, "Popen", FakeProcess)
    assert run_train("--data", samples, "--model", tiny, "--out", tmp_path / "run", "--deepspeed", "zero3",
                     "launch.device=cpu", "max_steps=3") == 0  # fmt: skip
    cfg = load_config(TrainConfig, tmp_path / "run" / CONFIG_NAME)
    assert cfg.max_steps == 3 and cfg.deepspeed == "zero3" and cfg.out == str((tmp_path / "run").resolve())
    ds = json.loads((tmp_path / "run" / "deepspeed_config.json").read_text())
    assert ds["zero_optimization"]["stage"] == 3
    (argv, env), = started
    assert argv[-1] == str(tmp_path.resolve() / "run" / CONFIG_NAME) and env["CUDA_VISIBLE_DEVICES"] == ""


def test_main_takes_a_complete_config_and_returns_what_it_did(tmp_path, tiny, samples, monkeypatch, capsys):
    """How run calls train: a TrainConfig with its paths (no argv), a TrainResult back."""
    import dataclasses

    from mathscale.train.command import TrainResult, main
    from mathscale.train.config import LaunchSettings

    class FakeProcess:
        returncode = 0

        def __init__(self, argv, env):
            (tmp_path / "run" / "train_metrics.json").write_text(
                json.dumps({"global_step": 3, "seconds": 1, "losses": [[1, 2.5], [3, 1.5]]}))  # fmt: skip

        def wait(self):
            return 0

    cfg = TrainConfig(data=str(samples), model=str(tiny), out=str(tmp_path / "run"), deepspeed="zero2",
                      launch=LaunchSettings(device="cpu"))  # fmt: skip
    planned = main(dataclasses.replace(cfg, dry_run=True))
    assert planned == TrainResult(out=(tmp_path / "run").resolve(), launch=capsys.readouterr().out.strip())
    assert "mathscale.train.sft" in planned.launch and not (tmp_path / "run").exists()
    monkeypatch.setattr(subprocess, "Popen", FakeProcess)
    done = main(cfg)
    assert (done.out, done.steps, done.final_loss, done.merged) == ((tmp_path / "run").resolve(), 3, 1.5, None)
    assert done.launch == planned.launch
    assert load_config(TrainConfig, done.out / CONFIG_NAME).dry_run is False


@pytest.mark.parametrize("nproc, machines, expected", [(1, 1, "none"), (2, 1, "zero2"), (1, 2, "zero2")])
def test_auto_deepspeed_is_none_for_one_process_and_zero2_for_several(nproc, machines, expected):
    import dataclasses

    from mathscale.train.config import LaunchSettings
    from mathscale.train.launch import resolve_deepspeed

    cfg = TrainConfig(launch=LaunchSettings(num_machines=machines))
    assert cfg.deepspeed == "auto"
    assert resolve_deepspeed(cfg, nproc).deepspeed == expected
    assert resolve_deepspeed(dataclasses.replace(cfg, deepspeed="zero3"), 1).deepspeed == "zero3"  # asked: kept
