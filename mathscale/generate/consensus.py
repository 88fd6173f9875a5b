"""Answers verified by vote (KPDDS, OpenMathInstruct-2).

A generated question is solved ``k`` more times, independently. The generated answer and
the ``k`` solvers' answers are votes; votes are grouped by the grader's equivalence
(:data:`mathscale.eval.grader.same_answer`, the fast path then math-verify under a time limit,
as ``mathscale grade`` decides: ``1/2``, ``0.5`` and ``\\frac{1}{2}`` are one answer, and so
are ``x \\geq 5`` and ``[5, \\infty)``), and the largest group wins (a tie goes to the generated
answer's group, else to the earliest). The sample keeps the winning answer, with the solution of its first vote:
when that is not the generated answer, the vote *overturned* it. A question whose winning
share of the votes is below the threshold is dropped (``weak_majority``).

>>> v = tally(["7", "8", "8.0", "8"])
>>> (v.answer, v.share, v.overturned)
('8', 0.75, True)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

Same = Callable[[str, str], bool]  # (answer, representative) -> same answer?


@dataclass(frozen=True)
class Vote:
    """The outcome of one vote; ``answers[0]`` is the generated answer, ``""`` = no answer."""

    answers: list[str]
    groups: list[list[int]]  # indices into ``answers``, one list per distinct answer, largest first
    share: float  # votes of the winning group / answers given
    overturned: bool  # the winning group does not hold the generated answer

    @property
    def winner(self) -> int:
        """Index of the first vote of the winning group (its solution is the one kept)."""
        return self.groups[0][0]

    @property
    def answer(self) -> str:
        return self.answers[self.winner]

    def to_json(self) -> dict[str, Any]:
        return {"answers": self.answers, "counts": [len(g) for g in self.groups], "kept": self.answer,
                "share": round(self.share, 4), "overturned": self.overturned}  # fmt: skip


def tally(answers: list[str], same: Same | None = None) -> Vote | None:
    """The vote over ``answers`` (the generated answer first); None when no solver answered."""
    if same is None:
        from mathscale.eval.grader import same_answer as same
    given = [i for i, a in enumerate(answers) if a.strip()]
    if not any(i > 0 for i in given):
        return None
    groups: list[list[int]] = []
    for i in given:
        for group in groups:
            if _same(same, answers[i], answers[group[0]]):
                group.append(i)
                break
        else:
            groups.append([i])
    groups.sort(key=lambda g: (-len(g), 0 not in g, g[0]))
    return Vote(list(answers), groups, len(groups[0]) / len(given), 0 not in groups[0])


def _same(same: Same, a: str, b: str) -> bool:
    try:
        return bool(same(a, b))
    except Exception:  # an answer the grader cannot read is its own group, never a crash
        return a.strip() == b.strip()


def vote_summary(metas: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Over the kept samples' ``meta``: how many were voted on, overturned, and the mean share."""
    votes = [m["vote"] for m in metas if isinstance(m.get("vote"), dict)]
    return {
        "voted": len(votes),
        "overturned": sum(bool(v.get("overturned")) for v in votes),
        "mean_share": round(sum(v.get("share", 0.0) for v in votes) / len(votes), 4) if votes else None,
        "unanimous": sum(v.get("share") == 1.0 for v in votes),
    }
