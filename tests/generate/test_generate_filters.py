from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from mathscale.errors import MathscaleError
from mathscale.generate.config import DedupConfig, FilterConfig
from mathscale.generate.decontaminate import ContaminationIndex, benchmark_questions
from mathscale.generate.dedup import Deduplicator, normalize_text
from mathscale.generate.filters import drop_reason, is_choice_question

GOOD_Q = "A farmer has 12 cows and buys 7 more. How many cows does the farmer have now?"
GOOD_S = "He starts with 12 cows and buys 7, so 12 + 7 = 19 cows."


@pytest.mark.parametrize(
    "question",
    ["Which of the following is prime? (A) 4 (B) 9 (C) 7", "Which one is larger, 2^10 or 10^3?",
     "Which is the smallest root?", "Consider the following  table of values.", "Which statement is true?",
     "WHICH OF THE\nFOLLOWING numbers is even?"],  # fmt: skip
)
def test_mathscale_choice_filter(question):
    assert is_choice_question(question)
    assert drop_reason(question + " " * 30, GOOD_S, "7", FilterConfig()) == "choice_question"


DROP_CASES = [
    (GOOD_Q, GOOD_S, "19", None),
    (GOOD_Q, GOOD_S, "  ", "missing_answer"),
    ("", GOOD_S, "19", "missing_question"),
    ("What is 2+2?", GOOD_S, "4", "question_too_short"),
    (GOOD_Q * 40, GOOD_S, "19", "question_too_long"),
    (GOOD_Q, "19", "19", "solution_too_short"),
    (GOOD_Q, "  \n ", "19", "missing_solution"),
    (GOOD_Q, GOOD_S * 200, "19", "solution_too_long"),
    (GOOD_Q, GOOD_S, "1" * 300, "answer_too_long"),
    ("Which of the following numbers is prime: 4, 9 or 7?", GOOD_S, "7", "choice_question"),
    (GOOD_Q, GOOD_S + " $\x08egin{bmatrix} 1 \\end{bmatrix}$", "19", "control_characters"),
    (GOOD_Q, GOOD_S, "\x0crac{1}{2}", "control_characters"),
    (GOOD_Q + r" Is $2\times 3 = 6$?", GOOD_S, "19", None),
    (GOOD_Q, GOOD_S + "\n\tIndented line.", "19", None),
]


@pytest.mark.parametrize("question, solution, answer, reason", DROP_CASES)
def test_drop_reasons(question, solution, answer, reason):
    assert drop_reason(question, solution, answer, FilterConfig()) == reason


def test_every_filter_has_a_case_and_a_line_on_the_dataset_card():
    from mathscale.generate.filters import FILTERS
    from mathscale.generate.report import dataset_card

    assert {case[-1] for case in DROP_CASES} - {None} == set(FILTERS)
    report = {"graph": "g.json", "produced": 1, "requested": 1, "slots": [0, 1], "shard": "0/1", "prompts": ["p"],
              "compositions": {}, "decontaminated_against": [], "dropped": {"missing_answer": 2},
              "config": {"filters": {"max_answer_chars": 50, "drop_choice_questions": False},
                         "dedup": {"exact": True, "near": False, "near_threshold": 0.8}}}  # fmt: skip
    card = dataset_card(report)
    assert all(f"| {name} | " in card for name in FILTERS)
    assert "| answer_too_long | the answer is over 50 characters |" in card  # the settings the run had
    assert "off (drop_choice_questions=false)" in card and "duplicates: exact duplicates of an earlier sample removed" in card


def test_choice_filter_can_be_switched_off():
    assert drop_reason("Which of the following numbers is prime: 4, 9 or 7?", GOOD_S, "7",
                       FilterConfig(drop_choice_questions=False)) is None  # fmt: skip


def test_exact_and_near_duplicates():
    dedup = Deduplicator(DedupConfig())
    assert dedup.check("a", GOOD_Q) is None
    assert dedup.check("b", GOOD_Q.upper().replace("?", " ?")) == ("exact_duplicate", "a")
    near = GOOD_Q.replace("now?", "now in total?")
    assert dedup.check("c", near) == ("near_duplicate", "a")
    other = "A train travels 60 km per hour for 3 hours. How far does the train travel in that time?"
    assert dedup.check("d", other) is None
    assert normalize_text("Hello,   World!") == "hello world"
    # the early check used while replies arrive: exact copies only, and it remembers nothing
    assert dedup.exact_match(GOOD_Q.lower()) == "a" and dedup.exact_match(near) is None
    assert dedup.exact_match("A brand new question about seven goats?") is None
    assert dedup.check("e", "A brand new question about seven goats?") is None


def test_a_drop_reason_is_its_string_on_disk_in_counts_and_in_text():
    from collections import Counter

    from mathscale.generate.drops import DropReason, llm_failure

    reason = DropReason.EXACT_DUPLICATE
    assert json.dumps({reason: reason}) == '{"exact_duplicate": "exact_duplicate"}'
    assert f"{reason} {3}" == "exact_duplicate 3" and str(reason) == "exact_duplicate"
    counts = Counter([reason, "exact_duplicate"])  # one written now, one read back from a drops file
    assert counts == {"exact_duplicate": 2} and llm_failure("parse") == "llm_parse"


def test_near_duplicate_check_is_deterministic_across_instances():
    texts = [f"Sam has {i} apples and eats {i % 7} of them at lunch. How many apples remain?" for i in range(50)]
    runs = []
    for _ in range(2):
        dedup = Deduplicator(DedupConfig())
        runs.append([dedup.check(str(i), t) for i, t in enumerate(texts)])
    assert runs[0] == runs[1]


def test_decontamination_catches_a_planted_benchmark_question():
    index = ContaminationIndex(n=13)
    bench = "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. How many clips did Natalia sell altogether in April and May?"
    index.add("gsm8k:0", bench)
    index.add("short:1", "Compute 7 choose 3.")
    planted = "Here is a problem. " + bench.replace("?", " ?") + " Show your work."
    assert index.match(planted) == "gsm8k:0"
    assert index.match("Please compute 7 choose 3, then add one.") == "short:1"
    assert index.match(GOOD_Q) is None
    assert index.match("") is None


def test_decontamination_reads_its_benchmarks_as_eval_does(tmp_path):
    """A file, a folder of them (through mathscale.eval.benchmarks.load_tasks); errors name the setting."""
    folder = tmp_path / "bench"
    folder.mkdir()
    (folder / "gsm8k.jsonl").write_text(json.dumps({"data_topic": "gsm8k", "data_source": "gsm8k", "question_number": 7,
                                                    "question": "Q one?", "answer": "1"}) + "\n")  # fmt: skip
    (folder / "math.jsonl").write_text(json.dumps({"question": "Q two?", "answer": "2"}) + "\n")  # no id: file:line
    expected = [("gsm8k:7", "Q one?"), (f"{folder / 'math.jsonl'}:1", "Q two?")]
    assert benchmark_questions([str(folder)]) == expected
    assert benchmark_questions([str(folder / "math.jsonl"), str(folder / "gsm8k.jsonl")]) == expected[::-1]
    (tmp_path / "empty").mkdir()
    for spec in (tmp_path / "empty", tmp_path / "missing.jsonl"):
        with pytest.raises(MathscaleError, match=re.escape(f"decontamination.benchmarks: {spec}")) as error:
            benchmark_questions([str(spec)])
        assert "option benchmarks" not in str(error.value)


def test_decontamination_reads_a_hugging_face_dataset_from_the_hub_cache(tmp_path):
    from tests.support.hub_helpers import commit, hub_env

    data = tmp_path / "hf" / "hub" / "datasets--tiny-org--tiny-bench"
    (data / "snapshots" / commit("bench")).mkdir(parents=True)
    (data / "snapshots" / commit("bench") / "test.jsonl").write_text(
        json.dumps({"data_topic": "gsm8k", "question": "What is 2 + 2?", "answer": "4", "id": "tb-0"}) + "\n")  # fmt: skip
    (data / "refs").mkdir()
    (data / "refs" / "main").write_text(commit("bench"))
    code = "from mathscale.generate.decontaminate import benchmark_questions; print(benchmark_questions(['tiny-org/tiny-bench']))"
    done = subprocess.run([sys.executable, "-c", code], env=hub_env(tmp_path / "hf"), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[('tb-0', 'What is 2 + 2?')]"
