"""The one LLM client: every stage asks it for completions; only this package imports openai.

>>> with open_client(LLMConfig()) as llm:            # doctest: +SKIP
...     results = llm.complete_all([Request(id="q1", messages=[...], schema=SCHEMA)])
...     print(llm.usage.summary())
"""

from mathscale.llm.client import LLMClient, Request, Result, open_client
from mathscale.llm.config import LLMConfig, Price

__all__ = ["LLMClient", "LLMConfig", "Price", "Request", "Result", "open_client"]
