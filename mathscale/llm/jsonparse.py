"""Tolerant parsing of JSON that language models write, and validation against a schema.

Models wrap JSON in code fences, add a sentence before or after it, leave trailing
commas or stop mid-object. :func:`parse_json_reply` finds the first complete JSON
object in the text, and :func:`validate` checks it against a JSON schema.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

import jsonschema

_TRAILING_COMMA = re.compile(r",\s*([}\]])")


class ReplyError(ValueError):
    """The reply holds no usable JSON object; the message says why (for the repair prompt)."""


def parse_json_reply(text: str) -> Any:
    """Return the first JSON object in ``text``.

    >>> parse_json_reply('Sure! ```json\\n{"a": [1, 2,],}\\n``` Hope it helps.')
    {'a': [1, 2]}
    """
    if not text or not text.strip():
        raise ReplyError("the reply is empty")
    decoder = json.JSONDecoder()
    start = text.find("{")
    if start < 0:
        raise ReplyError("the reply contains no JSON object")
    while start >= 0:
        candidate = _balanced_object(text, start)
        if candidate is not None:
            for attempt in (candidate, _TRAILING_COMMA.sub(r"\1", candidate)):
                try:
                    return decoder.decode(attempt)
                except json.JSONDecodeError:
                    pass
        start = text.find("{", start + 1)
    raise ReplyError("the JSON object in the reply is incomplete or malformed")


def _balanced_object(text: str, start: int) -> str | None:
    """The substring from ``start`` to its matching ``}`` (strings respected), or None."""
    depth = 0
    in_string = escaped = False
    for i in range(start, len(text)):
        ch = text[i]
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return text[start : i + 1]
    return None


def validate(data: Any, schema: dict[str, Any]) -> None:
    """Raise ReplyError naming the first field that breaks ``schema``."""
    validator = _validator(json.dumps(schema, sort_keys=True))
    if validator.is_valid(data):  # the fast path: building error objects is slow
        return
    error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    where = "/".join(str(p) for p in error.absolute_path) or "the object"
    raise ReplyError(f"{where}: {error.message}")


@functools.lru_cache(maxsize=64)
def _validator(schema_json: str) -> Any:
    schema = json.loads(schema_json)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)
