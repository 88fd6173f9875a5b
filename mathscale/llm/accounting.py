"""Counts every request: calls, cache hits, failures by reason, tokens and cost."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from mathscale.llm.config import Price


def cost_text(cost_usd: float | None) -> str:
    """An estimated cost as every summary says it (the command's last line, the dataset card).

    >>> cost_text(0.01234), cost_text(None)
    ('$0.0123', 'unknown price (the model is not in llm.prices; add it there to get a cost)')
    """
    return "unknown price (the model is not in llm.prices; add it there to get a cost)" if cost_usd is None else f"${cost_usd:.4f}"


@dataclass
class Usage:
    """Running totals for one command; printed at its end and saved next to its outputs."""

    model: str = ""
    requests: int = 0  # results handed back (one per Request)
    succeeded: int = 0
    cache_hits: int = 0
    api_calls: int = 0  # HTTP calls made, retries and repairs included
    retries: int = 0
    repairs: int = 0  # JSON repair follow-ups sent
    failures: Counter[str] = field(default_factory=Counter)  # final failure reason -> count
    retry_reasons: Counter[str] = field(default_factory=Counter)
    prompt_tokens: int = 0  # billed: sent to the endpoint by this command
    completion_tokens: int = 0
    cached_prompt_tokens: int = 0  # what the cached answers cost when they were first asked (free now)
    cached_completion_tokens: int = 0
    price: Price | None = None

    @property
    def cost_usd(self) -> float | None:
        if self.price is None:
            return None
        return (self.prompt_tokens * self.price.prompt + self.completion_tokens * self.price.completion) / 1e6

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "requests": self.requests,
            "succeeded": self.succeeded,
            "failed": sum(self.failures.values()),
            "failures": dict(self.failures),
            "cache_hits": self.cache_hits,
            "api_calls": self.api_calls,
            "retries": self.retries,
            "retry_reasons": dict(self.retry_reasons),
            "repairs": self.repairs,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "cached_prompt_tokens": self.cached_prompt_tokens,
            "cached_completion_tokens": self.cached_completion_tokens,
            "cost_usd": self.cost_usd,
        }

    def summary(self) -> str:
        failed = sum(self.failures.values())
        reasons = ", ".join(f"{k} {v}" for k, v in self.failures.most_common()) or "none"
        return (
            f"LLM {self.model or '?'}: {self.requests} requests, {self.succeeded} ok, "
            f"{failed} failed ({reasons}); {self.cache_hits} from cache, {self.api_calls} API calls, "
            f"{self.retries} retries, {self.repairs} JSON repairs; "
            f"tokens {self.prompt_tokens} in / {self.completion_tokens} out "
            f"(from cache, not billed: {self.cached_prompt_tokens} in / {self.cached_completion_tokens} out); cost {cost_text(self.cost_usd)}"
        )
