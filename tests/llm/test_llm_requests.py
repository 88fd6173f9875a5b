"""Requests every OpenAI-compatible server accepts: checked against an endpoint that refuses
what OpenAI's API refuses (tests/support/openai_strict.py), and against the real llama.cpp server."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from mathscale.llm import LLMConfig, Request
from mathscale.llm.cache import cache_key
from mathscale.llm.client import LLAMA_CPP_JSON, open_client, response_format
from mathscale.llm.ping_command import ANSWER_SCHEMA, ping_request, probe_modes
from tests.support.openai_strict import StrictServer, check_chat, check_completion

CHAT = {"model": "m", "messages": [{"role": "user", "content": "Reply in JSON."}]}


def _cfg(server, llm_cache, **kw):
    return LLMConfig(**{"base_urls": [server.base_url], "cache_path": llm_cache, "progress": False,
                        "backoff_s": 0.01, **kw})  # fmt: skip


@pytest.mark.parametrize(("extra", "param", "message"), [
    ({"response_format": {"type": "json_object", "schema": {"type": "object"}}}, "response_format.schema",
     "Unknown parameter: 'response_format.schema'."),
    ({"top_k": 40}, "top_k", "Unknown parameter: 'top_k'."),
    ({"stop": ["a", "b", "c", "d", "e"]}, "stop", "array too long"),
    ({"temperature": "0"}, "temperature", "Invalid type for 'temperature'"),
    ({"temperature": 3}, "temperature", "outside"),
    ({"max_tokens": 1.5}, "max_tokens", "expected an integer"),
    ({"seed": True}, "seed", "expected an integer"),
    ({"messages": [{"role": "user", "content": "hi", "extra": 1}]}, "messages[0].extra", "Unknown parameter"),
    ({"messages": [{"role": "user", "content": "hi"}], "response_format": {"type": "json_object"}}, "messages",
     "must contain the word 'json'"),
    ({"response_format": {"type": "json_schema", "json_schema": {"name": "a b", "schema": {}}}},
     "response_format.json_schema.name", "must match"),
    ({"response_format": {"type": "json_schema", "json_schema": {
        "name": "x", "strict": True, "schema": {"type": "object", "properties": {"a": {"type": "string"}}}}}},
     "response_format", "'additionalProperties' is required"),
    ({"prompt": "hi"}, "prompt", "Unknown parameter: 'prompt'."),
])  # fmt: skip
def test_the_strict_endpoint_refuses_what_openai_refuses(extra, param, message):
    status, text, where = check_chat({**CHAT, **extra})
    assert status == 400 and where == param and message in text


def test_the_strict_endpoint_checks_text_completions():
    assert check_completion({"model": "m", "prompt": "x", "max_tokens": 5, "stop": ["###"], "seed": 0}) is None
    assert check_completion({"model": "m", "messages": []})[1] == "Unknown parameter: 'messages'."
    assert "array too long" in check_completion({"model": "m", "prompt": "x", "stop": list("abcde")})[1]


def test_llama_cpp_dialect_is_refused_over_http_naming_the_parameter():
    body = {**CHAT, "response_format": response_format(LLAMA_CPP_JSON, ANSWER_SCHEMA)}
    with StrictServer(model="m") as server:
        request = urllib.request.Request(f"{server.base_url}/chat/completions", data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"})  # fmt: skip
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(request, timeout=5)
    assert caught.value.code == 400
    assert json.loads(caught.value.read())["error"]["message"] == "Unknown parameter: 'response_format.schema'."


@pytest.mark.parametrize("mode", ["json_object", "json_schema", "none"])
def test_every_mode_is_accepted_and_the_reply_validated(mode, llm_cache):
    with StrictServer() as server, open_client(_cfg(server, llm_cache, structured_output=mode)) as llm:
        results = llm.complete_all([ping_request(f"What is {i} + 2?") for i in range(1)])
    assert server.refusals == [] and all(r.ok and r.data["answer"] == "4" for r in results)
    (route, body), = server.requests
    expected = response_format(mode, ANSWER_SCHEMA, "ping/1")
    assert route == "chat" and body.get("response_format") == expected
    if mode == "json_schema":
        spec = body["response_format"]["json_schema"]
        assert spec["name"] == "ping_1" and spec["strict"] is True
        assert spec["schema"]["additionalProperties"] is False and spec["schema"]["required"] == ["solution", "answer"]


def test_json_object_without_json_in_the_messages_gets_a_note(llm_cache):
    request = Request(id="a", messages=[{"role": "user", "content": "Solve 2+2."}], schema=ANSWER_SCHEMA)
    with StrictServer() as server, open_client(_cfg(server, llm_cache)) as llm:
        (result,) = llm.complete_all([request])
    assert result.ok and server.refusals == []
    assert server.requests[0][1]["messages"][0] == {"role": "system", "content": "Reply with JSON."}


def test_strict_schema_keeps_type_unions_and_the_client_still_validates(llm_cache):
    schema = {"type": "object", "properties": {"answer": {"type": ["string", "number"], "minLength": 1},
                                               "steps": {"type": "array", "minItems": 2, "items": {"type": "string"}}},
              "required": ["answer"]}  # fmt: skip
    request = Request(id="a", messages=[{"role": "user", "content": "JSON please"}], schema=schema, prompt="t")
    replies = iter(['{"answer": 4, "steps": ["only one"]}', '{"answer": 4, "steps": ["a", "b"]}'])
    with StrictServer(responder=lambda body: next(replies)) as server:
        with open_client(_cfg(server, llm_cache, structured_output="json_schema")) as llm:
            (result,) = llm.complete_all([request])
    sent = server.requests[0][1]["response_format"]["json_schema"]["schema"]
    assert sent["properties"]["answer"] == {"type": ["string", "number"]} and sent["required"] == ["answer", "steps"]
    assert result.ok and result.data["steps"] == ["a", "b"] and llm.usage.repairs == 1  # minItems checked here


def test_text_completion_sends_the_prompt_exactly(llm_cache):
    prompt = "Below is an instruction.\n\n### Instruction:\nWhat is $\\frac{1}{2}$ of 8?\n\n### Response:"
    request = Request(id="e", messages=[], completion_prompt=prompt, seed=0,
                      params={"temperature": 0.0, "max_tokens": 64, "stop": ["### Instruction", "### Response"]})
    with StrictServer(responder=lambda body: " 4\n### Instruction") as server:
        with open_client(_cfg(server, llm_cache)) as llm:
            (result,) = llm.complete_all([request])
            (again,) = llm.complete_all([request])
    (route, body), = server.requests
    assert route == "completions" and body["prompt"] == prompt and "messages" not in body
    assert body["temperature"] == 0.0 and body["max_tokens"] == 64 and body["seed"] == 0
    assert result.ok and result.text == " 4\n### Instruction" and again.cached and again.text == result.text


def test_cache_key_of_unchanged_requests_is_unchanged(llm_cache):
    """The embedded model still gets {"type": "json_object", "schema"}: its cached answers keep hitting."""
    request = ping_request("What is 1 + 1?")
    with StrictServer() as server, open_client(_cfg(server, llm_cache)) as llm:
        llm.structured_output = LLAMA_CPP_JSON
        legacy = cache_key(model=llm.model, messages=request.messages, params=llm._params(request),
                           seed=request.seed, prompt=request.prompt, schema=request.schema)  # fmt: skip
        assert llm._key(request) == legacy
        llm.structured_output = "json_schema"
        assert llm._key(request) != legacy


def test_ping_probe_reports_each_mode(llm_cache):
    class NoSchema(StrictServer):  # a server without structured outputs, like an old vLLM
        def check(self, path, request):
            if (request.get("response_format") or {}).get("type") == "json_schema":
                return 400, {"message": "Invalid value: 'json_schema'.", "param": "response_format.type"}
            return super().check(path, request)

    with NoSchema() as server, open_client(_cfg(server, llm_cache, max_retries=0)) as llm:
        verdicts = probe_modes(llm, "What is 2 + 2?")
        assert llm.usage.requests == 0  # probes are not counted as work
    assert verdicts["json_object"] == "ok" and verdicts["none"] == "ok"
    assert verdicts["json_schema"].startswith("http_400: ") and "json_schema" in verdicts["json_schema"]


@pytest.mark.slow
def test_real_llama_cpp_server_takes_the_requests(llm_cache):
    """The embedded llama.cpp server: JSON through its own dialect and through json_object,
    json_schema refused (llama-cpp-python's server knows only "text" and "json_object"),
    and a raw-text completion."""
    with open_client(LLMConfig(local_model="smollm2-135m", cache_path=llm_cache, progress=False,
                               max_tokens=128, temperature=0.0)) as llm:  # fmt: skip
        assert llm.structured_output == LLAMA_CPP_JSON
        verdicts = probe_modes(llm, "What is 2 + 2?", ("json_object", "json_schema", "none"))
        text = Request(id="t", messages=[], completion_prompt="1, 2, 3, 4,", seed=0,
                       params={"temperature": 0.0, "max_tokens": 8, "stop": ["\n"]})
        (completion,) = llm.complete_all([text])
    # refused: llama-cpp-python's server answers 500 "Input should be 'text' or 'json_object'"
    assert verdicts["json_schema"].startswith("http_") and "json_object" in verdicts["json_schema"]
    assert not verdicts["json_object"].startswith("http_") and not verdicts["none"].startswith("http_")
    assert completion.ok and completion.text.strip() and "\n" not in completion.text


def test_ping_command_says_which_modes_the_endpoint_accepts(tmp_path, capsys):
    from mathscale import cli

    class NoSchema(StrictServer):
        def check(self, path, request):
            if (request.get("response_format") or {}).get("type") == "json_schema":
                return 400, {"message": "Invalid value: 'json_schema'.", "param": "response_format.type"}
            return super().check(path, request)

    with NoSchema() as server:
        assert cli.main(["ping", f"llm.base_urls=[{server.base_url}]", f"llm.cache_path={tmp_path}/c.sqlite",
                         "llm.progress=false", "llm.backoff_s=0.01"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "structured output json_object: accepted" in out and "structured output none: accepted" in out
    assert "structured output json_schema: refused (http_400: " in out
