"""Usage that adds up: every invocation's LLM usage kept, with a total over all of them.

``SAMPLES.usage.json`` (and the merge's) holds ``{"schema": "usage/2", "invocations":
[...], "total": {...}}``: one entry per command invocation (a first run, each resume,
each shard of a merge), in order, and their sum. Counters add; failures and retry
reasons add per reason; tokens served from the cache are counted apart
(``cached_prompt_tokens``, ``cached_completion_tokens``) and cost nothing; the total cost
is known only when every invocation's is (else ``null``: "unknown price").
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

from mathscale.io import atomic_write_json

SCHEMA = "usage/2"
_COUNTS = ("requests", "succeeded", "failed", "cache_hits", "api_calls", "retries", "repairs",
           "prompt_tokens", "completion_tokens", "cached_prompt_tokens", "cached_completion_tokens")  # fmt: skip


def invocations(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The invocations in a usage file's content (an older single-invocation file is one)."""
    if not data:
        return []
    if data.get("schema") == SCHEMA:
        return list(data.get("invocations") or [])
    return [data]


def total(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """The sum of several invocations' usage."""
    out: dict[str, Any] = {k: sum(int(e.get(k) or 0) for e in entries) for k in _COUNTS}
    for key in ("failures", "retry_reasons"):
        summed: Counter[str] = Counter()
        for e in entries:
            summed.update(e.get(key) or {})
        out[key] = dict(summed.most_common())
    models = list(dict.fromkeys(e.get("model") or "" for e in entries if e.get("model")))
    out["model"] = ", ".join(models)
    costs = [e.get("cost_usd") for e in entries if e.get("requests") or e.get("cost_usd") is not None]
    out["cost_usd"] = None if any(c is None for c in costs) else round(sum(costs), 6)
    out["invocations"] = len(entries)
    return out


def usage_file(entries: list[dict[str, Any]]) -> dict[str, Any]:
    return {"schema": SCHEMA, "invocations": entries, "total": total(entries)}


def read_usage(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def append_invocation(path: Path, usage: dict[str, Any]) -> dict[str, Any]:
    """Add one invocation's usage to ``path`` (written atomically); returns the file's content."""
    data = usage_file([*invocations(read_usage(path)), usage])
    atomic_write_json(path, data)
    return data


class InvocationLog:
    """This invocation's entry in a usage file, kept current while requests complete.

    The entry is written when the log opens and rewritten at most every ``every_s`` seconds
    by :meth:`tick` (the client calls it after each request) and by :meth:`write` at the
    end, so a run killed even by SIGKILL has its requests counted, up to the last second.

    >>> log = InvocationLog(Path("s.usage.json"), llm.usage.to_json)   # doctest: +SKIP
    >>> llm.on_account = log.tick
    """

    def __init__(self, path: Path, usage: Any, every_s: float = 1.0):
        self.path, self.usage, self.every_s = path, usage, every_s
        self._before = invocations(read_usage(path))  # the earlier invocations, kept as they are
        self._last = 0.0
        self.write()

    def tick(self) -> None:
        if time.monotonic() - self._last >= self.every_s:
            self.write()

    def write(self) -> dict[str, Any]:
        self._last = time.monotonic()
        data = usage_file([*self._before, self.usage()])
        atomic_write_json(self.path, data)
        return data


def add_usage(paths: list[Path], extra: list[dict[str, Any]] = ()) -> dict[str, Any]:
    """One usage file's content for several (the shards of a merge, then ``extra`` invocations)."""
    entries = []
    for path in paths:
        for entry in invocations(read_usage(path)):
            entries.append({**entry, "source": str(path)})
    return usage_file([*entries, *extra])
