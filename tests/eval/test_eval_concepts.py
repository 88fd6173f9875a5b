"""Per-concept accuracy: benchmark questions mapped to concepts as seeds are; the weakest in results.md."""

from __future__ import annotations

import json

from mathscale import cli
from mathscale.eval.concepts import concept_scores

ITEMS = [  # question, reference, completion, concepts reply
    ("What is 2+3?", "5", "The answer is 5.", {"topics": ["Arithmetic"], "knowledge_points": ["Addition"]}),
    ("What is 7+8?", "15", "The answer is 14.", {"topics": ["arithmetic"], "knowledge_points": ["Addition", "Carrying"]}),
    ("Solve 2x=6.", "3", "So x = \\boxed{3}.", {"topics": ["Algebra"], "knowledge_points": ["Linear equations"]}),
    ("Solve 3x=12.", "4", "So x = \\boxed{5}.", {"topics": ["Algebra"], "knowledge_points": ["linear equation"]}),
    ("Area of a circle of radius 1?", "\\pi", "\\boxed{\\pi}", None),  # the teacher's reply is not JSON
]


def _responder(request: dict) -> str:
    messages = request.get("messages") or [{"content": request.get("prompt", "")}]
    text = "\n".join(m["content"] for m in messages)
    for question, _, completion, concepts in ITEMS:
        if question in text:
            if "experienced math teacher" in text:  # the extraction prompt
                return json.dumps(concepts) if concepts else "I would rather not say."
            return completion
    return "?"


def test_concept_scores_fold_names_and_sort_weakest_first():
    scores = concept_scores([(["Algebra"], ["Linear equations", "linear equation"], False), (["algebra"], ["Graphs"], True)])
    assert [(s.name, s.size, s.correct) for s in scores["topics"]] == [("Algebra", 2, 1)]
    assert [(s.name, s.size) for s in scores["knowledge_points"]] == [("Linear equations", 1), ("Graphs", 1)]


def test_eval_reports_accuracy_per_concept_end_to_end(tmp_path, capsys, llm_cache):
    from tests.support.fake_server import FakeServer

    bench = tmp_path / "bench.jsonl"
    bench.write_text("".join(json.dumps({"data_topic": "gsm8k", "id": f"q{i}", "question": q, "answer": a}) + "\n"
                             for i, (q, a, _, _) in enumerate(ITEMS)))  # fmt: skip
    out = tmp_path / "run"
    with FakeServer(responder=_responder) as server:
        rc = cli.main(["eval", "--backend", "openai", "--benchmarks", str(bench), "--out", str(out),
                       f"llm.base_urls=[{server.base_url}]", f"llm.cache_path={llm_cache}", "llm.progress=false",
                       "concepts=true", "concepts_min_items=1", f"concept_extraction.llm.base_urls=[{server.base_url}]",
                       f"concept_extraction.llm.cache_path={llm_cache}", "concept_extraction.llm.progress=false",
                       "concept_extraction.llm.max_retries=0"])  # fmt: skip
    assert rc == 0, capsys.readouterr().err
    concepts = json.loads((out / "metrics.json").read_text())["concepts"]
    assert concepts["mapped"] == 4 and sum(concepts["unmapped"].values()) == 1
    topics = {t["name"]: (t["size"], t["correct"]) for t in concepts["topics"]}
    assert topics == {"Arithmetic": (2, 1), "Algebra": (2, 1)}
    kps = [(k["name"], k["size"], k["correct"]) for k in concepts["knowledge_points"]]
    assert kps == [("Carrying", 1, 0), ("Addition", 2, 1), ("Linear equations", 2, 1)]  # weakest first
    results = (out / "results.md").read_text()
    assert "## Weakest concepts (mathscale grader" in results and "4 of 5" in results
    assert results.index("| Carrying | 1 | 0 | 0.0 |") < results.index("| Addition | 2 | 1 | 50.0 |")
    import csv

    from mathscale.graph.focus import COLUMNS, read_concepts_csv, wilson_interval

    with open(out / "concepts.csv", newline="") as handle:
        table = list(csv.reader(handle))
    assert tuple(table[0]) == COLUMNS
    rows = {(r.concept, r.kind): (r.items, r.correct) for r in read_concepts_csv(out / "concepts.csv")}
    assert rows == {("Arithmetic", "topic"): (2, 1), ("Algebra", "topic"): (2, 1), ("Carrying", "kp"): (1, 0),
                    ("Addition", "kp"): (2, 1), ("Linear equations", "kp"): (2, 1)}  # fmt: skip
    carrying = next(r for r in table if r[0] == "Carrying")
    lo, hi = wilson_interval(0, 1)
    assert carrying[4:] == ["0.0000", f"{lo:.4f}", f"{hi:.4f}"] and 0.7 < hi < 0.85  # one item: the bound stays high
