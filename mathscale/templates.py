"""Prompt templates shared by training and evaluation (MWPBench's templates).

A model is fine-tuned on exactly the prompt that evaluation will send it, so the strings
live here, once. The two alpaca strings are the official MWPBench ones, character for
character; ``chat`` means the tokenizer's own chat template (the question as one user turn).

>>> format_prompt("alpaca", "1+1?").endswith("### Instruction:\\n1+1?\\n\\n### Response:")
True
>>> with_final_answer("2 + 2 = 4.", "4")
'2 + 2 = 4.\\nThe answer is 4'
"""

from __future__ import annotations

import re
import typing
from typing import Any, Literal

from mathscale.errors import MathscaleError

# The names a config may give (train's and eval's ``template``); TEMPLATES holds their strings.
TemplateName = Literal["alpaca", "alpaca_force_ans", "chat"]
TEMPLATE_NAMES: tuple[str, ...] = typing.get_args(TemplateName)
# Saved beside a trained model: the template it was trained on, which eval uses by default.
TEMPLATE_FILE = "mathscale_template.json"

_HEAD = (
    "Below is an instruction that describes a task. "
    "Write a response that appropriately completes the request.\n\n"
    "### Instruction:\n{instruction}"
)
TEMPLATES: dict[str, str | None] = {
    "alpaca": _HEAD + "\n\n### Response:",
    "alpaca_force_ans": _HEAD + "\n\nTry to conclude your response with 'The answer is ...'.\n### Response:",
    "chat": None,  # the tokenizer's own chat template
}
# Generation stops when the model starts a new turn of the template.
STOP_STRINGS: dict[str, list[str]] = {
    "alpaca": ["### Instruction", "### Response", "\n\n\n\n"],
    "alpaca_force_ans": ["### Instruction", "### Response", "\n\n\n\n"],
    "chat": [],
}

_STATES_ANSWER = re.compile(r"(the answer is|\\boxed\{|\\fbox\{)", re.IGNORECASE)


def check_template(name: str) -> str:
    if name not in TEMPLATES:
        raise MathscaleError(f"unknown template {name!r} (option template); known: {', '.join(TEMPLATES)}")
    return name


def format_prompt(template: str, question: str) -> str:
    """The prompt text; for ``chat`` the bare question (the backend or tokenizer wraps it)."""
    text = TEMPLATES[check_template(template)]
    return question if text is None else text.format(instruction=question)


def cut_at_stop(text: str, stops: list[str]) -> str:
    """Everything before the first stop string (for backends that cannot stop by string)."""
    cut = min((i for i in (text.find(s) for s in stops) if i >= 0), default=len(text))
    return text[:cut]


def with_final_answer(solution: str, answer: str) -> str:
    """The solution, ending with "The answer is {answer}" unless it already states its answer.

    Trained models then end their responses the way the graders extract answers.
    """
    solution = solution.rstrip()
    if not answer.strip() or _STATES_ANSWER.search(solution[-300:]):
        return solution
    return f"{solution}\nThe answer is {answer.strip()}"


def prompt_and_response(template: str, question: str, response: str, tokenizer: Any = None) -> tuple[str, str]:
    """Split one training example into (prompt text, response text) as the model will see them.

    For the alpaca templates the response follows the prompt after one space, like a
    completion of "### Response:". For ``chat`` the tokenizer's chat template renders the
    user turn with the generation prompt, and the assistant turn is whatever the full
    conversation adds after it (so the end-of-turn tokens are learned too).
    """
    if TEMPLATES[check_template(template)] is not None:
        return format_prompt(template, question), " " + response
    if tokenizer is None or not getattr(tokenizer, "chat_template", None):
        raise MathscaleError("template 'chat' needs a tokenizer that has a chat template; use template=alpaca")
    user = [{"role": "user", "content": question}]
    prompt = tokenizer.apply_chat_template(user, tokenize=False, add_generation_prompt=True)
    full = tokenizer.apply_chat_template(user + [{"role": "assistant", "content": response}], tokenize=False)
    if not full.startswith(prompt):
        raise MathscaleError("the tokenizer's chat template does not extend the prompt with the answer; use template=alpaca")
    return prompt, full[len(prompt):]
