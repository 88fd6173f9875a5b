"""Versioned prompt templates: ``<name>.v<N>.txt`` files, loaded with importlib.resources.

A file is system text, optional worked example turns (user, assistant, …), then the user
turn with ``{field}`` slots; the parts are separated by lines holding only ``---``. The
name (``generate_qa.v1``) goes into every record the prompt produced and into the LLM
cache key, so editing a prompt means a new version, never a silent reuse of stale answers.
"""

from __future__ import annotations

import importlib.resources
import re
from dataclasses import dataclass

from mathscale.errors import MathscaleError

_SLOT = re.compile(r"\{([a-z_]+)\}")


@dataclass(frozen=True)
class Prompt:
    name: str  # e.g. "generate_qa.v1"
    system: str
    examples: tuple[tuple[str, str], ...]  # (user, assistant) turns shown before the real one
    user: str
    slots: frozenset[str]

    def messages(self, **values: str) -> list[dict[str, str]]:
        """Chat messages with every ``{slot}`` filled (other braces, as in JSON examples, stay)."""
        missing = self.slots - values.keys()
        if missing:
            raise KeyError(f"prompt {self.name}: no value for {sorted(missing)}")
        user = _SLOT.sub(lambda m: values[m.group(1)] if m.group(1) in self.slots else m.group(0), self.user)
        turns = [{"role": "system", "content": self.system}]
        for asked, answered in self.examples:
            turns += [{"role": "user", "content": asked}, {"role": "assistant", "content": answered}]
        return [*turns, {"role": "user", "content": user}]


def load_prompt(name: str, slots: tuple[str, ...]) -> Prompt:
    """The packaged prompt ``name``; its last user turn must use exactly the given ``{slots}``."""
    resource = importlib.resources.files("mathscale.prompts").joinpath(f"{name}.txt")
    try:
        text = resource.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MathscaleError(f"prompt {name!r}: no file mathscale/prompts/{name}.txt") from None
    parts = [part.strip() for part in text.split("\n---\n")]
    found = frozenset(m for m in _SLOT.findall(parts[-1]) if m in slots)
    if len(parts) < 2 or len(parts) % 2 or found != set(slots):
        raise MathscaleError(
            f"prompt {name!r}: expected system text, optional example user/assistant turns, and a last user "
            f"turn with {{{'}, {'.join(slots)}}}, separated by '---' lines"
        )
    examples = tuple(zip(parts[1:-1:2], parts[2:-1:2]))
    return Prompt(name, parts[0], examples, parts[-1], found)
