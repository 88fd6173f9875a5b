from __future__ import annotations

import json

import pytest

from mathscale.graph.extract import (
    SCHEMA, ConceptError, Failure, check_seeds, clean_names, concepts_from_data, extract_concepts, extract_request,
    load_prompt,
)  # fmt: skip
from mathscale.llm.config import LLMConfig
from mathscale.llm.jsonparse import ReplyError, parse_json_reply
from mathscale.records import Concepts, Seed

GOOD = {"topics": ["Arithmetic"], "knowledge_points": ["Addition", "Place value"]}


def concepts_from_reply(text: str) -> tuple[list[str], list[str]]:
    """A raw model reply (wrapped in prose or fences, trailing commas …) read as the client and extract read it."""
    return concepts_from_data(parse_json_reply(text))


@pytest.mark.parametrize("text", [
    json.dumps(GOOD),
    "Sure! Here are the concepts:\n```json\n" + json.dumps(GOOD) + "\n```\nHope this helps.",
    '{"topics": ["Arithmetic",], "knowledge_points": ["Addition", "Place value",],}',
    '{"topics": ["Arithmetic"], "knowledge_points": ["Addition", "Place value"], "difficulty": "easy"}',
    '{"topics": [" Arithmetic "], "knowledge_points": ["Addition.", "addition", "Place  value"]}',
])  # fmt: skip
def test_replies_that_parse(text):
    assert concepts_from_reply(text) == (["Arithmetic"], ["Addition", "Place value"])


@pytest.mark.parametrize("text, message", [
    ("", "empty"),
    ("I think this is about addition.", "no JSON object"),
    ('{"topics": ["Arithmetic"], "knowledge_points": ["Addi', "incomplete or malformed"),  # cut off
    ('{"topics": "Arithmetic", "knowledge_points": ["Addition"]}', "topics: 'Arithmetic' is not of type 'array'"),
    ('{"topics": ["A", "B", "C"], "knowledge_points": ["x"]}', "topics: .* is too long"),
    ('{"topics": ["A"], "knowledge_points": []}', "knowledge_points: .* should be non-empty"),
    ('{"topics": ["A"]}', "'knowledge_points' is a required property"),
    ('["A", "x"]', "no JSON object"),
])  # fmt: skip
def test_replies_that_fail(text, message):
    with pytest.raises(ReplyError, match=message):
        concepts_from_reply(text)


def test_blank_names_are_a_counted_reason():
    with pytest.raises(ConceptError) as info:
        concepts_from_reply('{"topics": ["  ", "."], "knowledge_points": ["x"]}')
    assert info.value.reason == "empty_topics"


def test_clean_names_limit_and_order():
    assert clean_names(["b", "a", "B", "c"], 2) == ["b", "a"]


@pytest.mark.parametrize("name", ["extract_concepts.v1", "extract_concepts.v2"])
def test_prompt_is_versioned_and_fills_the_question(name):
    template = load_prompt(name)
    request = extract_request(Seed(id="q1", question="  What is {x} + 2?  "), template, {"temperature": 0.0})
    assert request.prompt == name and request.schema == SCHEMA and request.id == "q1"
    roles = [m["role"] for m in request.messages]
    assert roles[0] == "system" and roles[-1] == "user" and roles[1:-1] == ["user", "assistant"] * len(template.examples)
    for _, answer in template.examples:  # the worked examples obey the schema they teach
        concepts_from_reply(answer)
    assert "Question: What is {x} + 2?\n" in request.messages[-1]["content"]


def test_v2_is_open_vocabulary_and_its_examples_follow_its_rules():
    import re

    from mathscale.graph.normalize import generic_reason

    template = load_prompt("extract_concepts.v2")
    text = "\n".join([template.system, template.user, *(t for turn in template.examples for t in turn)])
    assert "such as" not in text and len(template.examples) >= 1  # no closed list of names; worked examples instead
    banned = re.findall(r'"([^"]+)"', template.user.split("Rules:")[1])
    assert banned and all(generic_reason(name) == "generic" for name in banned)  # what it forbids, build drops
    for _, answer in template.examples:
        topics, kps = concepts_from_reply(answer)
        assert not any(generic_reason(n) for n in topics + kps) and len(kps) >= 3  # shows the granularity asked


def test_unknown_prompt():
    from mathscale.errors import MathscaleError

    with pytest.raises(MathscaleError, match="no file mathscale/prompts/nope.v9.txt"):
        load_prompt("nope.v9")


def test_check_seeds_counts_bad_lines():
    items = [
        ("s.jsonl:1", {"id": "a", "question": "1+1?"}),
        ("s.jsonl:2", {"id": "b"}),  # no question
        ("s.jsonl:3", {"id": "c", "question": "   "}),  # blank question
        ("s.jsonl:4", {"id": "a", "question": "again?"}),  # repeated id
        ("s.jsonl:5", [1, 2]),  # not an object
        ("s.jsonl:6", {"id": 7, "question": "2+2?", "data_topic": "gsm8k"}),  # numeric id, MWPBench field
        ("s.jsonl:7", {"id": "done", "question": "3+3?"}),  # already extracted
    ]
    out = list(check_seeds(items, skip={"done"}))
    seeds = [x for x in out if isinstance(x, Seed)]
    failures = [x for x in out if isinstance(x, Failure)]
    assert [s.id for s in seeds] == ["a", "7"]
    assert [(f.where, f.reason) for f in failures] == [
        ("s.jsonl:2", "bad_seed"), ("s.jsonl:3", "bad_seed"), ("s.jsonl:4", "duplicate_id"), ("s.jsonl:5", "bad_seed"),
    ]  # fmt: skip
    assert "s.jsonl:2: field 'question': required field is missing" in failures[0].detail


def scripted_responder(request):
    """Replies chosen by the question: good, wrapped, hopeless, too many topics, blank names."""
    question = request["messages"][-1]["content"] if request["messages"][-1]["role"] == "user" else ""
    if "hopeless" in question or "could not be used" in question:
        return "I am not sure."
    if "wrapped" in question:
        return "Here you go:\n```json\n" + json.dumps(GOOD) + "\n```"
    if "blank" in question:
        return '{"topics": [" "], "knowledge_points": ["x"]}'
    return json.dumps(GOOD)


def test_extraction_through_an_endpoint_accounts_for_every_seed(tmp_path):
    from mathscale.llm.client import open_client
    from tests.support.fake_server import FakeServer

    seeds = [Seed(id=f"q{i}", question=q) for i, q in enumerate(["plain 1+1", "wrapped 2+2", "hopeless", "blank 3+3"])]
    cfg = LLMConfig(cache_path=str(tmp_path / "c.sqlite"), progress=False, max_retries=0)
    with FakeServer(responder=scripted_responder, model="fake") as server:
        cfg.base_urls = [server.base_url]
        with open_client(cfg) as llm:
            out = list(extract_concepts(seeds, llm, load_prompt("extract_concepts.v1"), {"temperature": 0.0}))
            usage = llm.usage
    records = {x.id: x for x in out if isinstance(x, Concepts)}
    failures = {x.id: x.reason for x in out if isinstance(x, Failure)}
    assert set(records) == {"q0", "q1"} and failures == {"q2": "parse", "q3": "empty_topics"}
    assert records["q1"].topics == ["Arithmetic"] and records["q1"].model == "fake"
    assert records["q1"].prompt == "extract_concepts.v1" and records["q1"].question == "wrapped 2+2"
    assert usage.requests == 4 and usage.repairs == 1


@pytest.mark.slow
def test_extraction_through_the_embedded_model(tmp_path):
    """Real calls to a real (tiny) model: every seed ends as a valid record or a counted failure."""
    from mathscale.llm.client import open_client

    seeds = [Seed(id="a", question="Tom has 3 apples and buys 5 more. How many apples does he have?"),
             Seed(id="b", question="Solve for x: 2x + 6 = 14."),
             Seed(id="c", question="What is the area of a circle with radius 3?")]  # fmt: skip
    cfg = LLMConfig(local_model="smollm2-135m", cache_path=str(tmp_path / "c.sqlite"), progress=False)
    with open_client(cfg) as llm:
        out = list(extract_concepts(seeds, llm, load_prompt("extract_concepts.v1"), {"temperature": 0.0, "max_tokens": 128}))
        usage = llm.usage
    assert sorted(x.id for x in out) == ["a", "b", "c"]  # each seed accounted for once
    assert usage.api_calls >= 3 and usage.completion_tokens > 0  # real calls were made
    assert usage.requests == 3 and usage.succeeded + sum(usage.failures.values()) == 3
    for item in out:
        if isinstance(item, Concepts):
            again = Concepts.from_json(json.loads(json.dumps(item.to_json())))
            assert 1 <= len(again.topics) <= 2 and 1 <= len(again.knowledge_points) <= 5
            assert all(n.strip() for n in again.topics + again.knowledge_points)
        else:
            assert item.reason  # counted with a reason
