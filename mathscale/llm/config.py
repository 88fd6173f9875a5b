"""Settings of the LLM client, shared by every command that calls a model (its ``llm:`` section)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass
class Price:
    """US dollars per million tokens."""

    prompt: float
    completion: float


def _default_prices() -> dict[str, Price]:
    # List prices per 1M tokens as published by the providers (late 2024 – 2025).
    return {
        "gpt-4o-mini": Price(0.15, 0.60),
        "gpt-4o": Price(2.50, 10.00),
        "gpt-4.1": Price(2.00, 8.00),
        "gpt-4.1-mini": Price(0.40, 1.60),
        "gpt-4.1-nano": Price(0.10, 0.40),
        "gpt-3.5-turbo": Price(0.50, 1.50),
        "gpt-4": Price(30.00, 60.00),
    }


@dataclass
class LLMConfig:
    """Where completions come from and how they are requested.

    Endpoint choice, first match wins: ``base_urls``; the ``OPENAI_BASE_URL`` environment
    variable; else the embedded llama.cpp server with ``local_model``.
    """

    base_urls: list[str] = field(default_factory=list)  # OpenAI-compatible /v1 URLs; several spread the load
    api_key_env: str = "OPENAI_API_KEY"  # name of the variable holding the key (the key itself is never stored)
    model: str = ""  # model name sent to the endpoint; empty with an endpoint: its first listed model
    local_model: str = "qwen2.5-coder-0.5b"  # embedded default: a name from `mathscale models list` or a .gguf path
    local_threads: int = 0  # llama.cpp threads; 0 = all cores
    local_context: int = 4096  # llama.cpp context window (tokens)
    concurrency: int = 16  # requests in flight at once, over all endpoints
    timeout_s: float = 120.0  # per request
    max_retries: int = 5  # retries after the first try, on 429, 5xx, timeouts, connection errors
    backoff_s: float = 1.0  # first retry delay; doubles each retry, with full jitter
    backoff_max_s: float = 60.0  # cap on one delay (a longer Retry-After is honoured up to this)
    temperature: float = 0.7
    max_tokens: int = 1024
    json_repair: bool = True  # one follow-up asking the model to fix unparsable JSON
    # How a request asks for JSON (the reply is always parsed and validated against the
    # schema by the client): "json_object" = {"type": "json_object"}, accepted by OpenAI,
    # vLLM, llama.cpp and Ollama alike (the prompts say "JSON", as OpenAI requires);
    # "json_schema" = OpenAI's structured outputs {"type": "json_schema", "json_schema":
    # {"name", "schema", "strict": true}}, the schema enforced while decoding (OpenAI
    # gpt-4o and later, vLLM >= 0.6, llama.cpp's llama-server, Ollama >= 0.5; not
    # llama-cpp-python's server); "none" = no response_format (servers that refuse both).
    # The embedded model always gets llama-cpp-python's {"type": "json_object", "schema"}.
    structured_output: Literal["json_object", "json_schema", "none"] = "json_object"
    cache: bool = True  # content-addressed response cache
    cache_path: str = ""  # sqlite file; empty = ~/.cache/mathscale/llm-cache.sqlite
    progress: bool = True  # progress bar on batches
    prices: dict[str, Price] = field(default_factory=_default_prices)
