"""The canonical MWPBench suite: tasks present and missing, the official cap, stop strings, overlap, scores."""

from __future__ import annotations

import json


from mathscale import cli
from mathscale.eval.benchmarks import task_from_json
from mathscale.eval.metrics import official_metrics
from mathscale.eval.suite import MWPBENCH_TASKS, OFFICIAL_CAP, OFFICIAL_STOP, select_suite


def _task(topic: str, i: int, question: str | None = None, answer: str = "1"):
    row = {"id": f"{topic}-{i}", "data_topic": topic, "question": question or f"{topic} question {i}?", "answer": answer}
    return task_from_json(row, f"bench.jsonl:{i}", topic)


def test_official_metrics_follow_the_driver_arithmetic():
    verdicts = [("gsm8k", True), ("MATH.Algebra", True), ("gsm8k", False), ("MATH.Geometry", False), ("tal", True),
                ("college_math.algebra", True), ("MATH.Algebra", True), ("gsm8k", True), ("college_math.algebra", False)]  # fmt: skip
    m = official_metrics(verdicts)
    # By hand, in the driver's order: top-level tasks as they first appear, then MATH, then college_math.
    gsm8k, tal = 2 / 3, 1 / 1
    math = 0
    math += 2 / 3 * (2 / 2)  # MATH.Algebra: 2 of 3 MATH items, accuracy 1
    math += 1 / 3 * (0 / 1)  # MATH.Geometry
    college = 0
    college += 2 / 2 * (1 / 2)
    micro = 0
    for size, acc in ((3, gsm8k), (1, tal), (3, math), (2, college)):
        micro += size / 9 * acc
    macro = (gsm8k + tal + math + college) / 4
    assert list(m) == ["gsm8k", "tal", "MATH", "college_math", "micro_average_accuracy", "macro_average_accuracy"]
    assert m["MATH"]["accuracy"] == math and m["MATH"]["test_size"] == 3
    assert m["MATH"]["subset_metric"]["MATH.Geometry"] == {"accuracy": 0.0, "test_size": 1}
    assert m["micro_average_accuracy"] == micro and m["macro_average_accuracy"] == macro  # float for float


def test_official_macro_counts_absent_math_groups_as_zero():
    m = official_metrics([("gsm8k", True), ("gsm8k", True)])
    assert m["MATH"] == {"accuracy": 0, "test_size": 0, "subset_metric": {}}
    assert m["macro_average_accuracy"] == 1 / 3 and m["micro_average_accuracy"] == 1.0


def test_select_suite_caps_reports_missing_and_outside_topics():
    tasks = [_task("gsm8k", i) for i in range(5)] + [_task("MATH.Algebra", i) for i in range(3)]
    tasks += [_task("math500", i) for i in range(4)] + [_task("tal", 0)]
    sel = select_suite(tasks, "mwpbench", cap=2)
    assert [t.item.id for t in sel.tasks] == ["gsm8k-0", "gsm8k-1", "MATH.Algebra-0", "MATH.Algebra-1", "tal-0"]
    assert sel.present == {"gsm8k": 2, "MATH.Algebra": 2, "tal": 1}
    assert sel.available == {"gsm8k": 5, "MATH.Algebra": 3, "tal": 1}
    assert sel.outside == {"math500": 4}
    assert len(sel.missing) == len(MWPBENCH_TASKS) - 3 and "agieval.math" in sel.missing
    report = sel.report()
    assert "3 of 22 tasks present" in report and "gsm8k 5->2" in report and "math500 (4 items)" in report
    assert "overlap" in report


def test_agieval_math_overlap_is_counted_and_can_be_excluded():
    math = [_task("MATH.Algebra", i, question=f"Solve  x + {i} = 0.") for i in range(3)]
    agieval = [_task("agieval.math", 0, question="Solve x + 1 = 0."), _task("agieval.math", 1, question="New one?")]
    sel = select_suite(math + agieval, "mwpbench", cap=0)
    assert sel.overlap == 1 and len(sel.tasks) == 5
    sel = select_suite(math + agieval, "mwpbench", cap=0, exclude_overlap=True)
    assert sel.overlap == 1 and sel.excluded_overlap == 1
    assert [t.item.id for t in sel.tasks if t.item.data_topic == "agieval.math"] == ["agieval.math-1"]
    assert select_suite(agieval, "mwpbench").overlap is None  # no MATH loaded: unknown, not 0


def test_official_constants():
    assert OFFICIAL_CAP == 2000 and len(MWPBENCH_TASKS) == 22 and "Response:" in OFFICIAL_STOP


def test_every_suite_is_a_name_eval_config_accepts_and_back():
    from mathscale.eval.config import SUITE_NAMES
    from mathscale.eval.suite import SUITES

    assert tuple(SUITES) == SUITE_NAMES


# --- end to end: `mathscale eval --suite mwpbench` on an MWPBench-layout folder ---------------

ROWS = (
    [{"data_topic": "gsm8k", "question": f"What is {i}+{i}?", "answer": str(2 * i)} for i in range(1, 5)]
    + [{"data_topic": "MATH.Algebra", "question": f"Solve y = {i} for y.", "answer": str(i)} for i in range(1, 4)]
    + [{"data_topic": "MATH.Geometry", "question": "A square of side 3 has what area?", "answer": "9"}]
    + [{"data_topic": "college_math.calculus", "question": f"Derivative of x^{i} at 1?", "answer": str(i)} for i in (2, 3)]
    + [{"data_topic": "agieval.math", "question": "Solve y = 1 for y.", "answer": "1"}]
    + [{"data_topic": "math500", "question": "Not in the suite?", "answer": "0"}]
)


def _responder(request: dict) -> str:
    text = request.get("prompt") or request["messages"][-1]["content"]
    if "+" in text and "What is" in text:  # gsm8k: right for 1 and 3, wrong for 2 (cap 3 drops 4)
        a = int(text.split("What is ")[1].split("+")[0])
        return f"So the answer is {2 * a if a != 2 else 99}."
    if "Solve y" in text:
        return "We get y = \\boxed{1}."  # right only for y = 1
    if "square" in text:
        return "The area is 9.\nQuestion: what next"  # cut at the official stop "Question"
    return "I do not know."


def test_eval_suite_end_to_end_matches_a_hand_computation(tmp_path, capsys, llm_cache):
    from tests.support.fake_server import FakeServer

    folder = tmp_path / "mwpbench"
    folder.mkdir()
    for i, row in enumerate(ROWS):
        row["id"] = f"r{i}"
    (folder / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ROWS[:8]))
    (folder / "b.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ROWS[8:]))
    out = tmp_path / "run"
    with FakeServer(responder=_responder) as server:
        rc = cli.main(["eval", "--backend", "openai", "--suite", "mwpbench", "--benchmarks", str(folder), "--out", str(out),
                       "--limit", "3", f"llm.base_urls=[{server.base_url}]", f"llm.cache_path={llm_cache}",
                       "llm.progress=false"])  # fmt: skip
    printed = capsys.readouterr().out
    assert rc == 0
    assert "5 of 22 tasks present" in printed and "gsm8k 4->3" in printed and "math500 (1 items)" in printed
    assert "missing (not in the data): " in printed and "math23k_en" in printed
    assert "1 agieval.math items are MATH test questions" in printed
    metrics = json.loads((out / "metrics.json").read_text())
    official = metrics["official"]
    # By hand, cap 3: gsm8k 1,2,3 -> right, wrong, right; MATH.Algebra y=1,2,3 -> right, wrong, wrong;
    # MATH.Geometry right (the text after the stop "Question" is cut); college_math wrong twice; agieval.math right.
    gsm8k, agieval = 2 / 3, 1.0
    math = 0
    math += 3 / 4 * (1 / 3)
    math += 1 / 4 * 1.0
    college = 0
    college += 2 / 2 * 0.0
    micro = 0
    for size, acc in ((3, gsm8k), (1, agieval), (4, math), (2, college)):
        micro += size / 10 * acc
    assert official["gsm8k"] == {"accuracy": gsm8k, "test_size": 3}
    assert official["MATH"]["accuracy"] == math and official["college_math"]["accuracy"] == college
    assert official["micro_average_accuracy"] == micro
    assert official["macro_average_accuracy"] == (gsm8k + agieval + math + college) / 4
    assert metrics["decoding"]["stop"] == OFFICIAL_STOP and metrics["suite"]["cap"] == 3
    geometry = json.loads((out / "predictions" / "MATH.Geometry.jsonl").read_text())
    assert geometry["completion"] == "The area is 9.\n"
    results = (out / "results.md").read_text()
    for needle in ("suite: mwpbench", "cap: 3 items per task", "template: alpaca", "official check",
                   "decoding: greedy, max 2048 new tokens", f"{100 * micro:.2f}"):  # fmt: skip
        assert needle in results, needle


def test_repeated_ids_are_made_unique_in_data_order():
    from mathscale.eval.command import with_unique_ids

    tasks = [_task("gsm8k", 0), _task("gsm8k", 0), _task("tal", 0), _task("gsm8k", 0)]
    unique, renamed = with_unique_ids(tasks)
    assert [t.item.id for t in unique] == ["gsm8k-0", "gsm8k-0#2", "tal-0", "gsm8k-0#3"] and renamed == 2


def test_benchmarks_mwpbench_alone_points_to_the_suite_flag(tmp_path, capsys):
    assert cli.main(["eval", "--backend", "openai", "--benchmarks", "mwpbench", "--out", str(tmp_path / "o")]) == 2
    assert "--suite mwpbench" in capsys.readouterr().err
