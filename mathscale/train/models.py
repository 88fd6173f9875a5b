"""Which model ``--model`` names: a local Hugging Face folder, or a named offline student.

A named model (``smollm2-135m``) is a GGUF from :mod:`mathscale.llm.models`, dequantised
once by transformers into a trainable fp32 model and cached as a Hugging Face folder under
``<cache>/hf/<name>`` (about 30 s the first time; later runs load the folder).
"""

from __future__ import annotations

import contextlib
import logging
import shutil
from pathlib import Path

from mathscale.errors import MathscaleError

log = logging.getLogger(__name__)

# name -> the GGUF name in mathscale.llm.models.LOCAL_MODELS it is converted from
TRAINABLE_MODELS: dict[str, str] = {"smollm2-135m": "smollm2-135m"}


def resolve_train_model(name_or_path: str, *, convert: bool = True) -> Path:
    """The folder to load with ``from_pretrained``; converts a named model on first use.

    With ``convert=False`` only checks the name or folder (for validation before a launch).
    """
    if not name_or_path:
        raise MathscaleError("no model given (option --model): a Hugging Face model folder or " + _known())
    if name_or_path in TRAINABLE_MODELS:
        from mathscale.llm.models import cache_root

        folder = cache_root() / "hf" / name_or_path
        if convert and not (folder / "config.json").exists():
            convert_gguf(TRAINABLE_MODELS[name_or_path], folder)
        return folder
    path = Path(name_or_path).expanduser()
    if not path.exists():
        raise MathscaleError(f"model {name_or_path!r}: no such folder and not a known model name ({_known()})")
    if not (path / "config.json").is_file():
        raise MathscaleError(f"model {path}: no config.json there; give a folder written by save_pretrained")
    return path


def _known() -> str:
    return "one of: " + ", ".join(TRAINABLE_MODELS)


def convert_gguf(gguf_name: str, folder: Path) -> Path:
    """Dequantise a named GGUF into a Hugging Face folder (model + tokenizer), atomically."""
    from mathscale.llm.models import _file_lock, resolve_model

    gguf = resolve_model(gguf_name)
    folder.parent.mkdir(parents=True, exist_ok=True)
    with _file_lock(folder.parent / f".{folder.name}.lock"):
        if (folder / "config.json").exists():
            return folder
        from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

        log.warning("converting %s to a trainable Hugging Face model in %s (once, ~30 s)", gguf, folder)
        tmp = folder.with_name(folder.name + ".partial")
        shutil.rmtree(tmp, ignore_errors=True)
        model = AutoModelForCausalLM.from_pretrained(
            str(gguf.parent), gguf_file=gguf.name, quantization_config=GgufConfig(dequantize=True)
        )
        tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(folder)
        tmp.rename(folder)
    return folder
