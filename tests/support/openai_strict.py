"""A local endpoint that checks every request the way OpenAI's API does (a test double).

OpenAI refuses what it does not document: an unknown or misplaced parameter is HTTP 400
``Unknown parameter: 'response_format.schema'.``, a wrong type or range is 400 naming the
parameter, ``json_object`` needs the word "json" in the messages, ``stop`` takes at most
4 strings, a strict ``json_schema`` must close every object and require every property,
and a model the server does not serve is 404. llama.cpp, vLLM and Ollama accept more;
a request this server takes is one all of them take.

>>> check_chat({"model": "m", "messages": [{"role": "user", "content": "hi"}], "top_k": 5})
(400, "Unknown parameter: 'top_k'.", 'top_k')
"""

from __future__ import annotations

import re
from typing import Any

from tests.support.fake_server import FakeServer

# The request fields OpenAI documents (API reference, chat and legacy completions).
CHAT_PARAMS = {
    "model", "messages", "audio", "frequency_penalty", "function_call", "functions", "logit_bias",
    "logprobs", "max_completion_tokens", "max_tokens", "metadata", "modalities", "n",
    "parallel_tool_calls", "prediction", "presence_penalty", "prompt_cache_key", "reasoning_effort",
    "response_format", "safety_identifier", "seed", "service_tier", "stop", "store", "stream",
    "stream_options", "temperature", "tool_choice", "tools", "top_logprobs", "top_p", "user",
    "verbosity", "web_search_options",
}  # fmt: skip
COMPLETION_PARAMS = {
    "model", "prompt", "best_of", "echo", "frequency_penalty", "logit_bias", "logprobs", "max_tokens",
    "n", "presence_penalty", "seed", "stop", "stream", "stream_options", "suffix", "temperature",
    "top_p", "user",
}  # fmt: skip
MESSAGE_KEYS = {"role", "content", "name", "tool_calls", "tool_call_id", "function_call", "refusal", "audio"}
ROLES = {"system", "developer", "user", "assistant", "tool", "function"}
_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")

Refusal = tuple[int, str, str | None]  # (status, message, param)


class _Bad(Exception):
    def __init__(self, message: str, param: str | None, status: int = 400):
        super().__init__(message)
        self.message, self.param, self.status = message, param, status


def _unknown(obj: dict[str, Any], known: set[str], where: str = "") -> None:
    for key in obj:
        if key not in known:
            raise _Bad(f"Unknown parameter: '{where}{key}'.", f"{where}{key}")


def _number(body: dict[str, Any], key: str, low: float, high: float, integer: bool = False) -> None:
    if key not in body or body[key] is None:
        return
    value = body[key]
    kind = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind):
        want = "an integer" if integer else "a number"
        raise _Bad(f"Invalid type for '{key}': expected {want}, but got {type(value).__name__} instead.", key)
    if not low <= value <= high:
        raise _Bad(f"Invalid '{key}': {value} is outside [{low:g}, {high:g}].", key)


def _common(body: dict[str, Any]) -> None:
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise _Bad("you must provide a model parameter", "model")
    _number(body, "temperature", 0, 2)
    _number(body, "top_p", 0, 1)
    _number(body, "frequency_penalty", -2, 2)
    _number(body, "presence_penalty", -2, 2)
    _number(body, "max_tokens", 1, 10**7, integer=True)
    _number(body, "max_completion_tokens", 1, 10**7, integer=True)
    _number(body, "n", 1, 128, integer=True)
    _number(body, "seed", -(2**63), 2**63 - 1, integer=True)
    stop = body.get("stop")
    if stop is not None:
        if isinstance(stop, list):
            if len(stop) > 4:
                raise _Bad(f"Invalid 'stop': array too long. Expected an array with maximum length 4, "
                           f"but got an array with length {len(stop)} instead.", "stop")  # fmt: skip
            if not all(isinstance(s, str) for s in stop):
                raise _Bad("Invalid type for 'stop[*]': expected a string.", "stop")
        elif not isinstance(stop, str):
            raise _Bad("Invalid type for 'stop': expected a string or an array of strings.", "stop")


def _messages(body: dict[str, Any]) -> list[dict[str, Any]]:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _Bad("Invalid 'messages': expected a non-empty array.", "messages")
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            raise _Bad(f"Invalid type for 'messages[{i}]': expected an object.", f"messages[{i}]")
        _unknown(message, MESSAGE_KEYS, f"messages[{i}].")
        if message.get("role") not in ROLES:
            raise _Bad(f"Invalid value: '{message.get('role')}'. Supported values are: "
                       f"{', '.join(sorted(ROLES))}.", f"messages[{i}].role")  # fmt: skip
        if not isinstance(message.get("content"), (str, list)):
            raise _Bad(f"Invalid type for 'messages[{i}].content': expected a string.", f"messages[{i}].content")
    return messages


def _strict_schema_error(schema: Any, where: str = "()") -> str | None:
    """Why OpenAI's strict mode would refuse ``schema``, or None."""
    if isinstance(schema, dict):
        if schema.get("type") == "object" or "properties" in schema:
            if schema.get("additionalProperties") is not False:
                return f"In context={where}, 'additionalProperties' is required to be supplied and to be false."
            props = schema.get("properties", {})
            missing = [k for k in props if k not in schema.get("required", [])]
            if missing:
                return (f"In context={where}, 'required' is required to be supplied and to be an array "
                        f"including every key in properties. Missing '{missing[0]}'.")  # fmt: skip
            for key, sub in props.items():
                if error := _strict_schema_error(sub, f"{where[:-1]}'properties', '{key}')"):
                    return error
        if "items" in schema:
            return _strict_schema_error(schema["items"], f"{where[:-1]}'items')")
    return None


def _response_format(body: dict[str, Any], messages: list[dict[str, Any]]) -> None:
    fmt = body.get("response_format")
    if fmt is None:
        return
    if not isinstance(fmt, dict):
        raise _Bad("Invalid type for 'response_format': expected an object.", "response_format")
    kind = fmt.get("type")
    if kind in ("text", "json_object"):
        _unknown(fmt, {"type"}, "response_format.")
    elif kind == "json_schema":
        _unknown(fmt, {"type", "json_schema"}, "response_format.")
        spec = fmt.get("json_schema")
        if not isinstance(spec, dict):
            raise _Bad("Missing required parameter: 'response_format.json_schema'.", "response_format.json_schema")
        _unknown(spec, {"name", "schema", "strict", "description"}, "response_format.json_schema.")
        name = spec.get("name")
        if not isinstance(name, str) or not _NAME.match(name):
            raise _Bad("Invalid 'response_format.json_schema.name': must match ^[a-zA-Z0-9_-]{1,64}$.",
                       "response_format.json_schema.name")  # fmt: skip
        schema = spec.get("schema")
        if schema is not None and not isinstance(schema, dict):
            raise _Bad("Invalid type for 'response_format.json_schema.schema': expected an object.",
                       "response_format.json_schema.schema")  # fmt: skip
        if spec.get("strict") is not None and not isinstance(spec["strict"], bool):
            raise _Bad("Invalid type for 'response_format.json_schema.strict': expected a boolean.",
                       "response_format.json_schema.strict")  # fmt: skip
        if spec.get("strict") and (error := _strict_schema_error(schema or {})):
            raise _Bad(f"Invalid schema for response_format '{name}': {error}", "response_format")
    else:
        raise _Bad(f"Invalid value: '{kind}'. Supported values are: 'text', 'json_object', and 'json_schema'.",
                   "response_format.type")  # fmt: skip
    if kind == "json_object" and not any("json" in str(m.get("content", "")).lower() for m in messages):
        raise _Bad("'messages' must contain the word 'json' in some form, to use 'response_format' "
                   "of type 'json_object'.", "messages")  # fmt: skip


def check_chat(body: Any) -> Refusal | None:
    """The refusal OpenAI's ``POST /v1/chat/completions`` would give ``body``, or None."""
    try:
        if not isinstance(body, dict):
            raise _Bad("We could not parse the JSON body of your request.", None)
        _unknown(body, CHAT_PARAMS)
        _common(body)
        _response_format(body, _messages(body))
    except _Bad as bad:
        return bad.status, bad.message, bad.param
    return None


def check_completion(body: Any) -> Refusal | None:
    """The refusal OpenAI's legacy ``POST /v1/completions`` would give ``body``, or None."""
    try:
        if not isinstance(body, dict):
            raise _Bad("We could not parse the JSON body of your request.", None)
        _unknown(body, COMPLETION_PARAMS)
        _common(body)
        prompt = body.get("prompt")
        if not (isinstance(prompt, str) or (isinstance(prompt, list) and all(isinstance(p, str) for p in prompt))):
            raise _Bad("Invalid type for 'prompt': expected a string or an array of strings.", "prompt")
    except _Bad as bad:
        return bad.status, bad.message, bad.param
    return None


class StrictServer(FakeServer):
    """:class:`FakeServer` refusing, like OpenAI's API, every request OpenAI would refuse.

    ``requests`` holds ``(route, body)`` of every request it accepted, ``refusals`` the
    error messages it gave.
    """

    def __init__(self, **kw: Any):
        super().__init__(**kw)
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.refusals: list[str] = []

    def check(self, path: str, request: Any) -> tuple[int, dict[str, Any]] | None:
        chat = path.endswith("/chat/completions")
        refusal = check_chat(request) if chat else check_completion(request)
        if refusal is None and request.get("model") != self.model:
            refusal = (404, f"The model '{request.get('model')}' does not exist or you do not have access to it.",
                       "model")  # fmt: skip
        if refusal is not None:
            status, message, param = refusal
            self.refusals.append(message)
            return status, {"message": message, "type": "invalid_request_error", "param": param,
                            "code": "unknown_parameter" if message.startswith("Unknown") else None}  # fmt: skip
        self.requests.append(("chat" if chat else "completions", request))
        return None
