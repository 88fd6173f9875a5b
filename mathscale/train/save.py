"""The final save: a model ``from_pretrained`` loads, checked complete, plus what eval needs.

``<out>/`` receives the model (or, with LoRA, the adapter), the tokenizer,
``mathscale_template.json`` (the prompt template the model was trained on, which eval
should use) and ``mathscale_train.yaml`` (written by the launcher). Under ZeRO-3 the
Trainer gathers the partitioned weights into one 16-bit (or fp32 on CPU) state dict; a
known DeepSpeed failure writes tiny or empty safetensors instead, so
:func:`verify_saved_weights` reads the files back and compares every tensor's shape with
the model's full parameter shapes.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from mathscale.errors import MathscaleError
from mathscale.io import atomic_write_json
from mathscale.templates import STOP_STRINGS, TEMPLATE_FILE, TEMPLATES

log = logging.getLogger(__name__)


def full_shapes(model: Any, trainable_only: bool = False) -> dict[str, tuple[int, ...]]:
    """Parameter name -> full shape, also for ZeRO-3 partitioned parameters (``ds_shape``)."""
    shapes = {}
    for name, param in model.named_parameters():
        if trainable_only and not param.requires_grad:
            continue
        shapes[name] = tuple(getattr(param, "ds_shape", param.shape))
    return shapes


def saved_tensors(folder: Path, pattern: str = "*.safetensors") -> dict[str, tuple[int, ...]]:
    from safetensors import safe_open

    shapes: dict[str, tuple[int, ...]] = {}
    for file in sorted(folder.glob(pattern)):
        with safe_open(str(file), framework="pt") as handle:
            for key in handle.keys():
                shapes[key] = tuple(handle.get_slice(key).get_shape())
    return shapes


def verify_saved_weights(folder: Path, expected: dict[str, tuple[int, ...]], *, adapter: bool = False) -> int:
    """Raise unless ``folder`` holds a non-empty tensor of the right shape for every parameter.

    Returns the number of saved values. For an adapter, ``expected`` are the trainable
    (LoRA) parameters and names are compared by their ``lora_*`` suffix.
    """
    saved = saved_tensors(folder, "adapter_model.safetensors" if adapter else "model*.safetensors")
    if not saved:
        raise MathscaleError(f"{folder}: the save wrote no safetensors weights")
    empty = [k for k, s in saved.items() if 0 in s or not s]
    if empty:
        raise MathscaleError(f"{folder}: saved tensors are empty (a ZeRO-3 gather failure): {', '.join(empty[:5])}")
    if adapter:
        if len(saved) < len(expected):
            raise MathscaleError(f"{folder}: adapter holds {len(saved)} tensors, the model trains {len(expected)}")
        want = sorted(s for s in expected.values())
        got = sorted(s for s in saved.values())
        if want != got:
            raise MathscaleError(f"{folder}: adapter tensor shapes differ from the trained LoRA parameters")
    else:
        missing = [n for n in expected if n not in saved]
        wrong = [n for n in expected if n in saved and saved[n] != expected[n]]
        if missing or wrong:
            detail = ", ".join((missing + wrong)[:5])
            raise MathscaleError(
                f"{folder}: incomplete save ({len(missing)} parameters missing, {len(wrong)} of the wrong shape: {detail})"
            )
    total = 0
    for shape in saved.values():
        n = 1
        for dim in shape:
            n *= dim
        total += n
    return total


def write_template(out: Path, template: str) -> None:
    atomic_write_json(
        out / TEMPLATE_FILE,
        {"template": template, "prompt": TEMPLATES[template], "stop": STOP_STRINGS[template]},
    )


def read_template(folder: str | Path) -> str | None:
    """The template a mathscale-trained model was trained on (None for other models)."""
    path = Path(folder) / TEMPLATE_FILE
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))["template"]


def save_final(trainer: Any, out: Path, template: str, *, lora: bool) -> int:
    """Save model or adapter + tokenizer (all ranks must call: ZeRO-3 gathers), then verify on rank 0."""
    expected = full_shapes(trainer.model, trainable_only=lora)
    config = getattr(trainer.accelerator.unwrap_model(trainer.model), "config", None)
    if config is not None:
        config.use_cache = True  # off for training (see sft.load_model); on for generation
    trainer.save_model(str(out))
    if not trainer.is_world_process_zero():
        return 0
    if lora:
        expected = {k: v for k, v in expected.items() if "lora_" in k}
    else:
        expected = _model_keys(trainer, expected)
    saved = verify_saved_weights(out, expected, adapter=lora)
    write_template(out, template)
    log.info("saved %s with %d values to %s (verified complete)", "adapter" if lora else "model", saved, out)
    return saved


def _model_keys(trainer: Any, expected: dict[str, tuple[int, ...]]) -> dict[str, tuple[int, ...]]:
    """Map parameter names to the names save_pretrained writes (no wrapper prefixes)."""
    prefix = "module."
    return {(k[len(prefix):] if k.startswith(prefix) else k): v for k, v in expected.items()}


def merge_adapter(base_model: Path, adapter: Path, target: Path) -> Path:
    """Load the base model, merge the LoRA adapter into it and save a plain model (rank 0 only)."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    base = AutoModelForCausalLM.from_pretrained(str(base_model))
    merged = PeftModel.from_pretrained(base, str(adapter)).merge_and_unload()
    merged.save_pretrained(str(target))
    AutoTokenizer.from_pretrained(str(adapter)).save_pretrained(str(target))
    template = read_template(adapter)
    if template:
        write_template(target, template)
    verify_saved_weights(target, {k: tuple(v.shape) for k, v in merged.named_parameters()})
    return target
