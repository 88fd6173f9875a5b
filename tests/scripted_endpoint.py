"""A scripted OpenAI-compatible endpoint that refuses requests OpenAI would refuse.

The package's :class:`~mathscale.llm.fake_server.FakeServer` answers whatever it is sent;
this one first checks each chat request the way OpenAI's API does — unknown parameters,
wrong types, a model it does not serve, malformed messages — and answers HTTP 400 with an
OpenAI-shaped error, so a test passing against it proves the requests are well-formed.
Replies come from a script: a function of the request body.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from mathscale.llm.fake_server import FakeServer, _write

# Request body fields of POST /v1/chat/completions (OpenAI API reference).
CHAT_FIELDS = {
    "model", "messages", "temperature", "top_p", "n", "stream", "stream_options", "stop", "max_tokens",
    "max_completion_tokens", "presence_penalty", "frequency_penalty", "logit_bias", "logprobs", "top_logprobs",
    "user", "seed", "response_format", "tools", "tool_choice", "parallel_tool_calls", "service_tier", "store",
    "metadata", "modalities", "prediction", "audio", "reasoning_effort",
}  # fmt: skip
ROLES = {"system", "user", "assistant", "developer", "tool"}


def request_error(body: Any, model: str) -> str | None:
    """Why OpenAI would refuse this chat request body, or None."""
    if not isinstance(body, dict):
        return "the body must be a JSON object"
    unknown = sorted(set(body) - CHAT_FIELDS)
    if unknown:
        return f"Unrecognized request argument supplied: {', '.join(unknown)}"
    if body.get("model") != model:
        return f"The model `{body.get('model')}` does not exist"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "'messages' must be a non-empty array"
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ROLES or not isinstance(message.get("content"), str):
            return f"messages[{i}]: expected {{'role': one of {sorted(ROLES)}, 'content': string}}"
        if set(message) - {"role", "content", "name"}:
            return f"messages[{i}]: unrecognized keys {sorted(set(message) - {'role', 'content', 'name'})}"
    checks = {
        "temperature": lambda v: isinstance(v, (int, float)) and 0 <= v <= 2,
        "top_p": lambda v: isinstance(v, (int, float)) and 0 <= v <= 1,
        "max_tokens": lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 1,
        "seed": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "n": lambda v: v == 1,
        "stream": lambda v: v is False,
        "response_format": lambda v: isinstance(v, dict) and v.get("type") in ("text", "json_object", "json_schema"),
    }
    for key, ok in checks.items():
        if key in body and not ok(body[key]):
            return f"Invalid value for '{key}': {body[key]!r}"
    return None


class ScriptedEndpoint(FakeServer):
    """``FakeServer`` whose chat route validates each request before the script answers it.

    ``refused`` lists the error of every request it turned away (a test asserts it is empty).
    """

    def __init__(self, script, model: str = "scripted-model"):
        super().__init__(responder=script, model=model)
        self.refused: list[str] = []
        self.bodies: list[dict[str, Any]] = []

    async def _respond(self, method: str, path: str, body: bytes, writer: asyncio.StreamWriter) -> bool:
        if method == "POST" and path.endswith("/chat/completions"):
            try:
                parsed = json.loads(body or b"null")
            except json.JSONDecodeError:
                parsed = None
            error = request_error(parsed, self.model)
            if error is not None:
                self.refused.append(error)
                _write(writer, 400, {"error": {"message": error, "type": "invalid_request_error", "param": None,
                                               "code": None}})  # fmt: skip
                await writer.drain()
                return True
            self.bodies.append(parsed)
        return await super()._respond(method, path, body, writer)
