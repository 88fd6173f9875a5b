"""The one LLM client: every stage asks it for completions; only this package imports openai.

>>> with open_client(LLMConfig()) as llm:            # doctest: +SKIP
...     results = llm.complete_all([Request(id="q1", messages=[...], schema=SCHEMA)])
...     print(llm.usage.summary())

Names are loaded on first use, so importing ``mathscale.llm.config`` (or the CLI) does
not pull in openai.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "LLMClient": "mathscale.llm.client",
    "Request": "mathscale.llm.client",
    "Result": "mathscale.llm.client",
    "open_client": "mathscale.llm.client",
    "LLMConfig": "mathscale.llm.config",
    "Price": "mathscale.llm.config",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'mathscale.llm' has no attribute {name!r}")
