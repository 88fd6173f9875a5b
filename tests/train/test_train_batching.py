"""Issue 15: micro-batches by tokens, packed attention that never builds the dense mask on a GPU,
and the loss without whole-row logits.

The packed-equals-unpacked checks run for every attention implementation ``auto`` can pick:
sdpa on CPU; flex_attention and flash_attention_2 (when flash-attn is installed) on a GPU
(marked ``gpu``, skipped without one). flex_attention also runs here on CPU, forward only
(torch 2.13 has no flex backward on CPU, so auto never picks it there): that checks the block
mask transformers builds from packed position_ids without a GPU.
"""

from __future__ import annotations

import importlib.util
import shutil

import pytest

from mathscale.errors import MathscaleError
from mathscale.train.batching import (
    DEFAULT_GPU_TOKENS,
    GroupCollator,
    TokenBatches,
    group_by_tokens,
    resolve_max_tokens,
)
from mathscale.train.data import Example, make_collator, tokenize_example
from tests.support.tiny import arithmetic_samples, build_tokenizer


@pytest.fixture(scope="module")
def tokenizer():
    return build_tokenizer()


@pytest.fixture(scope="module")
def rows(tokenizer):
    samples = arithmetic_samples(40, seed=3)
    return [tokenize_example(Example(s["question"], s["solution"]), tokenizer, "alpaca", 512) for s in samples]


def has_cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def test_groups_hold_every_example_once_within_the_budget():
    lengths = [5, 300, 17, 250, 90, 90, 512, 1, 64, 400] * 7
    groups = group_by_tokens(lengths, 1024, seed=0)
    assert sorted(i for g in groups for i in g) == list(range(len(lengths)))
    assert all(sum(lengths[i] for i in g) <= 1024 for g in groups)
    # greedy: a group closes only when the next example would not fit
    order = [i for g in groups for i in g]
    for g, nxt in zip(groups, groups[1:]):
        assert sum(lengths[i] for i in g) + lengths[nxt[0]] > 1024
    assert group_by_tokens(lengths, 1024, seed=0) == groups
    assert [i for g in group_by_tokens(lengths, 1024, seed=1) for i in g] != order  # the seed sets the order


def test_a_budget_below_the_longest_example_is_refused():
    with pytest.raises(MathscaleError, match="max_tokens_per_batch=100 is below the longest example"):
        group_by_tokens([50, 120], 100, seed=0)


@pytest.mark.parametrize(
    "setting, cuda, packing, expected",
    [(-1, True, True, DEFAULT_GPU_TOKENS), (-1, False, True, 0), (-1, True, False, 0), (0, True, True, 0),
     (4096, False, True, 4096)],
)  # fmt: skip
def test_auto_budget_is_16k_on_a_gpu_and_examples_on_cpu(setting, cuda, packing, expected):
    assert resolve_max_tokens(setting, cuda, packing) == expected


def test_a_budget_without_packing_is_refused():
    with pytest.raises(MathscaleError, match="needs packing=true"):
        resolve_max_tokens(2048, cuda=True, packing=False)


def test_token_batches_give_the_rows_the_example_collator_gives(tokenizer, rows):
    import datasets
    import torch

    dataset = datasets.Dataset.from_list(rows)
    lengths = [len(r["input_ids"]) for r in rows]
    groups = group_by_tokens(lengths, 256, seed=0)
    inner = make_collator(tokenizer, packing=True)
    batches = TokenBatches(dataset, groups)
    collate = GroupCollator(inner)
    assert len(batches) == len(groups)
    for i, group in enumerate(groups):
        got = collate([batches[i]])
        want = inner([rows[j] for j in group])
        assert set(got) == set(want)
        for key in want:
            assert torch.equal(got[key], want[key])
        assert got["input_ids"].shape[1] == sum(lengths[j] for j in group) <= 256


# (device, attention) pairs: None is auto's pick on CPU, the model's default (sdpa)
AUTO_CHOICES = [("cpu", None), ("cuda", "flex_attention"), ("cuda", "flash_attention_2")]


def attention_choices() -> list:
    """Every implementation resolve_attention('auto', ...) can return, with the device it needs; and flex on CPU."""
    choices = [pytest.param(device, attention, marks=[pytest.mark.gpu] if device == "cuda" else [],
                            id=f"{device}-{attention or 'auto-sdpa'}") for device, attention in AUTO_CHOICES]  # fmt: skip
    return choices + [pytest.param("cpu", "flex_attention", id="cpu-flex_attention-forward")]


@pytest.mark.parametrize("flash_installed", [True, False])
def test_the_packed_loss_test_covers_every_auto_attention(monkeypatch, flash_installed):
    """What auto resolves to, on CPU and on a GPU with and without flash-attn, is in AUTO_CHOICES."""
    from mathscale.train import sft

    real = importlib.util.find_spec
    monkeypatch.setattr(sft.importlib.util, "find_spec",
                        lambda name, *a: (object() if flash_installed else None) if name == "flash_attn" else real(name, *a))  # fmt: skip
    assert ("cpu", sft.resolve_attention("auto", cuda=False)) in AUTO_CHOICES
    assert ("cuda", sft.resolve_attention("auto", cuda=True)) in AUTO_CHOICES


@pytest.mark.parametrize("device, attention", attention_choices())
def test_packed_loss_equals_unpacked_loss_for_each_auto_attention(tmp_path, tokenizer, rows, device, attention):
    """One packed row of several examples gives the loss of the examples run one by one."""
    import torch
    from torch._inductor.cpp_builder import get_cpp_compiler

    from mathscale.train.config import TrainConfig
    from mathscale.train.sft import load_model, resolve_attention
    from tests.support.tiny import build_tiny_model

    cuda = device == "cuda"
    if cuda and not has_cuda():
        pytest.skip("needs a CUDA device")
    if attention == "flash_attention_2" and importlib.util.find_spec("flash_attn") is None:
        pytest.skip("flash-attn is not installed (auto then picks flex_attention)")
    cpu_flex = not cuda and attention == "flex_attention"
    if cpu_flex and shutil.which(get_cpp_compiler()) is None:
        pytest.skip("flex_attention on CPU compiles its kernel with a C++ compiler; none found")
    if attention is None:
        assert resolve_attention("auto", cuda=False) is None  # the model's default: sdpa
    # fp32 on CPU; bf16 on a GPU, as training runs (flash-attn has no fp32 kernels)
    cfg = TrainConfig(attn_implementation=attention or "auto", precision="fp32" if not cuda else "bf16")
    # hidden 256 with 4 heads: head size 64, a size every GPU kernel has (the tiny default's 16 is not,
    # for flex_attention under inductor on a GPU)
    folder = build_tiny_model(tmp_path / "tiny", hidden=256)
    model = load_model(folder, cfg, cuda=cuda).to(device).eval()
    assert (attention or "sdpa") == model.config._attn_implementation
    # On CPU flex_attention compiles a kernel per sequence length (20-30 s each): the examples alone,
    # which need no document mask, run with the model's default attention there
    alone_model = load_model(folder, TrainConfig(precision="fp32"), cuda=False).eval() if cpu_flex else model
    picked = rows[:6]
    batch = {k: v.to(device) for k, v in make_collator(tokenizer, packing=True)(picked).items()}
    total, count = 0.0, 0
    with torch.no_grad():
        packed = float(model(**batch).loss)
        for row in picked:
            labels = torch.tensor([row["labels"]], device=device)
            alone = alone_model(input_ids=torch.tensor([row["input_ids"]], device=device), labels=labels).loss
            n = int((labels[0, 1:] != -100).sum())
            total, count = total + float(alone) * n, count + n
    tolerance = 1e-4 if not cuda else 2e-2  # bf16 rounding differs between one row and separate rows
    assert packed == pytest.approx(total / count, rel=tolerance, abs=tolerance)
    if cuda:  # bf16 makes the loss check coarse: the logits of the packed row must also be closer to
        # the separate runs' than those of the same row without position_ids (one long causal sequence)
        with torch.no_grad():
            ids, positions = batch["input_ids"], batch["position_ids"]
            packed_logits = model(input_ids=ids, position_ids=positions).logits[0].float()
            leaky_logits = model(input_ids=ids).logits[0].float()
            start, gaps = len(picked[0]["input_ids"]), {"packed": 0.0, "leaky": 0.0}
            for row in picked[1:]:
                alone = model(input_ids=torch.tensor([row["input_ids"]], device=device)).logits[0].float()
                end = start + len(row["input_ids"])
                gaps["packed"] = max(gaps["packed"], float((packed_logits[start:end] - alone).abs().max()))
                gaps["leaky"] = max(gaps["leaky"], float((leaky_logits[start:end] - alone).abs().max()))
                start = end
        assert gaps["packed"] < gaps["leaky"] / 2, gaps


def test_chunked_loss_and_gradients_equal_the_models_own(tmp_path, tokenizer, rows):
    """fused_loss=chunked: the same loss and the same gradients, with a chunk smaller than the row."""
    import torch

    from mathscale.train.loss import chunked_lm_loss
    from tests.support.tiny import build_tiny_model
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(build_tiny_model(tmp_path / "tiny")), dtype=torch.float32)
    model.config.use_cache = False
    batch = make_collator(tokenizer, packing=True)(rows[:8])
    reference = model(**batch).loss
    reference.backward()
    want = {n: p.grad.clone() for n, p in model.named_parameters()}
    model.zero_grad()
    loss = chunked_lm_loss(model, batch, chunk=37)
    loss.backward()
    assert float(loss) == pytest.approx(float(reference), rel=1e-6)
    for name, param in model.named_parameters():
        assert torch.allclose(param.grad, want[name], rtol=1e-4, atol=1e-7), name
    # with the Trainer's count of label tokens over an accumulated step: a sum over that count
    items = int((batch["labels"][:, 1:] != -100).sum()) * 3
    model.zero_grad()
    assert float(chunked_lm_loss(model, batch, items, chunk=50)) == pytest.approx(float(reference) / 3, rel=1e-6)


@pytest.mark.gpu
def test_liger_loss_equals_the_models_own_on_a_packed_row(tmp_path, tokenizer, rows):
    """fused_loss=liger (what auto picks on a GPU with liger-kernel): same loss on a packed row."""

    if not has_cuda():
        pytest.skip("needs a CUDA device")
    if importlib.util.find_spec("liger_kernel") is None:
        pytest.skip("liger-kernel is not installed")
    from transformers.integrations.liger import apply_liger_kernel

    from mathscale.train.config import TrainConfig
    from mathscale.train.sft import load_model
    from tests.support.tiny import build_tiny_model

    folder = build_tiny_model(tmp_path / "tiny")
    batch = {k: v.cuda() for k, v in make_collator(tokenizer, packing=True)(rows[:8]).items()}
    losses = []
    for liger in (False, True):
        model = load_model(folder, TrainConfig(precision="fp32"), cuda=True).cuda().float()
        if liger:
            apply_liger_kernel(model, {})
        loss = model(**batch).loss
        loss.backward()
        losses.append(float(loss))
    assert losses[1] == pytest.approx(losses[0], rel=1e-4)
