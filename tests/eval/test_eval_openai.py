"""``eval --backend openai`` sends the model exactly the prompt it was trained on.

Checked on an endpoint that refuses what OpenAI's API refuses (tests/support/openai_strict.py),
and, with the embedded llama.cpp model, against the same GGUF run in-process (in a child
process, tests/support/native.py).
"""

from __future__ import annotations

import pytest

from mathscale.eval.backends import GenerationSettings, generate_openai
from mathscale.llm import LLMConfig
from mathscale.templates import STOP_STRINGS, format_prompt
from tests.support.native import llama_completions
from tests.support.openai_strict import StrictServer

QUESTIONS = ["What is 2+2?", "Simplify $\\frac{x}{2} + \\frac{x}{2}$.\nShow the steps.", 'Say "hi" {twice}.']


def _settings(server, llm_cache, template, **kw):
    llm = LLMConfig(base_urls=[server.base_url], cache_path=llm_cache, progress=False, backoff_s=0.01)
    return GenerationSettings(model="", chat=template == "chat", max_new_tokens=77, stop=STOP_STRINGS[template],
                              llm=llm, **kw)  # fmt: skip


@pytest.mark.parametrize("template", ["alpaca", "alpaca_force_ans"])
def test_raw_templates_go_to_completions_character_for_character(template, llm_cache):
    prompts = [format_prompt(template, q) for q in QUESTIONS]
    with StrictServer(responder=lambda body: " The answer is 4.\n\n### Instruction: more") as server:
        outputs = generate_openai(prompts, _settings(server, llm_cache, template))
    assert server.refusals == [] and len(server.requests) == len(prompts)
    assert sorted(body["prompt"] for _, body in server.requests) == sorted(prompts)
    for route, body in server.requests:
        assert route == "completions" and set(body) == {"model", "prompt", "temperature", "max_tokens", "stop", "seed"}
        assert body["temperature"] == 0.0 and body["max_tokens"] == 77 and body["stop"] == STOP_STRINGS[template]
    assert outputs == [" The answer is 4.\n\n"] * 3  # cut at the stop string, as hf does


def test_chat_template_goes_to_chat_completions_as_one_user_turn(llm_cache):
    with StrictServer(responder=lambda body: "4") as server:
        outputs = generate_openai(QUESTIONS, _settings(server, llm_cache, "chat"))
    assert server.refusals == [] and outputs == ["4"] * 3
    sent = sorted(body["messages"][0]["content"] for _, body in server.requests)
    assert sent == sorted(QUESTIONS)
    for route, body in server.requests:
        assert route == "chat" and len(body["messages"]) == 1 and body["messages"][0]["role"] == "user"
        assert body["temperature"] == 0.0 and "stop" not in body and "response_format" not in body


def test_more_than_four_stop_strings_are_cut_after_the_reply(llm_cache):
    stops = ["### Instruction", "### Response", "\n\n\n\n", "Q:", "Question:"]
    with StrictServer(responder=lambda body: "4. Question: next") as server:
        settings = _settings(server, llm_cache, "alpaca")
        settings.stop = stops
        (output,) = generate_openai([format_prompt("alpaca", "What is 2+2?")], settings)
    assert server.refusals == [] and server.requests[0][1]["stop"] == stops[:4] and output == "4. "


@pytest.mark.slow
def test_openai_backend_and_the_same_gguf_in_process_agree_on_greedy_output(llm_cache):
    """The embedded server (smollm2-135m) through the openai backend gives, token for token,
    what llama.cpp's own completion of the same prompt gives, greedy."""
    from mathscale.models.gguf import resolve_model

    prompts = [format_prompt("alpaca", q) for q in ("What is 12 times 7?", "Solve $x + 3 = 10$ for $x$.")]
    stop = STOP_STRINGS["alpaca"]
    llm = LLMConfig(local_model="smollm2-135m", cache_path=llm_cache, progress=False)
    settings = GenerationSettings(model="", chat=False, max_new_tokens=40, stop=stop, llm=llm)
    served = generate_openai(prompts, settings)

    direct = llama_completions(resolve_model("smollm2-135m"), prompts, n_ctx=llm.local_context, max_tokens=40, stop=stop)
    assert all(text.strip() for text in served)
    assert served == direct
