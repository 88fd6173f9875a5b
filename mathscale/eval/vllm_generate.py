"""Greedy generation with vLLM's offline engine (the ``vllm`` eval backend).

:class:`VLLMGenerator` runs the loop ``vllm.LLM.generate`` runs — every request queued at
once, then ``llm_engine.step()`` until none is unfinished — but hands each completion to
``on_result`` the moment its request finishes, so ``eval`` saves predictions as they come
and a killed run resumes with what was done. Same prompts, same engine, same scheduling:
the throughput is vLLM's own (``bench/bench_eval_vllm.py`` measures the two side by side).

It takes token ids: the ``vllm`` backend tokenizes the prompts with the model's Hugging
Face tokenizer exactly as ``hf`` does (``add_special_tokens=True``), so both backends see
the same input tokens. ``max_model_len`` is what the longest prompt plus
``max_new_tokens`` needs (capped at the model's context length, where vLLM stops a
sequence; ``hf`` would go on), which keeps the KV cache small enough for a CPU.

Outside a test, create and use it from the main module of a process started with
``python -m`` or a console script: vLLM starts its engine processes with ``spawn``,
which re-imports the parent's main module (a script needs ``if __name__ == "__main__":``).
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mathscale.templates import cut_at_stop
from mathscale.vllm_engine import context_length, dtype_name, engine_kwargs, import_vllm, on_cpu, resolve_dtype

OnResult = Callable[[int, str], None]


@dataclass
class VLLMGenerator:
    """A started vLLM engine for one model; :meth:`generate` runs any number of prompts through it."""

    engine: Any  # vllm.LLM
    start_seconds: float = 0.0  # how long the engine took to start
    settings: dict[str, Any] = field(default_factory=dict)  # the engine's keyword arguments

    @classmethod
    def load(cls, folder: str | Path, *, dtype: str, tensor_parallel: int = 1, kv_cache_gb: float = 0.0,
             eager: bool = False, max_model_len: int | None = None) -> VLLMGenerator:  # fmt: skip
        """Start vLLM on ``folder`` (``dtype`` explicit, see :func:`mathscale.vllm_engine.resolve_dtype`)."""
        import_vllm("backend 'vllm'")
        from vllm import LLM

        kwargs = engine_kwargs(folder, dtype=dtype, tensor_parallel=tensor_parallel, kv_cache_gb=kv_cache_gb,
                               eager=eager, max_model_len=max_model_len)  # fmt: skip
        started = time.perf_counter()
        engine = LLM(**kwargs)
        return cls(engine, time.perf_counter() - started, kwargs)

    def report(self) -> dict[str, Any]:
        """What metrics.json records about the engine: its dtype, devices and start-up seconds."""
        config = self.engine.llm_engine.vllm_config
        return {"engine": "vllm", "dtype": self.dtype, "start_seconds": round(self.start_seconds, 3),
                "tensor_parallel": config.parallel_config.tensor_parallel_size,
                "max_model_len": config.model_config.max_model_len}  # fmt: skip

    @property
    def dtype(self) -> str:
        """The dtype the engine runs in (vLLM's model config), e.g. ``float32``."""
        return dtype_name(self.engine.llm_engine.model_config.dtype)

    def generate(self, prompt_ids: list[list[int]], max_new_tokens: int, stop: list[str],
                 on_result: OnResult | None = None) -> list[str]:  # fmt: skip
        """Greedy completions of the tokenized prompts, in their order, each cut at its first stop string."""
        from vllm import SamplingParams

        params = SamplingParams(temperature=0.0, max_tokens=max_new_tokens, stop=stop or None)
        # The text is decoded from the tokens as hf decodes it: vLLM's incremental text holds back a
        # trailing incomplete UTF-8 sequence, which hf's batch_decode writes as U+FFFD.
        decode = functools.partial(self.engine.get_tokenizer().decode, skip_special_tokens=True)
        request_ids = self.engine.enqueue([{"prompt_token_ids": x} for x in prompt_ids], params, use_tqdm=False)
        # enqueue returns the engine's internal ids ("7-1a2b3c4d"); finished outputs carry the caller's ("7")
        index = {request_id: i for i, request_id in enumerate(request_ids)}
        index.update({request_id.rsplit("-", 1)[0]: i for i, request_id in enumerate(request_ids)})
        outputs: list[str | None] = [None] * len(prompt_ids)
        engine = self.engine.llm_engine
        try:
            while engine.has_unfinished_requests():
                for output in engine.step():
                    if output.finished and output.request_id in index:
                        i = index[output.request_id]
                        outputs[i] = cut_at_stop(decode(list(output.outputs[0].token_ids)), stop)
                        if on_result is not None:
                            on_result(i, outputs[i])
        except BaseException:  # Ctrl-C, an error in on_result: leave the engine with nothing queued
            engine.abort_request([r for i, r in enumerate(request_ids) if outputs[i] is None], internal=True)
            raise
        missing = [i for i, text in enumerate(outputs) if text is None]
        if missing:
            raise RuntimeError(f"vLLM finished without an output for {len(missing)} of {len(prompt_ids)} prompts")
        return [text or "" for text in outputs]

    def close(self) -> None:
        """Stop the engine's processes now (a second engine in the same process needs the memory)."""
        core = getattr(getattr(self.engine, "llm_engine", None), "engine_core", None)
        if core is not None:
            core.shutdown()


MIN_MODEL_LEN = 2048  # max_model_len at least this, so that one engine serves several evaluations


def needed_length(prompt_tokens: list[int], max_new_tokens: int, folder: str | Path) -> int | None:
    """``max_model_len`` for these prompts: the longest plus ``max_new_tokens`` (at least
    :data:`MIN_MODEL_LEN`), at most the model's context."""
    need = max(max(prompt_tokens, default=0) + max_new_tokens, MIN_MODEL_LEN)
    limit = context_length(folder)
    return min(need, limit) if limit else need


_shared: VLLMGenerator | None = None  # the engine shared_engine started last (one per process)


def shared_engine(folder: str | Path, *, dtype: str, tensor_parallel: int = 1, kv_cache_gb: float = 0.0,
                  max_model_len: int | None = None) -> VLLMGenerator:  # fmt: skip
    """The engine for these settings, started once per process: a second ``eval`` of the same model reuses it.

    An engine with other settings (another model, dtype or device count, or too short a
    ``max_model_len``) is stopped first: two engines do not fit beside each other on most machines.
    ``dtype`` is resolved here (``auto`` is the checkpoint's, as for ``hf``); vLLM runs eagerly
    on a CPU (compiling costs more start-up than it saves on short evaluations).
    """
    global _shared
    wanted = engine_kwargs(folder, dtype=resolve_dtype(dtype, folder), tensor_parallel=tensor_parallel,
                           kv_cache_gb=kv_cache_gb, eager=on_cpu())  # fmt: skip
    if _shared is not None:
        have = {k: v for k, v in _shared.settings.items() if k != "max_model_len"}
        if have == wanted and (not max_model_len or _shared.settings.get("max_model_len", 0) >= max_model_len):
            return _shared
        _shared.close()
        _shared = None
    import_vllm("backend 'vllm'")
    from vllm import LLM

    kwargs = {**wanted, **({"max_model_len": max_model_len} if max_model_len else {})}
    started_at = time.perf_counter()
    _shared = VLLMGenerator(LLM(**kwargs), time.perf_counter() - started_at, kwargs)
    return _shared


@contextlib.contextmanager
def started(folder: str | Path, **kwargs: Any) -> Iterator[VLLMGenerator]:
    """A :class:`VLLMGenerator` for the block (arguments as :meth:`VLLMGenerator.load`), stopped at its end."""
    generator = VLLMGenerator.load(folder, **kwargs)
    try:
        yield generator
    finally:
        generator.close()
