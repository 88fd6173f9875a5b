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


# LaTeX written into JSON strings: (reply as the model wrote it, the text meant).
LATEX = [
    (r'{"s": "$\frac{1}{2}$"}', r"$\frac{1}{2}$"),  # \f: form feed + "rac" as plain JSON
    (r'{"s": "$\begin{bmatrix} 1 \\ 2 \end{bmatrix}$"}', r"$\begin{bmatrix} 1 \\ 2 \end{bmatrix}$"),
    (r'{"s": "$\theta \times 2 \neq \right) \sqrt{x} \left($"}', r"$\theta \times 2 \neq \right) \sqrt{x} \left($"),
    (r'{"s": "$\\frac{1}{2}$\nso $x \\neq 0$"}', "$\\frac{1}{2}$\nso $x \\neq 0$"),  # correctly escaped
    (r'{"s": "Step 1.\nu = 3;\ne^x = 1"}', "Step 1.\nu = 3;\ne^x = 1"),  # newlines before "u", "e"
    (r'{"s": "$x \ne 0$ and $\nabla f$; \text{cm}\tab"}', "$x \\ne 0$ and $\\nabla f$; \\text{cm}\tab"),
    (r'{"s": "\\{1, 2\\} \\\\ next\tcol"}', "\\{1, 2\\} \\\\ next\tcol"),  # escaped: \\\\ is one backslash pair
    (r'{"s": "a \\ b \{1\}"}', "a \\\\ b \\{1\\}"),  # raw: \\ is a LaTeX line break
    (r'{"s": "\u00e9 \underline{x}"}', "\u00e9 \\underline{x}"),
]


@pytest.mark.parametrize("reply, meant", LATEX)
def test_latex_in_json_strings_comes_back_literal(reply, meant):
    from mathscale.llm.jsonparse import has_control_chars

    parsed = parse_json_reply(reply)["s"]
    assert parsed == meant and not has_control_chars(parsed)
