"""Versioned prompt templates: ``<name>.v<N>.txt`` files, loaded with importlib.resources.

A file is system text, a line ``---``, then user text with ``{field}`` slots. The name
(``generate_qa.v1``) goes into every record the prompt produced and into the LLM cache
key, so editing a prompt means a new version, never a silent reuse of stale answers.
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
    user: str
    slots: frozenset[str]

    def messages(self, **values: str) -> list[dict[str, str]]:
        """Chat messages with every ``{slot}`` filled (other braces, as in JSON examples, stay)."""
        missing = self.slots - values.keys()
        if missing:
            raise KeyError(f"prompt {self.name}: no value for {sorted(missing)}")
        user = _SLOT.sub(lambda m: values[m.group(1)] if m.group(1) in self.slots else m.group(0), self.user)
        return [{"role": "system", "content": self.system}, {"role": "user", "content": user}]


def load_prompt(name: str, slots: tuple[str, ...]) -> Prompt:
    """The packaged prompt ``name``; it must use exactly the given ``{slots}``."""
    resource = importlib.resources.files("mathscale.prompts").joinpath(f"{name}.txt")
    try:
        text = resource.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MathscaleError(f"prompt {name!r}: no file mathscale/prompts/{name}.txt") from None
    system, sep, user = text.partition("\n---\n")
    found = frozenset(m for m in _SLOT.findall(user) if m in slots)
    if not sep or found != set(slots):
        raise MathscaleError(
            f"prompt {name!r}: expected system text, a '---' line, then user text with {{{'}, {'.join(slots)}}}"
        )
    return Prompt(name, system.strip(), user.strip(), found)
