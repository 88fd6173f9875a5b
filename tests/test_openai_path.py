"""The whole LLM path against an endpoint that checks requests as OpenAI's API does, with
replies full of LaTeX, half of them written with raw (unescaped) backslashes:
``graph extract`` -> ``graph build`` -> ``generate -n 40`` -> ``eval --backend openai``.

Extraction replies are JSON; generation replies are tagged sections (the default prompt,
generate_qa.v2), half of them with every backslash doubled as a model used to JSON might
write them, or JSON as the v1 prompt asks."""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

import pytest

from mathscale import cli
from mathscale.llm.jsonparse import has_control_chars
from mathscale.llm.sections import format_sections
from mathscale.templates import format_prompt
from tests.support.openai_strict import StrictServer

TOPICS = ["Algebra", "Geometry", "Trigonometry", "Linear algebra", "Fractions", "Calculus"]
KPS = [r"Adding fractions $\frac{a}{b}$", r"Square roots $\sqrt{x}$", r"Angles $\theta$ in radians",
       "Matrix products", r"Inequalities $x \neq y$", "Area of a triangle", "Derivatives of polynomials",
       r"Products $a \times b$", "Systems of equations", r"Brackets $\left( \right)$", "Pythagorean theorem",
       "Percentages", r"Determinants $\begin{vmatrix} a \end{vmatrix}$", "Limits", "Ratios"]  # fmt: skip
WORDS = ("apple river lamp garden pencil orbit maple cloud engine violin marble ticket canyon harbor lantern "
         "meadow pepper quartz saddle tunnel walnut yacht zebra bridge candle falcon glacier hammer").split()  # fmt: skip


def _raw_json(obj: dict) -> str:
    """JSON as a careless model writes it: LaTeX backslashes not doubled."""
    def string(text: str) -> str:
        return '"' + text.replace('"', '\\"').replace("\n", "\\n") + '"'

    def value(v) -> str:
        return "[" + ", ".join(string(x) for x in v) + "]" if isinstance(v, list) else string(v)

    return "{" + ", ".join(f"{string(k)}: {value(v)}" for k, v in obj.items()) + "}"


class LatexTeacher:
    """Replies for extraction, generation and evaluation, in the format each prompt asks for;
    every other one with raw backslashes (JSON) or doubled ones (tagged sections).

    ``meant`` maps each question it wrote to the (question, solution, answer) it meant.
    """

    def __init__(self) -> None:
        self.meant: dict[str, tuple[str, str, str]] = {}
        self.raw_replies = 0

    def __call__(self, body: dict) -> str:
        if "prompt" in body:  # evaluation: a raw-text completion
            return " We compute $\\frac{4}{2} = 2$, so $x = 2$.\nThe answer is 2.\n\n### Instruction: again"
        text = json.dumps(body["messages"])
        rng = random.Random(hashlib.sha256(text.encode()).digest())
        raw = rng.random() < 0.5
        tagged = "### Question" in body["messages"][-1]["content"]
        if "Name the concepts" in text:
            obj = {"topics": rng.sample(TOPICS, 2), "knowledge_points": rng.sample(KPS, 3)}
        else:
            a, b, c, d = (rng.randint(2, 99) for _ in range(4))
            words = " ".join(rng.choice(WORDS) for _ in range(10))
            question = (f"A {words} puzzle: with $\\theta = {a}^\\circ$ and $x \\neq {b}$, evaluate "
                        f"$\\left(\\frac{{{a}}}{{{b}}} \\times \\sqrt{{{c}}}\\right)$ and the matrix "
                        f"$\\begin{{bmatrix}} {a} & {d} \\\\ {c} & {b} \\end{{bmatrix}}$.")  # fmt: skip
            solution = (f"First $\\frac{{{a}}}{{{b}}} \\times \\sqrt{{{c}}}$ is computed.\n"
                        f"\\begin{{aligned}} s &= {a} + {b} \\\\ &= {a + b} \\end{{aligned}}\n"
                        f"The answer is $\\frac{{{a + b}}}{{{d}}}$.")  # fmt: skip
            answer = f"\\frac{{{a + b}}}{{{d}}}"
            self.meant[question] = (question, solution, answer)
            obj = {"question": question, "solution": solution, "answer": answer}
        self.raw_replies += raw
        if tagged:
            reply = format_sections(obj)
            return reply.replace("\\", "\\\\") if raw else reply
        return _raw_json(obj) if raw else json.dumps(obj)


@pytest.mark.parametrize("mode, prompt", [("json_object", "generate_qa.v2"), ("json_schema", "generate_qa.v2"),
                                          ("json_object", "generate_qa.v1")])  # fmt: skip
def test_extract_build_generate_eval_through_a_strict_endpoint(mode, prompt, tmp_path: Path, llm_cache):
    seeds = tmp_path / "seeds.jsonl"
    seeds.write_text("".join(json.dumps({"id": f"s{i}", "question": f"Seed {i}: simplify $\\frac{{{i}}}{{{i + 1}}}$."})
                             + "\n" for i in range(30)))  # fmt: skip
    bench = tmp_path / "bench.jsonl"
    items = [{"data_topic": "gsm8k", "question": f"What is {i} + 2 - {i}?", "answer": "2"} for i in range(3)]
    items.append({"data_topic": "MATH.Algebra", "question": "Solve $\\frac{x}{2} = 1$.", "answer": "2"})
    bench.write_text("".join(json.dumps(r) + "\n" for r in items))
    teacher = LatexTeacher()
    with StrictServer(responder=teacher) as server:
        llm = [f"llm.base_urls=[{server.base_url}]", f"llm.cache_path={llm_cache}", "llm.progress=false",
               "llm.backoff_s=0.01", f"llm.structured_output={mode}"]  # fmt: skip
        concepts, graph, samples = tmp_path / "concepts.jsonl", tmp_path / "graph.json", tmp_path / "samples.jsonl"
        assert cli.main(["graph", "extract", str(seeds), "--out", str(concepts), *llm]) == 0
        assert cli.main(["graph", "build", str(concepts), "--out", str(graph)]) == 0
        n_extraction_requests = len(server.requests)
        assert cli.main(["generate", str(graph), "-n", "40", "--out", str(samples), "dataset=false", f"prompt={prompt}",
                         *llm]) == 0  # fmt: skip
        n_generation_requests = len(server.requests)
        assert cli.main(["eval", "--backend", "openai", "--template", "alpaca", "--benchmarks", str(bench),
                         "--out", str(tmp_path / "eval"), *llm]) == 0  # fmt: skip
    assert server.refusals == []  # 0 refused requests
    def formats(requests):
        return {json.dumps(body.get("response_format", {}).get("type")) for route, body in requests if route == "chat"}

    assert formats(server.requests[:n_extraction_requests]) == {json.dumps(mode)}
    generation = formats(server.requests[n_extraction_requests:n_generation_requests])
    assert generation == ({"null"} if prompt.endswith("v2") else {json.dumps(mode)})  # sections ask for no JSON
    assert teacher.raw_replies >= 0.3 * n_generation_requests  # about half of the replies were raw

    records = [json.loads(line) for line in concepts.read_text().splitlines()]
    assert len(records) == 30
    names = [n for r in records for n in r["topics"] + r["knowledge_points"]]
    assert not any(has_control_chars(n) for n in names) and set(names) <= set(TOPICS) | set(KPS)

    produced = [json.loads(line) for line in samples.read_text().splitlines()]
    assert len(produced) == 40
    for sample in produced:
        question, solution, answer = teacher.meant[sample["question"]]
        assert (sample["solution"], sample["answer"]) == (solution, answer)  # every \frac, byte for byte
        assert not any(has_control_chars(sample[k]) for k in ("question", "solution", "answer"))
        assert sample["question"].count("\\frac") == 1 and "\\begin{bmatrix}" in sample["question"]
    drops = tmp_path / "samples.drops.jsonl"
    reasons = [json.loads(line)["reason"] for line in drops.read_text().splitlines()] if drops.exists() else []
    assert "control_characters" not in reasons and "parse" not in reasons

    eval_requests = server.requests[n_generation_requests:]
    assert sorted(body["prompt"] for route, body in eval_requests if route == "completions") == sorted(
        format_prompt("alpaca", item["question"]) for item in items
    )
    assert all(route == "completions" for route, _ in eval_requests)
    predictions = [json.loads(line) for p in (tmp_path / "eval" / "predictions").iterdir()
                   for line in p.read_text().splitlines()]  # fmt: skip
    assert len(predictions) == 4 and all(p["completion"].endswith("The answer is 2.\n\n") for p in predictions)
    assert not any(has_control_chars(p["completion"]) for p in predictions)
    assert json.loads((tmp_path / "eval" / "metrics.json").read_text())["micro"] == 1.0
