"""Prompt templates of the MWPBench driver (DESIGN.md, "MWPBench"), plus the model's chat template.

The two alpaca strings are the official ones, character for character, so scores are
comparable with published numbers. ``chat`` sends the bare question as one user turn and
lets the backend apply the model's own chat template.

>>> format_prompt("alpaca", "1+1?").endswith("### Instruction:\\n1+1?\\n\\n### Response:")
True
"""

from __future__ import annotations

from mathscale.errors import MathscaleError

_HEAD = (
    "Below is an instruction that describes a task. "
    "Write a response that appropriately completes the request.\n\n"
    "### Instruction:\n{instruction}"
)
TEMPLATES: dict[str, str | None] = {
    "alpaca": _HEAD + "\n\n### Response:",
    "alpaca_force_ans": _HEAD + "\n\nTry to conclude your response with 'The answer is ...'.\n### Response:",
    "chat": None,  # the model's own chat template, applied by the backend
}
# Generation stops when the model starts a new turn of the template.
STOP_STRINGS: dict[str, list[str]] = {
    "alpaca": ["### Instruction", "### Response", "\n\n\n\n"],
    "alpaca_force_ans": ["### Instruction", "### Response", "\n\n\n\n"],
    "chat": [],
}


def check_template(name: str) -> str:
    if name not in TEMPLATES:
        raise MathscaleError(f"unknown template {name!r} (option template); known: {', '.join(TEMPLATES)}")
    return name


def format_prompt(template: str, question: str) -> str:
    """The prompt text; for ``chat`` the bare question (the backend wraps it)."""
    text = TEMPLATES[check_template(template)]
    return question if text is None else text.format(instruction=question)


def cut_at_stop(text: str, stops: list[str]) -> str:
    """Everything before the first stop string (backends that cannot stop by string)."""
    cut = min((i for i in (text.find(s) for s in stops) if i >= 0), default=len(text))
    return text[:cut]
