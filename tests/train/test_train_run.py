"""Real two-process DeepSpeed runs on CPU (gloo) with a tiny random Llama model.

Each run takes 15-40 s on 2 cores (the first DeepSpeed run on a machine also compiles its
shm_comm op, ~2 min, cached in ~/.cache/torch_extensions).
"""

from __future__ import annotations

import shutil

import pytest

from mathscale.templates import format_prompt
from mathscale.train.save import read_template, saved_tensors, verify_saved_weights
from tests.support.tiny import arithmetic_samples, build_tiny_model
from tests.support.train_helpers import metrics, run_train, write_samples

pytestmark = pytest.mark.slow

FAST = ["launch.device=cpu", "logging_steps=1", "learning_rate=0.003", "per_device_batch_size=4"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return build_tiny_model(tmp_path_factory.mktemp("model") / "tiny")


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    return write_samples(tmp_path_factory.mktemp("data") / "samples.jsonl", arithmetic_samples(64))


def losses(out):
    return dict((step, loss) for step, loss in metrics(out)["losses"])


def generates(folder) -> str:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(str(folder))
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    prompt = tokenizer(format_prompt(read_template(folder) or "alpaca", "What is 3 + 4?"), return_tensors="pt")
    with torch.no_grad():
        ids = model.generate(**prompt, max_new_tokens=8, do_sample=False)
    assert ids.shape[1] > prompt["input_ids"].shape[1]
    return tokenizer.decode(ids[0, prompt["input_ids"].shape[1] :])


def test_zero2_loss_falls_resumes_and_saves(tmp_path, tiny, samples):
    out = tmp_path / "run"
    args = ["--data", samples, "--model", tiny, "--out", out, "--deepspeed", "zero2", *FAST,
            "max_steps=6", "save_steps=3"]  # fmt: skip
    assert run_train(*args) == 0
    first = losses(out)
    assert sorted(first) == [1, 2, 3, 4, 5, 6]
    assert first[6] < first[1] - 0.3
    assert read_template(out) == "alpaca"
    generates(out)

    # --resume from checkpoint-3 follows the same loss trajectory
    shutil.rmtree(out / "checkpoint-6")
    assert run_train(*args, "--resume") == 0
    resumed = metrics(out)
    assert resumed["resumed_from"].endswith("checkpoint-3")
    again = losses(out)  # steps 1-3 come from the checkpoint's history, 4-6 were trained again
    assert sorted(again) == [1, 2, 3, 4, 5, 6]
    for step in (4, 5, 6):
        assert again[step] == pytest.approx(first[step], abs=1e-3)
    assert resumed["global_step"] == 6


def test_zero3_saves_the_complete_gathered_model(tmp_path, tiny, samples):
    from transformers import AutoModelForCausalLM

    out = tmp_path / "run"
    assert run_train("--data", samples, "--model", tiny, "--out", out, "--deepspeed", "zero3", *FAST,
                     "max_steps=5", "save_steps=5") == 0  # fmt: skip
    steps = losses(out)
    assert steps[5] < steps[1] - 0.2
    original = AutoModelForCausalLM.from_pretrained(str(tiny))
    expected = {name: tuple(p.shape) for name, p in original.named_parameters()}
    assert verify_saved_weights(out, expected) == sum(p.numel() for p in original.parameters())
    reloaded = AutoModelForCausalLM.from_pretrained(str(out))
    changed = [n for n, p in reloaded.named_parameters() if not p.equal(dict(original.named_parameters())[n])]
    assert len(changed) == len(expected)  # every weight was trained and saved, none left at init
    generates(out)


def test_lora_zero3_saves_a_non_empty_adapter_and_merges(tmp_path, tiny, samples):
    out = tmp_path / "run"
    assert run_train("--data", samples, "--model", tiny, "--out", out, "--deepspeed", "zero3", "--lora", *FAST,
                     "max_steps=3", "save_steps=3", "lora_settings.merge=true") == 0  # fmt: skip
    adapter = saved_tensors(out, "adapter_model.safetensors")
    # 7 projections x 2 layers x (A, B)
    assert len(adapter) == 28 and all(k.endswith(("lora_A.weight", "lora_B.weight")) for k in adapter)
    assert not (out / "model.safetensors").exists()
    assert metrics(out)["lora"] is True
    assert read_template(out / "merged") == "alpaca"
    generates(out / "merged")


def test_packed_and_padded_batches_give_the_same_losses(tmp_path, tiny, samples):
    """Padding-free packing changes the layout, not the maths: no example sees another."""
    runs = {}
    for packing in ("true", "false"):
        out = tmp_path / packing
        assert run_train("--data", samples, "--model", tiny, "--out", out, "--deepspeed", "zero2", *FAST,
                         "max_steps=3", "save_steps=3", f"packing={packing}") == 0  # fmt: skip
        runs[packing] = losses(out)
    for step in (1, 2, 3):
        assert runs["true"][step] == pytest.approx(runs["false"][step], abs=1e-3)
    assert metrics(tmp_path / "true")["padding_efficiency"] == 1.0
    assert metrics(tmp_path / "false")["padding_efficiency"] < 1.0


def test_verify_catches_an_empty_zero3_save(tmp_path):
    import torch
    from safetensors.torch import save_file

    from mathscale.errors import MathscaleError

    save_file({"w": torch.zeros(0)}, str(tmp_path / "model.safetensors"))
    with pytest.raises(MathscaleError, match="empty"):
        verify_saved_weights(tmp_path, {"w": (4, 4)})
    save_file({"w": torch.zeros(4, 4)}, str(tmp_path / "model.safetensors"))
    with pytest.raises(MathscaleError, match="1 parameters missing"):
        verify_saved_weights(tmp_path, {"w": (4, 4), "v": (2,)})
    assert verify_saved_weights(tmp_path, {"w": (4, 4)}) == 16
