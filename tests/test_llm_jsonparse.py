from __future__ import annotations

import pytest

from mathscale.llm.jsonparse import ReplyError, parse_json_reply, validate

SCHEMA = {
    "type": "object",
    "properties": {"topics": {"type": "array", "items": {"type": "string"}, "minItems": 1}},
    "required": ["topics"],
}


@pytest.mark.parametrize(
    "text, expected",
    [
        ('{"topics": ["Algebra"]}', {"topics": ["Algebra"]}),
        ('```json\n{"topics": ["Algebra"]}\n```', {"topics": ["Algebra"]}),
        ('Here you go: {"topics": ["A", "B",],} — done.', {"topics": ["A", "B"]}),
        ('{"note": "braces } in \\"strings\\" {", "topics": []}', {"note": 'braces } in "strings" {', "topics": []}),
        ('{broken {"topics": ["Geometry"]}', {"topics": ["Geometry"]}),
    ],
)
def test_parses_wrapped_and_sloppy_json(text, expected):
    assert parse_json_reply(text) == expected


@pytest.mark.parametrize(
    "text, reason",
    [("", "empty"), ("no json here", "no JSON object"), ('{"topics": ["Alg', "incomplete or malformed")],
)
def test_unusable_replies_say_why(text, reason):
    with pytest.raises(ReplyError, match=reason):
        parse_json_reply(text)


def test_validate_names_the_field():
    validate({"topics": ["x"]}, SCHEMA)
    with pytest.raises(ReplyError, match="topics: .* should be non-empty|topics: \\[\\] is too short"):
        validate({"topics": []}, SCHEMA)
    with pytest.raises(ReplyError, match="'topics' is a required property"):
        validate({"kps": []}, SCHEMA)
