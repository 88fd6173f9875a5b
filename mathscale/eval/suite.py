"""The canonical MWPBench suite: which tasks, how many items each, which stop strings (the official driver's).

Facts taken from the official evaluation (``eval_vllm/driver.py`` of microsoft/unilm):

- 22 tasks (``data_topic``): GSM8K, the 7 MATH types, the 7 CollegeMath topics, TAL,
  GaokaoBench, Math23K and Ape210K (English translations), AGIEval Gaokao-Math (English),
  AGIEval MATH and AGIEval SAT-Math;
- at most the first 2,000 items of each task, in file order (``--max_num_examples_per_task``);
- greedy decoding (temperature 0, top_p 1), at most 2,048 new tokens, and the stop strings
  :data:`OFFICIAL_STOP` whatever the prompt template.

``agieval.math`` is drawn from the MATH test set (microsoft/unilm issue 1533): its questions
are MATH test questions, so a model is scored twice on them. :func:`select_suite` counts them
and can leave them out.

>>> [t for t in MWPBENCH_TASKS if t.startswith("agieval")]
['agieval.gaokao-math-en', 'agieval.math', 'agieval.sat-math']
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from mathscale.errors import MathscaleError
from mathscale.eval.benchmarks import Task, limit_per_topic

MWPBENCH_TASKS = (
    "gsm8k",
    "MATH.Algebra", "MATH.Counting_&_Probability", "MATH.Geometry", "MATH.Intermediate_Algebra",
    "MATH.Number_Theory", "MATH.Prealgebra", "MATH.Precalculus",
    "college_math.algebra", "college_math.precalculus", "college_math.calculus", "college_math.vector_calculus",
    "college_math.probability", "college_math.linear_algebra", "college_math.differential_equation",
    "tal", "gaokao_bench_math_en", "math23k_en", "ape210k_en",
    "agieval.gaokao-math-en", "agieval.math", "agieval.sat-math",
)  # fmt: skip
OFFICIAL_CAP = 2000
OFFICIAL_MAX_NEW_TOKENS = 2048
OFFICIAL_STOP = ["Question:", "Question", "USER:", "USER", "ASSISTANT:", "ASSISTANT", "Instruction:", "Instruction",
                 "Response:", "Response", "</s>"]  # fmt: skip
SUITES = {"mwpbench": MWPBENCH_TASKS}  # its names are those EvalConfig.suite accepts (tests/eval/test_eval_suite.py)


@dataclass
class SuiteSelection:
    """What a suite keeps of the loaded items, and what it reports about the rest."""

    suite: str
    tasks: list[Task]
    cap: int  # items per task kept (0: all)
    present: dict[str, int] = field(default_factory=dict)  # task -> items kept (after the cap)
    available: dict[str, int] = field(default_factory=dict)  # task -> items in the data (before the cap)
    missing: list[str] = field(default_factory=list)  # suite tasks with no item in the data
    outside: dict[str, int] = field(default_factory=dict)  # topics in the data that the suite does not name
    overlap: int | None = None  # agieval.math items that are MATH test questions (None: MATH not loaded)
    excluded_overlap: int = 0

    def report(self) -> str:
        lines = [f"suite {self.suite}: {len(self.present)} of {len(SUITES[self.suite])} tasks present, "
                 f"{len(self.tasks)} items (cap {self.cap or 'none'} per task)"]  # fmt: skip
        capped = [f"{t} {self.available[t]}->{n}" for t, n in self.present.items() if self.available[t] != n]
        if capped:
            lines.append("  capped: " + ", ".join(capped))
        if self.missing:
            lines.append("  missing (not in the data): " + ", ".join(self.missing))
        if self.outside:
            lines.append("  skipped, not part of the suite: " + ", ".join(f"{t} ({n} items)" for t, n in self.outside.items()))
        if self.overlap is None:
            lines.append("  agieval.math / MATH test overlap: unknown (MATH not loaded)")
        else:
            lines.append(f"  agieval.math / MATH test overlap: {self.overlap} agieval.math items are MATH test questions"
                         + (f" ({self.excluded_overlap} excluded)" if self.excluded_overlap else ""))  # fmt: skip
        return "\n".join(lines)

    def to_json(self) -> dict:
        return {"suite": self.suite, "cap": self.cap, "present": self.present, "available": self.available,
                "missing": self.missing, "outside_suite": self.outside, "agieval_math_overlap": self.overlap,
                "excluded_overlap": self.excluded_overlap}  # fmt: skip


def _normalise(question: str) -> str:
    return " ".join(question.split())


def overlap_ids(tasks: list[Task]) -> set[str] | None:
    """Ids of ``agieval.math`` items whose question is a loaded MATH test question (None: no MATH loaded)."""
    math_questions = {_normalise(t.item.question) for t in tasks if t.item.data_topic.startswith("MATH.")}
    if not math_questions:
        return None
    return {t.item.id for t in tasks if t.item.data_topic == "agieval.math" and _normalise(t.item.question) in math_questions}


def select_suite(tasks: list[Task], suite: str, cap: int = OFFICIAL_CAP, exclude_overlap: bool = False) -> SuiteSelection:
    """The suite's tasks in data order, the first ``cap`` items of each (0: all), overlap counted.

    The overlap is counted among the items kept, against all loaded MATH test questions.
    """
    if suite not in SUITES:
        raise MathscaleError(f"unknown suite {suite!r} (option suite); known: {', '.join(SUITES)}")
    names = set(SUITES[suite])
    outside = Counter(t.item.data_topic for t in tasks if t.item.data_topic not in names)
    inside = [t for t in tasks if t.item.data_topic in names]
    available = dict(Counter(t.item.data_topic for t in inside))
    kept = limit_per_topic(inside, cap)
    overlapping = overlap_ids(tasks)
    selection = SuiteSelection(suite, kept, cap, available=available, outside=dict(outside))
    if overlapping is not None:
        selection.overlap = sum(t.item.id in overlapping for t in kept if t.item.data_topic == "agieval.math")
        if exclude_overlap:
            selection.tasks = [t for t in kept if not (t.item.data_topic == "agieval.math" and t.item.id in overlapping)]
            selection.excluded_overlap = len(kept) - len(selection.tasks)
    elif exclude_overlap:
        raise MathscaleError("exclude_overlap=true needs the MATH test set among the benchmarks (to find the agieval.math "
                             "questions that are MATH questions)")  # fmt: skip
    selection.present = dict(Counter(t.item.data_topic for t in selection.tasks))
    selection.missing = [name for name in SUITES[suite] if name not in available]
    if not selection.tasks:
        raise MathscaleError(f"suite {suite}: none of its tasks ({', '.join(SUITES[suite][:3])}, ...) is in the benchmarks "
                             f"given (topics found: {', '.join(sorted(outside)) or 'none'})")  # fmt: skip
    return selection
