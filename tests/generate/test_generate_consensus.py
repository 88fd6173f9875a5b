"""Answers verified by vote, and the quality score: the tally, and ``mathscale generate`` end to end
against a scripted endpoint that validates every request and gives known conflicting solutions."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest

from mathscale.cli import main
from mathscale.generate.consensus import tally, vote_summary
from mathscale.graph.build import build_graph, save_graph
from mathscale.records import Concepts
from tests.support.fake_server import qa_fields, reply_as_asked
from tests.support.openai_strict import StrictServer, check_chat


@pytest.mark.parametrize("answers, kept, share, overturned", [
    (["8", "8", "8", "8"], "8", 1.0, False),
    (["7", "8", "8.0", "8"], "8", 0.75, True),  # the generated answer is outvoted
    (["1/2", "0.5", r"\frac{1}{2}", "50%"], "1/2", 1.0, False),  # one answer under the grader's equivalence
    (["3", "4", "5", "6"], "3", 0.25, False),  # no majority: the tie goes to the generated answer
    (["3", "4", "4", "3"], "3", 0.5, False),
    (["4", "3", "", "3"], "3", 2 / 3, True),  # a solver without an answer abstains
    (["", "5", "5", "6"], "5", 2 / 3, True),
    (["x^2+1", "1+x^2", "x^2-1", "x^2 + 1"], "x^2+1", 0.75, False),
])  # fmt: skip
def test_tally(answers, kept, share, overturned):
    vote = tally(answers)
    assert (vote.answer, vote.overturned) == (kept, overturned) and vote.share == pytest.approx(share)
    assert vote.answers[vote.winner] == kept and sum(len(g) for g in vote.groups) == sum(1 for a in answers if a)
    assert vote.to_json()["kept"] == kept and vote.to_json()["counts"] == sorted(vote.to_json()["counts"], reverse=True)


def test_tally_without_solver_answers_is_no_vote_and_a_broken_grader_is_no_crash():
    assert tally(["7", "", ""]) is None and tally(["7"]) is None

    def broken(a, b):
        raise ValueError("cannot parse")

    vote = tally(["7", "7", "8"], same=broken)  # falls back to equal strings
    assert vote.answer == "7" and vote.share == pytest.approx(2 / 3)


def test_vote_summary():
    metas = [{"vote": tally(["7", "8", "8"]).to_json()}, {"vote": tally(["8", "8", "8"]).to_json()}, {"slot": 3}]
    assert vote_summary(metas) == {"voted": 2, "overturned": 1, "mean_share": pytest.approx(0.8333, abs=1e-4),
                                   "unanimous": 1}  # fmt: skip


def test_the_endpoint_refuses_what_openai_refuses():
    good = {"model": "m", "messages": [{"role": "user", "content": "hi, reply in json"}], "temperature": 0.7, "max_tokens": 9,
            "seed": 1, "response_format": {"type": "json_object"}}  # fmt: skip
    assert check_chat(good) is None
    assert "top_k" in check_chat({**good, "top_k": 40})[1]
    assert "temperature" in check_chat({**good, "temperature": 3})[1]
    assert check_chat({**good, "messages": [{"role": "robot", "content": "x"}]}) is not None
    with StrictServer(model="scripted-model") as server:
        assert server.check("/v1/chat/completions", good)[0] == 404  # a model it does not serve


@pytest.fixture(scope="module")
def graph_path(tmp_path_factory) -> Path:
    rng = random.Random(1)
    topics, kps = [f"Topic {i}" for i in range(6)], [f"Skill {i}" for i in range(20)]
    records = [Concepts(id=str(i), question=f"Seed question {i}: how many cards are filed?",
                        topics=rng.sample(topics, 2), knowledge_points=rng.sample(kps, 3), model="m", prompt="p")
               for i in range(40)]  # fmt: skip
    graph, _ = build_graph(records)
    path = tmp_path_factory.mktemp("graph") / "graph.json"
    save_graph(graph, path)
    return path


def operands(text: str) -> tuple[int, int]:
    a, b = re.findall(r"files (\d+) cards .* then (\d+) more", text)[0]
    return int(a), int(b)


def case(a: int, b: int) -> str:
    """What the script does with a question: a fixed function of its numbers."""
    return ("agree", "wrong_key", "split", "one_dissent")[(a + b) % 4]


def make_script():
    """Generation: qa_responder's pair, with a wrong answer key on 'wrong_key' questions.
    Solving: the j-th solution of a question has the case's j-th answer. Rating: low on 'one_dissent'."""
    solved: dict[str, int] = {}

    def script(request: dict) -> str:
        text = request["messages"][-1]["content"]
        if text.startswith("Solve this problem"):
            j = solved[text] = solved.get(text, -1) + 1
            return solve(request, text, j % 3)
        return respond(request, text)

    return script


def solve(request: dict, text: str, j: int) -> str:
    a, b = operands(text)
    answer = {"agree": [a + b, a + b, f"{a + b}.0"], "wrong_key": [a + b] * 3,
              "split": [a + b + 1, a + b + 2, a + b + 3], "one_dissent": [a + b, a + b + 5, a + b]}[case(a, b)]  # fmt: skip
    return reply_as_asked(request, {"solution": f"The solver adds {a} and {b} and gets {answer[j]}.",
                                    "answer": str(answer[j])})  # fmt: skip


def respond(request: dict, text: str) -> str:
    if text.startswith("Rate the question"):
        low = case(*operands(text)) == "one_dissent"
        return json.dumps({"solvable": 2 if low else 5, "well_posed": 3 if low else 5, "self_contained": 5})
    reply = qa_fields(request)
    a, b = operands(reply["question"])
    if case(a, b) == "wrong_key":
        reply["answer"] = str(a + b + 1)
    return reply_as_asked(request, reply)


def generate(graph_path: Path, tmp_path: Path, endpoint: StrictServer, *extra: str) -> tuple[list[dict], dict, list[dict]]:
    out = tmp_path / "s.jsonl"
    assert main(["generate", str(graph_path), "-n", "16", "--out", str(out), f"llm.base_urls=[{endpoint.base_url}]",
                 f"llm.cache_path={tmp_path}/cache.sqlite", "llm.progress=false", "llm.max_retries=0",
                 "dataset=false", *extra]) == 0  # fmt: skip
    samples = [json.loads(x) for x in out.read_text().splitlines()]
    drops = [json.loads(x) for x in (tmp_path / "s.drops.jsonl").read_text().splitlines()]
    return samples, json.loads((tmp_path / "s.report.json").read_text()), drops


@pytest.mark.parametrize("version", ["v2", "v1"])
def test_vote_overturns_wrong_keys_and_drops_split_questions(graph_path, tmp_path, capsys, version):
    """The v2 prompts (tagged sections, the default), and the v1 prompts (JSON) of older runs."""
    prompts = (f"prompt=generate_qa.{version}", f"consensus.prompt=solve.{version}")
    with StrictServer(responder=make_script(), model="scripted-model") as endpoint:
        samples, report, drops = generate(graph_path, tmp_path, endpoint, "consensus.enabled=true", "consensus.k=3",
                                          *prompts)  # fmt: skip
    assert endpoint.refusals == [] and [body for _, body in endpoint.requests]
    assert len(samples) == 16
    cases = {s["id"]: case(*operands(s["question"])) for s in samples}
    assert "split" not in cases.values() and {"agree", "wrong_key", "one_dissent"} <= set(cases.values())
    for s in samples:
        a, b = operands(s["question"])
        vote = s["meta"]["vote"]
        assert s["answer"] == str(a + b) and len(vote["answers"]) == 4  # every kept answer is the right one
        if cases[s["id"]] == "wrong_key":
            assert vote["overturned"] and vote["answers"][0] == str(a + b + 1) and vote["counts"] == [3, 1]
            assert s["solution"].startswith("The solver adds")  # a solution that reaches the kept answer
        else:
            assert not vote["overturned"] and s["solution"].startswith("The collector")
        expected = {"agree": 1.0, "wrong_key": 0.75, "one_dissent": 0.75}[cases[s["id"]]]
        assert vote["share"] == s["meta"]["agreement"] == expected
    weak = [d for d in drops if d["reason"] == "weak_majority"]
    assert weak and all(d["detail"].startswith("0.25") for d in weak)
    assert report["dropped"]["weak_majority"] == len(weak)
    vote = report["consensus"]
    assert vote["voted"] == 16 and vote["overturned"] == list(cases.values()).count("wrong_key")
    assert vote["dropped_weak_majority"] == len(weak) and vote["unanimous"] == list(cases.values()).count("agree")
    assert f"vote: {vote['overturned']} of 16 answers overturned" in capsys.readouterr().out
    solves = [b for b in [body for _, body in endpoint.requests] if b["messages"][-1]["content"].startswith("Solve this problem")]
    assert len(solves) == 3 * (16 + len(weak))  # k solutions for every question that reached the vote
    formats = {json.dumps(b.get("response_format")) for b in [body for _, body in endpoint.requests]
               if not b["messages"][-1]["content"].startswith("Rate the question")}  # fmt: skip
    assert formats == ({'{"type": "json_object"}'} if version == "v1" else {"null"})  # sections ask for no JSON


def test_quality_score_drops_low_rated_questions(graph_path, tmp_path):
    with StrictServer(responder=make_script(), model="scripted-model") as endpoint:
        samples, report, drops = generate(graph_path, tmp_path, endpoint, "quality.enabled=true")
    assert endpoint.refusals == [] and len(samples) == 16
    assert all(case(*operands(s["question"])) != "one_dissent" and s["meta"]["quality"] == 1.0 for s in samples)
    low = [d for d in drops if d["reason"] == "low_quality"]
    assert low and report["dropped"]["low_quality"] == len(low) and all(d["detail"] == "0.67" for d in low)
    assert "rate_question.v1" in report["prompts"] and "consensus" not in report
    # the report's diversity of the compositions used, at N/8, N/4, N/2, N
    used = report["diversity"]["compositions"]
    assert [r["n"] for r in used] == [2, 4, 8, 16] and len(report["diversity"]["hubs"]) == 6
    for row in used:
        first = samples[: row["n"]]
        assert row["topics"] == len({t for s in first for t in s["topics"]})
        assert row["kps"] == len({k for s in first for k in s["knowledge_points"]})


@pytest.mark.slow
def test_real_vote_with_the_embedded_model(graph_path, tmp_path):
    out = tmp_path / "s.jsonl"
    assert main(["generate", str(graph_path), "-n", "1", "--out", str(out), f"llm.cache_path={tmp_path}/c.sqlite",
                 "llm.progress=false", "max_tokens=300", "dataset=false", "consensus.enabled=true", "consensus.k=2",
                 "consensus.threshold=0", "max_attempts=3"]) == 0  # fmt: skip
    report = json.loads((tmp_path / "s.report.json").read_text())
    samples = [json.loads(x) for x in out.read_text().splitlines()]
    assert report["llm"]["model"] == "qwen2.5-coder-0.5b" and report["consensus"]["voted"] == len(samples)
    assert report["llm"]["requests"] >= 3 * len(samples)  # the question and two solutions of each
    for s in samples:
        vote = s["meta"]["vote"]
        assert len(vote["answers"]) == 3 and s["answer"] == vote["kept"] and sum(vote["counts"]) >= 2


@pytest.mark.parametrize(
    "answers,groups",
    [
        (["x \\geq 5", "[5, \\infty)", "5 \\le x"], 1),  # the fast path: a relation and its interval
        (["\\operatorname{lcm}(4,6)", "12", "12"], 1),  # math-verify: the fast path cannot read lcm
        (["\\operatorname{lcm}(4,6)", "24", "12"], 2),
        (["(a,b)=(5,1)", "(5,1)", "(1,5)"], 2),
    ],
)
def test_the_vote_groups_answers_as_the_grader_does(answers, groups):
    from mathscale.eval.grader import grade

    vote = tally(answers)
    assert len(vote.groups) == groups
    for group in vote.groups:  # every merge is a verdict the grader gives too
        for i in group:
            assert grade(f"So $\\boxed{{{answers[i]}}}$.", answers[group[0]]).correct
