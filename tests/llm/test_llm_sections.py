r"""Tagged-section replies (the v2 generation prompts): LaTeX comes back as the model wrote it,
whatever the model writes around the headings; and requests for them ask for no JSON."""

from __future__ import annotations

import pytest

from mathscale.llm import LLMConfig, Request
from mathscale.llm.client import open_client
from mathscale.llm.jsonparse import ReplyError, has_control_chars
from mathscale.llm.sections import format_sections, parse_sections
from tests.support.openai_strict import StrictServer

QA = ("question", "solution", "answer")
SOLVE = ("solution", "answer")
ALIGN = r"""\begin{align*}
x^2 - 5x + 6 &= 0 \\
(x - 2)(x - 3) &= 0
\end{align*}"""


@pytest.mark.parametrize("reply, expected", [
    # the v2 form, LaTeX with \frac, \begin{align*} and \\ line breaks
    ("### Question\nSolve $x^2 - 5x + 6 = 0$ and give $\\frac{a}{b}$.\n\n### Solution\n" + ALIGN
     + "\nso $x = 2$ or $x = 3$.\n\n### Answer\n2, 3\n",
     {"question": "Solve $x^2 - 5x + 6 = 0$ and give $\\frac{a}{b}$.",
      "solution": ALIGN + "\nso $x = 2$ or $x = 3$.", "answer": "2, 3"}),
    # \n-looking commands (\neq, \nabla, \newline) and \t-looking ones (\theta, \times) stay literal
    ("### Question\nIf $x \\neq 0$ and $\\nabla f = \\theta \\times 2$, find $x$.\\newline Explain.\n"
     "### Solution\nSince $x \\neq 0$, divide: $\\frac{2\\theta}{x}$.\n### Answer\n$\\frac{1}{2}$",
     {"question": "If $x \\neq 0$ and $\\nabla f = \\theta \\times 2$, find $x$.\\newline Explain.",
      "solution": "Since $x \\neq 0$, divide: $\\frac{2\\theta}{x}$.", "answer": "$\\frac{1}{2}$"}),
    # a chatty preamble, ## headings, trailing spaces, lower case
    ("Sure! Here is a new question.\n\n## question  \nWhat is $3 \\cdot 4$?   \n\n## Solution\n"
     "$3 \\cdot 4 = 12$.\n\n## ANSWER \n12   \n\n",
     {"question": "What is $3 \\cdot 4$?", "solution": "$3 \\cdot 4 = 12$.", "answer": "12"}),
    # **Name:** headings, the text starting on the heading's line
    ("**Question:** What is $\\sqrt{16}$?\n\n**Solution:** $\\sqrt{16} = 4$ since $4^2 = 16$.\n\n"
     "**Answer:** 4",
     {"question": "What is $\\sqrt{16}$?", "solution": "$\\sqrt{16} = 4$ since $4^2 = 16$.", "answer": "4"}),
    ("**Question**\nHow many?\n**Solution**:\nCount: $1 + 1 = 2$.\nAnswer: **2**",
     {"question": "How many?", "solution": "Count: $1 + 1 = 2$.", "answer": "**2**"}),
    # ### and ** headings mixed in one reply (as the 0.5B teacher writes them)
    ("### Question\nFind the inverse of $27$ modulo $28$.\n\n**Solution:**\n1. **Set up**: $27x \\equiv 1 \\pmod{28}$.\n"
     "\n### Answer\n27",
     {"question": "Find the inverse of $27$ modulo $28$.", "solution": "1. **Set up**: $27x \\equiv 1 \\pmod{28}$.",
      "answer": "27"}),
    # headings that copy the prompt's placeholders
    ("### New Question\nWhat is $2 \\times 3$?\n\n**Step-by-step solution:**\n$2 \\times 3 = 6$.\n\n"
     "**Final Answer:** 6",
     {"question": "What is $2 \\times 3$?", "solution": "$2 \\times 3 = 6$.", "answer": "6"}),
    # an "Answer:" line closing the solution stays in it when ### headings are all there
    ("### Question\nWhat is $2^{10}$?\n### Solution\n$2^{10} = 1024$.\nAnswer: 1024\n### Answer\n1024",
     {"question": "What is $2^{10}$?", "solution": "$2^{10} = 1024$.\nAnswer: 1024", "answer": "1024"}),
    # "Solution 1:" and "Answer by ..." lines are text, not headings
    ("### Question\nList the roots. Answer by listing them in order.\n### Solution\nSolution 1: factor.\n"
     "### Answer\n1, 2",
     {"question": "List the roots. Answer by listing them in order.", "solution": "Solution 1: factor.",
      "answer": "1, 2"}),
    # the whole reply in a code fence
    ("```markdown\n### Question\nWhat is $\\frac{6}{3}$?\n\n### Solution\n$6 / 3 = 2$.\n\n### Answer\n2\n```",
     {"question": "What is $\\frac{6}{3}$?", "solution": "$6 / 3 = 2$.", "answer": "2"}),
    # every backslash doubled out of JSON habit: halved back
    ("### Question\nWhat is $\\\\frac{1}{2} + \\\\frac{1}{3}$ in \\\\$?\n### Solution\n$\\\\begin{aligned} a &= 1 "
     "\\\\\\\\ b &= 2 \\\\end{aligned}$\n### Answer\n\\\\frac{5}{6}",
     {"question": "What is $\\frac{1}{2} + \\frac{1}{3}$ in \\$?",
      "solution": "$\\begin{aligned} a &= 1 \\\\ b &= 2 \\end{aligned}$", "answer": "\\frac{5}{6}"}),
    # Windows line ends
    ("### Question\r\nWhat is $\\frac{4}{2}$?\r\n### Solution\r\nIt is 2.\r\n### Answer\r\n2\r\n",
     {"question": "What is $\\frac{4}{2}$?", "solution": "It is 2.", "answer": "2"}),
    # a second problem after the first: the first heading of each name wins
    ("### Question\nFirst?\n### Solution\nIt is 1.\n### Answer\n1\n\n### Question\nSecond?\n### Answer\n2",
     {"question": "First?", "solution": "It is 1.", "answer": "1"}),
    # an empty section is read as empty (the filters then drop the sample as missing_answer)
    ("### Question\nWhat is 1 + 1?\n### Solution\n1 + 1 = 2.\n### Answer\n", {"question": "What is 1 + 1?",
                                                                             "solution": "1 + 1 = 2.", "answer": ""}),
])  # fmt: skip
def test_sections_come_back_as_written(reply, expected):
    parsed = parse_sections(reply, QA)
    assert parsed == expected
    assert not any(has_control_chars(text) for text in parsed.values())


@pytest.mark.parametrize("reply, reason", [
    ("", "empty"),
    ("   \n", "empty"),
    ('{"question": "q", "solution": "s", "answer": "1"}', "no '### Question', '### Solution', '### Answer' sections"),
    ("### Question\nWhat is 2 + 2?\n### Solution\n2 + 2 = 4, so the answer", "no '### Answer' section"),
    ("### Question\nWhat is 2 + 2?\n### Answer\n4", "no '### Solution' section"),
])  # fmt: skip
def test_a_missing_section_is_a_reply_error_naming_it(reply, reason):
    with pytest.raises(ReplyError, match=reason):
        parse_sections(reply, QA)


def test_an_optional_section_may_be_missing():
    reply = "### Question\nWhat is $\\frac{1}{2} + \\frac{1}{2}$?\n### Solution\nIt is $\\boxed{1}$."
    assert parse_sections(reply, ("question", "solution"), ("answer",)) == {
        "question": "What is $\\frac{1}{2} + \\frac{1}{2}$?", "solution": "It is $\\boxed{1}$."}
    assert parse_sections(reply + "\n\n### Answer\n1", ("question", "solution"), ("answer",))["answer"] == "1"
    with pytest.raises(ReplyError, match="no '### Solution' section"):
        parse_sections("### Question\nq\n### Answer\n1", ("question", "solution"), ("answer",))


def test_format_and_parse_are_inverse():
    fields = {"solution": "We get $\\frac{1}{2}$ \\\\ and $x \\neq 2$.\n\\begin{bmatrix} 1 \\end{bmatrix}",
              "answer": "\\frac12"}
    assert parse_sections(format_sections(fields), SOLVE) == fields


def _cfg(server, llm_cache, **kw):
    return LLMConfig(base_urls=[server.base_url], cache_path=llm_cache, progress=False, backoff_s=0.01, **kw)


@pytest.mark.parametrize("mode", ["json_object", "json_schema", "none"])
def test_a_sections_request_asks_for_no_json_and_a_repair_names_the_missing_section(mode, llm_cache):
    asked = "Solve $\\frac{1}{2} + 1$.\n\n### Solution\n<steps>\n\n### Answer\n<answer>"
    request = Request(id="a", messages=[{"role": "user", "content": asked}], prompt="solve.v2", sections=SOLVE)
    replies = iter(["### Solution\n$\\frac{1}{2} + 1 = \\frac{3}{2}$",  # no answer: repaired
                    "### Solution\n$\\frac{3}{2}$\n### Answer\n\\frac{3}{2}"])
    with StrictServer(responder=lambda body: next(replies)) as server:
        with open_client(_cfg(server, llm_cache, structured_output=mode)) as llm:
            (result,) = llm.complete_all([request])
            (again,) = llm.complete_all([request])
    assert server.refusals == [] and len(server.requests) == 2  # the reply, the repair; then the cache
    assert all("response_format" not in body for _, body in server.requests)
    assert [m["content"] for m in server.requests[0][1]["messages"]] == [asked]  # no "Reply with JSON." note
    repair = server.requests[1][1]["messages"][-1]["content"]
    assert "no '### Answer' section" in repair and "### Solution, ### Answer" in repair
    assert result.ok and result.data == {"solution": "$\\frac{3}{2}$", "answer": "\\frac{3}{2}"}
    assert llm.usage.repairs == 1
    assert again.cached and again.data == result.data


def test_a_request_is_json_or_sections_not_both():
    with pytest.raises(ValueError, match="not both"):
        Request(id="a", messages=[{"role": "user", "content": "x"}], schema={"type": "object"}, sections=SOLVE)
