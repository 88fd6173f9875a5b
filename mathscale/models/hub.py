"""Which model (or benchmark dataset) a name means, and the folder that holds it.

One resolver for every place a model is named (``train --model``, ``eval --model``, a run's
``base_model``) and for benchmark datasets named by hub id:

- a local folder written by ``save_pretrained`` (it must hold ``config.json``);
- a named offline model (``smollm2-135m``, ``qwen2.5-coder-0.5b``): a GGUF from :mod:`mathscale.models.gguf`,
  dequantised once by transformers into a Hugging Face folder under ``<cache>/hf/<name>``;
- a Hugging Face hub id, ``org/name`` or ``org/name@revision`` (a branch, tag or commit):
  resolved as transformers does, through huggingface_hub's own cache code. The local hub
  cache comes first (``HF_HOME``, ``HF_HUB_CACHE``); only when the snapshot is not there,
  and ``HF_HUB_OFFLINE`` is not set, is it downloaded. An id that is neither cached nor
  reachable is a :class:`MathscaleError` naming the id and what to do.

huggingface_hub reads ``HF_HOME``, ``HF_HUB_CACHE`` and ``HF_HUB_OFFLINE`` once, when it is
first imported: set them before the command starts.

>>> model_folder("mistralai/Mistral-7B-v0.1@main")  # doctest: +SKIP
PosixPath('/root/.cache/huggingface/hub/models--mistralai--Mistral-7B-v0.1/snapshots/<commit>')
"""

from __future__ import annotations

import contextlib
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from mathscale.errors import MathscaleError

log = logging.getLogger(__name__)

# name -> the GGUF name in mathscale.models.gguf.LOCAL_MODELS it is converted from
# (the default teacher too, so that vLLM can serve it: llm.local_engine=vllm)
TRAINABLE_MODELS: dict[str, str] = {"smollm2-135m": "smollm2-135m", "qwen2.5-coder-0.5b": "qwen2.5-coder-0.5b"}

# What a model snapshot needs for from_pretrained: configs, tokenizer files, weights. Not the
# duplicate formats many repos also hold (``*.bin`` beside ``*.safetensors``, ``original/``
# checkpoints for other frameworks), which can double a 7B download.
MODEL_FILES = ["*.json", "*.safetensors", "*.model", "*.tiktoken", "*.txt", "*.jinja"]
FALLBACK_WEIGHTS = ["*.bin"]  # older repos have no safetensors

RepoType = Literal["model", "dataset"]


@dataclass(frozen=True)
class HubId:
    """``org/name`` with an optional revision (branch, tag or commit), on the hub's ``repo_type``."""

    repo_id: str
    revision: str | None = None
    repo_type: RepoType = "model"

    def __str__(self) -> str:
        return self.repo_id + (f"@{self.revision}" if self.revision else "")

    def download_command(self) -> str:
        parts = ["hf", "download", self.repo_id]
        if self.repo_type != "model":
            parts += ["--repo-type", self.repo_type]
        if self.revision:
            parts += ["--revision", self.revision]
        return " ".join(parts)


def parse_hub_id(text: str, repo_type: RepoType = "model") -> HubId | None:
    """``org/name`` or ``org/name@revision`` as a :class:`HubId`; None when ``text`` is not one.

    The syntax check is huggingface_hub's own (``validate_repo_id``); a bare ``name`` without
    an organisation is not taken as an id here (a typo of a local folder would go to the hub).
    """
    repo_id, sep, revision = text.partition("@")
    if repo_id.count("/") != 1 or (sep and not revision):
        return None
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    try:
        validate_repo_id(repo_id)
    except HFValidationError:
        return None
    return HubId(repo_id, revision or None, repo_type)


def hub_cache_dir() -> Path:
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def hub_offline() -> bool:
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE)


def cached_snapshot(hub: HubId, required: str | None = None) -> Path | None:
    """The snapshot folder of ``hub`` in the local cache, or None; never touches the network.

    ``required`` names a file the snapshot must hold (``config.json`` for a model): a snapshot
    that lacks it (only a tokenizer was fetched, say) does not count as cached.
    """
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        folder = Path(snapshot_download(hub.repo_id, revision=hub.revision, repo_type=hub.repo_type,
                                        local_files_only=True))  # fmt: skip
    except LocalEntryNotFoundError:  # also IncompleteSnapshotError: files missing from the snapshot
        return None
    if required and not (folder / required).is_file():
        return None
    return folder


def fetch_snapshot(hub: HubId, required: str | None = None) -> Path:
    """The cached snapshot of ``hub``, downloaded first when it is not cached; clear errors otherwise."""
    cached = cached_snapshot(hub, required)
    if cached is not None:
        return cached
    what = "model" if hub.repo_type == "model" else "dataset"
    todo = (f"download it where the hub is reachable with `{hub.download_command()}` and point HF_HOME (or "
            f"HF_HUB_CACHE) at that cache")  # fmt: skip
    if hub_offline():
        raise MathscaleError(f"{what} {hub}: not in the Hugging Face cache ({hub_cache_dir()}) and HF_HUB_OFFLINE "
                             f"is set, so it cannot be downloaded; {todo}, or unset HF_HUB_OFFLINE")  # fmt: skip
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import GatedRepoError, HfHubHTTPError, LocalEntryNotFoundError, RepositoryNotFoundError
    from huggingface_hub.errors import RevisionNotFoundError

    log.warning("%s %s is not cached; downloading it into %s", what, hub, hub_cache_dir())
    patterns = MODEL_FILES if hub.repo_type == "model" else None
    try:
        folder = Path(snapshot_download(hub.repo_id, revision=hub.revision, repo_type=hub.repo_type,
                                        allow_patterns=patterns))  # fmt: skip
        if hub.repo_type == "model" and not any(folder.glob("*.safetensors")):
            folder = Path(snapshot_download(hub.repo_id, revision=hub.revision, allow_patterns=FALLBACK_WEIGHTS))
    except RevisionNotFoundError:
        raise MathscaleError(f"{what} {hub}: the hub has no revision {hub.revision!r} of {hub.repo_id}") from None
    except (RepositoryNotFoundError, GatedRepoError) as exc:
        raise MathscaleError(f"{what} {hub}: the hub refuses it ({type(exc).__name__}): check the id, or accept its "
                             f"licence on the hub and log in with `hf auth login`") from None  # fmt: skip
    except (LocalEntryNotFoundError, HfHubHTTPError, OSError) as exc:
        reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise MathscaleError(f"{what} {hub}: not in the Hugging Face cache ({hub_cache_dir()}) and the hub cannot be "
                             f"reached ({reason}); {todo}") from None  # fmt: skip
    if required and not (folder / required).is_file():
        raise MathscaleError(f"{what} {hub}: the snapshot has no {required}; is this a transformers model?")
    return folder


@dataclass(frozen=True)
class ModelRef:
    """What a model name means: ``kind`` is ``folder``, ``named`` or ``hub``."""

    text: str
    kind: Literal["folder", "named", "hub"]
    path: Path | None = None  # folder: the folder; named: where its converted folder lives
    hub: HubId | None = None


def parse_model(text: str) -> ModelRef:
    """Classify a model name by its syntax and the local disk only (no conversion, no network)."""
    if not text:
        raise MathscaleError("no model given (option --model): a Hugging Face model folder, a hub id (org/name) "
                             "or " + _known())  # fmt: skip
    if text in TRAINABLE_MODELS:
        from mathscale.models.gguf import cache_root

        return ModelRef(text, "named", cache_root() / "hf" / text)
    path = Path(text).expanduser()
    if path.exists():
        if not (path / "config.json").is_file():
            raise MathscaleError(f"model {path}: no config.json there; give a folder written by save_pretrained")
        return ModelRef(text, "folder", path)
    hub = None if text.startswith((".", "/", "~")) else parse_hub_id(text)
    if hub is None:
        raise MathscaleError(f"model {text!r}: no such folder, not a known model name ({_known()}) and not a "
                             f"Hugging Face hub id (org/name or org/name@revision)")  # fmt: skip
    return ModelRef(text, "hub", hub=hub)


def model_folder(text: str) -> Path:
    """The folder to load with ``from_pretrained``: converts a named model and downloads a hub
    model when needed (and allowed); raises MathscaleError when it cannot be had."""
    ref = parse_model(text)
    if ref.kind == "folder":
        return ref.path
    if ref.kind == "named":
        if not (ref.path / "config.json").exists():
            convert_gguf(TRAINABLE_MODELS[text], ref.path)
        return ref.path
    return fetch_snapshot(ref.hub, required="config.json")


def local_model_folder(text: str) -> Path | None:
    """The model's folder when it is already on disk (converted, cached), else None; never fetches."""
    ref = parse_model(text)
    if ref.kind == "hub":
        return cached_snapshot(ref.hub, required="config.json")
    return ref.path if (ref.path / "config.json").exists() else None


def check_model(text: str) -> Path | None:
    """Fail now, before any work, when the model cannot be had; its folder when already on disk.

    None means it is fetched (converted or downloaded) when loaded.
    """
    ref = parse_model(text)
    local = local_model_folder(text)
    if local is None and ref.kind == "hub" and hub_offline():
        fetch_snapshot(ref.hub, required="config.json")  # raises: not cached and offline
    return local


def describe_model(text: str) -> str:
    """One line for a dry run: what the name means and whether a real run can load it."""
    ref = parse_model(text)
    if ref.kind == "folder":
        return f"model {text}: local folder {ref.path.resolve()}"
    if ref.kind == "named":
        state = "converted" if (ref.path / "config.json").exists() else "converted from its GGUF on first use"
        return f"model {text}: named offline model, {state} ({ref.path})"
    cached = cached_snapshot(ref.hub, required="config.json")
    if cached is not None:
        return f"model {text}: Hugging Face hub id, cached at {cached}"
    if hub_offline():
        return (f"model {text}: Hugging Face hub id, NOT in the local cache ({hub_cache_dir()}) and HF_HUB_OFFLINE is "
                f"set: a real run fails until it is cached (`{ref.hub.download_command()}` where the hub is "
                f"reachable, then set HF_HOME to that cache) or HF_HUB_OFFLINE is unset")  # fmt: skip
    return f"model {text}: Hugging Face hub id, not cached yet; a real run downloads it into {hub_cache_dir()}"


def _known() -> str:
    return "one of: " + ", ".join(TRAINABLE_MODELS)


def convert_gguf(gguf_name: str, folder: Path) -> Path:
    """Dequantise a named GGUF into a Hugging Face folder (model + tokenizer), atomically.

    About 30 s the first time; later runs load the folder.
    """
    from mathscale.models.gguf import file_lock, resolve_model

    gguf = resolve_model(gguf_name)
    folder.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(folder.parent / f".{folder.name}.lock"):
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
