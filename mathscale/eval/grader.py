"""Grade model completions against reference answers: the one entry point of the grader.

Two modes (:data:`mathscale.eval.config.GRADER_MODES`, the names configs give: eval's grader, grade's mode):

- ``mathscale`` (default), in three parts:

  1. multiple-choice references (a letter A-E) are decided by :mod:`~mathscale.eval.choices`
     (the letter named as "(C)", ``\\boxed{C}``, ``\\mathrm{C}``, "option c", or the option's text);
  2. every other item: a completion that states the reference word for word after "the
     answer is" (a reference in prose, several sentences) is right; else the final answer is
     extracted as a reader would take it
     (:mod:`~mathscale.eval.final_answer`: boxes, "####", a stated answer in prose) and the fast
     path (:mod:`~mathscale.eval.equivalence`) decides it when it is sure: equal strings,
     numbers and number formats, units, names and equation chains, sets, tuples, intervals
     and relations of plain expressions, expressions by evaluation at fixed points;
  3. what the fast path cannot decide goes to math-verify (:mod:`~mathscale.eval.symbolic`),
     which parses LaTeX into sympy; in :func:`grade_all` that runs in worker processes under
     a hard time limit per item.

- ``mwpbench``: the official MWPBench check (:mod:`~mathscale.eval.mwpbench_check`), for
  numbers comparable with published ones.

>>> grade(r"... so the total is \\boxed{1+x^2}.", "x^2+1").correct
True
>>> grade(r"... so the total is \\boxed{1+x^2}.", "x^2+1", mode="mwpbench").correct
False

:func:`grade_all` grades many items, sending the few the fast path leaves undecided to worker
processes with a hard per-item time limit; an item that runs out of time counts as wrong and
is reported in ``GradeReport.timeouts``.
"""

from __future__ import annotations

import atexit
from collections.abc import Sequence
from dataclasses import dataclass, field

from mathscale.eval.choices import choose_letter, is_choice_reference, reference_letter
from mathscale.eval.config import GRADER_MODES
from mathscale.eval.equivalence import SymbolicCheck, decide, equivalent, same_text
from mathscale.eval.final_answer import extract_answer, whole_statement
from mathscale.eval.mwpbench_check import official_grade
from mathscale.eval.symbolic import NeedsSymbolic, WorkerPool, defer, math_verify_equal, warm_math_verify

@dataclass(frozen=True)
class Verdict:
    extracted: str | None
    correct: bool
    timed_out: bool = False


@dataclass(frozen=True)
class GradeItem:
    completion: str
    reference: str
    options: dict[str, str] = field(default_factory=dict)


@dataclass
class GradeReport:
    verdicts: list[Verdict]
    timeouts: int = 0
    symbolic: int = 0  # items the fast path left to math-verify

    @property
    def accuracy(self) -> float:
        return sum(v.correct for v in self.verdicts) / len(self.verdicts) if self.verdicts else 0.0


def grade(
    completion: str,
    reference: str,
    mode: str = "mathscale",
    options: dict[str, str] | None = None,
    symbolic: SymbolicCheck | None = math_verify_equal,
) -> Verdict:
    """Grade one completion. ``symbolic`` (what the fast path cannot decide) runs in this
    process without a time limit; use :func:`grade_all` for untrusted input."""
    if mode == "mwpbench":
        extracted, correct = official_grade(completion, reference)
        return Verdict(extracted, correct)
    if mode != "mathscale":
        raise ValueError(f"unknown grader mode {mode!r}; known: {', '.join(GRADER_MODES)}")
    if is_choice_reference(reference):
        letter = choose_letter(completion, options or {})
        return Verdict(letter, letter == reference_letter(reference))
    whole = whole_statement(completion)
    if whole is not None and same_text(whole, reference):  # the reference, stated word for word
        return Verdict(whole, True)
    extracted = extract_answer(completion)
    if extracted is None:
        return Verdict(None, False)
    return Verdict(extracted, equivalent(extracted, reference, symbolic))


def _grade_args(completion: str, reference: str, mode: str, options: dict[str, str]) -> Verdict:
    return grade(completion, reference, mode, options)


def grade_all(items: Sequence[GradeItem], mode: str = "mathscale", *, timeout: float = 5.0, workers: int = 1) -> GradeReport:
    """Grade every item; math-verify runs in ``workers`` processes, ``timeout`` s per item."""
    if mode not in GRADER_MODES:
        raise ValueError(f"unknown grader mode {mode!r}; known: {', '.join(GRADER_MODES)}")
    verdicts: list[Verdict | None] = []
    deferred: dict[int, tuple] = {}
    with WorkerPool(_grade_args, workers=workers, timeout=timeout, init=warm_math_verify) as pool:
        for index, item in enumerate(items):
            try:
                verdicts.append(grade(item.completion, item.reference, mode, item.options, symbolic=defer))
            except NeedsSymbolic:
                if not deferred:
                    pool.start(1)  # it imports math-verify on the other core while the fast path goes on
                verdicts.append(None)
                deferred[index] = (item.completion, item.reference, mode, item.options)
        results = pool.map(deferred) if deferred else {}
    timeouts = 0
    for index, value in results.items():
        if value is WorkerPool.TIMEOUT:
            timeouts += 1
            verdicts[index] = Verdict(extract_answer(items[index].completion), False, timed_out=True)
        else:
            verdicts[index] = value
    return GradeReport([v for v in verdicts if v is not None], timeouts=timeouts, symbolic=len(deferred))


class SameAnswer:
    """The grader's equivalence of two final answers, for the consensus vote: the fast path,
    then math-verify in one worker process, ``timeout`` s per pair (an overrun is "not the
    same"). Verdicts are cached; the worker starts on the first undecided pair.

    >>> same_answer("0.5", r"\\frac{1}{2}")
    True
    """

    def __init__(self, timeout: float = 2.0):
        self.timeout = timeout
        self._pool: WorkerPool | None = None
        self._cache: dict[tuple[str, str], bool] = {}
        self.slow = 0  # pairs math-verify decided
        self.timeouts = 0

    def __call__(self, a: str, b: str) -> bool:
        verdict = decide(a, b)
        if verdict is not None:
            return verdict
        key = (a, b)
        if key not in self._cache:
            if self._pool is None:
                self._pool = WorkerPool(math_verify_equal, workers=1, timeout=self.timeout, init=warm_math_verify)
                atexit.register(self.close)
            value = self._pool.map({0: (a, b)})[0]
            self.slow += 1
            self.timeouts += value is WorkerPool.TIMEOUT
            self._cache[key] = value is True
        return self._cache[key]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None


same_answer = SameAnswer()
