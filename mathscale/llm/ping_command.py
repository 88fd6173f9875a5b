"""``mathscale ping``: one real JSON completion, to check an endpoint, its key and its JSON mode.

After the answer it asks the same question once per other ``llm.structured_output``
mode and says which modes the endpoint accepts (an OpenAI-style server refuses what it
does not support with HTTP 400), so a user sees at once which setting to use.
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass
from typing import Any

from mathscale.errors import MathscaleError
from mathscale.io import atomic_write_json, check_output_path
from mathscale.llm.accounting import Usage
from mathscale.llm.client import LLMClient, Request, open_client
from mathscale.llm.config import PingConfig

MODES = ("json_object", "json_schema", "none")

ANSWER_SCHEMA = {
    "type": "object",
    "properties": {"solution": {"type": "string"}, "answer": {"type": "string"}},
    "required": ["solution", "answer"],
}


def ping_request(question: str) -> Request:
    return Request(
        id="ping",
        prompt="ping/1",
        schema=ANSWER_SCHEMA,
        seed=0,
        params={"temperature": 0.0, "max_tokens": 256},
        messages=[
            {"role": "system", "content": "You are a careful math teacher. Reply with JSON only."},
            {"role": "user", "content": (
                f"Solve this problem.\n\nProblem: {question}\n\n"
                'Reply with one JSON object: {"solution": "<short step-by-step solution>", "answer": "<final answer>"}'
            )},
        ],
    )  # fmt: skip


def probe_modes(llm: LLMClient, question: str, modes: tuple[str, ...] = MODES) -> dict[str, str]:
    """For each structured-output mode: "ok", or why the endpoint's reply was not usable.

    The accounting of these calls is left out of ``llm.usage``; a refused mode is retried
    at most once (llama-cpp-python's server refuses with HTTP 500, which is retryable).
    """
    saved_mode, saved_usage, saved_cfg = llm.structured_output, llm.usage, llm.cfg
    llm.cfg = dataclasses.replace(saved_cfg, max_retries=min(saved_cfg.max_retries, 1))
    verdicts: dict[str, str] = {}
    try:
        for mode in modes:
            llm.structured_output = mode
            llm.usage = Usage(model=saved_usage.model, price=saved_usage.price)
            (result,) = llm.complete_all([ping_request(question)], desc=f"ping {mode}")
            verdicts[mode] = "ok" if result.ok else f"{result.error}: {result.detail}"[:200]
    finally:
        llm.structured_output, llm.usage, llm.cfg = saved_mode, saved_usage, saved_cfg
    return verdicts


def describe(verdict: str) -> str:
    """A probe's verdict in words: the endpoint refused the mode, or took it (and the reply was usable or not)."""
    if verdict == "ok":
        return "accepted"
    if verdict.startswith(("http_", "bad_response", "timeout", "connection")):
        return f"refused ({verdict})"
    return f"accepted, but this reply was not usable ({verdict})"


@dataclass(frozen=True)
class PingResult:
    answer: dict[str, Any]  # the parsed JSON reply
    modes: dict[str, str]  # structured-output mode -> "ok" or why the endpoint's reply was not usable
    cached: bool


def main(cfg: PingConfig) -> PingResult:
    if cfg.usage_out:
        check_output_path(cfg.usage_out)
    started = time.perf_counter()
    with open_client(cfg.llm) as llm:
        print(f"model {llm.model} at {', '.join(llm.base_urls)}")
        (result,) = llm.complete_all([ping_request(cfg.question)], desc="ping")
        print(llm.usage.summary())
        if cfg.usage_out:
            atomic_write_json(cfg.usage_out, llm.usage.to_json())
        verdicts = {llm.structured_output: "ok" if result.ok else f"{result.error}: {result.detail}"[:200]}
        verdicts.update(probe_modes(llm, cfg.question, tuple(m for m in MODES if m not in verdicts)))
        for mode, verdict in verdicts.items():
            print(f"structured output {mode}: {describe(verdict)}")
    if not result.ok:
        raise MathscaleError(f"the model did not give a usable answer ({result.error}: {result.detail})")
    print(json.dumps(result.data, indent=2, ensure_ascii=False))
    print(f"ok in {time.perf_counter() - started:.1f} s{' (from cache)' if result.cached else ''}")
    return PingResult(answer=result.data, modes=verdicts, cached=result.cached)
