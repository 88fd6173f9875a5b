"""Generation: fill N sample slots with filtered, unique, uncontaminated QA pairs.

Slot ``j`` tries its attempts ``a = 0, 1, …, max_attempts - 1`` in order until one yields
a sample that passes every filter; attempt ``a`` of slot ``j`` is walk
``walk_index(j, a) = (a // 16) * 2**40 + j * 16 + a % 16``. Attempts come in rounds of
16: round 0 is walks ``j * 16 … j * 16 + 15`` (the original layout), and each further
round is a fresh, disjoint range of walk numbers 2**40 higher, so a slot can be given
as many attempts as it needs (``max_attempts``, up to 1024) without its walks ever
touching another slot's. A slot's attempts depend only on (graph, seed, j) and the
model's replies, never on N, on the shard or on timing, so:

- a run with N = 200 starts with the 100 samples of the run with N = 100 (prefixes nest);
- shards (contiguous ranges of slots) never overlap and their union is the whole run;
- a walk whose concept sets an earlier walk already had is skipped without a request
  (:mod:`mathscale.generate.repeated_walks`), so each concept set costs at most one LLM call;
- a killed run resumes where it stopped: samples are committed in slot order, each drop
  is logged with its slot and attempt, and the LLM cache answers everything that had
  completed, so the rerun's output equals an uninterrupted run's;
- a request that failed in transport after the client's retries (5xx, 429, timeout) is no
  attempt: its slot is *pending* (no drop logged, nothing committed from it on), and the
  rerun asks that same attempt again. Slots after the first pending one still run (their
  replies are cached), but only a rerun commits them, so the file stays in slot order.

Why a slot is refilled from its own extra rounds and not from overflow slots N, N+1, …:
with overflow, which sample sits at position p depends on how many slots *before* p ran
dry. A shard could not know its first slot without running every earlier shard, and a
resumed or larger run would have to agree on the whole failure history. Extra rounds
keep every position a function of its own slot alone. The price is that a slot can still
run dry when all of its ``max_attempts`` attempts are dropped; with the default budget
that only happens when the graph and teacher have stopped producing new acceptable
questions (a teacher that repeats itself 85% of the time leaves a 64-attempt slot dry
with probability 0.85**64 ≈ 3e-5). Then the run reports the shortfall and exits
non-zero (see ``mathscale.generate.command``).

Per-sample checks (the LLM reply, filters, decontamination, quality score, consensus vote) run as replies
arrive, concurrently; duplicate checks run in slot order at commit time, which makes
"duplicate of an earlier sample" well defined. An exact copy of an already committed
sample is dropped as soon as its reply arrives (it would be dropped at commit anyway),
so a repetitive teacher's retries do not wait for the commit frontier. Shards check duplicates within
themselves only: a question that two shards both produce is in both (dedup the union
if that matters).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mathscale.generate.config import GenerateConfig
from mathscale.generate.consensus import Vote, tally
from mathscale.generate.decontaminate import ContaminationIndex
from mathscale.generate.dedup import Deduplicator
from mathscale.generate.drops import DropReason, llm_failure
from mathscale.generate.examples import ExampleIndex
from mathscale.generate.filters import drop_reason
from mathscale.generate.requests import (
    answer_of,
    as_text,
    qa_prompt,
    qa_request,
    quality_score,
    rate_prompt,
    rate_request,
    solve_prompt,
    solve_request,
)
from mathscale.llm.client import LLMClient
from mathscale.records import Composition, QAPair

ATTEMPTS_PER_ROUND = 16  # a slot's attempts are walks slot * 16 + (0..15), then the same in the next round
ROUND_STRIDE = 1 << 40  # walk numbers between rounds: room for 2**36 slots per round
MAX_ATTEMPTS = 1024  # 64 rounds; the highest walk number stays far below 2**63
MAX_SLOTS = ROUND_STRIDE // ATTEMPTS_PER_ROUND
WALK_BLOCK = 1024  # slots whose walks are computed together (one numpy pass instead of 1024)


def walk_index(slot: Any, attempt: int) -> Any:
    """The walk number of a slot's attempt (``slot`` may be a numpy array of slots)."""
    rounds, offset = divmod(attempt, ATTEMPTS_PER_ROUND)
    return rounds * ROUND_STRIDE + slot * ATTEMPTS_PER_ROUND + offset


def request_seed(seed: int, walk: int, extra: int = 0) -> int:
    digest = hashlib.blake2b(f"{seed}:{walk}:{extra}".encode(), digest_size=4).digest()
    return int.from_bytes(digest, "little") & 0x7FFFFFFF


@dataclass(frozen=True)
class Drop:
    """One attempt that did not become a sample, and why."""

    slot: int
    attempt: int
    index: int
    reason: str  # a DropReason, a filter's name or an llm_failure (generate/drops.py)
    detail: str = ""
    matched: str = ""  # the benchmark item or earlier sample it matched

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v != ""}


@dataclass(frozen=True)
class Pending:
    """An attempt whose request failed in transport: not an attempt, asked again on the rerun."""

    slot: int
    attempt: int
    reason: str
    detail: str = ""


class _TransportFailure(Exception):
    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason, self.detail = reason, detail


@dataclass
class Progress:
    """What a run has done so far (including what an earlier, interrupted run did)."""

    committed: int = 0
    exhausted: list[int] = field(default_factory=list)  # slots that ran out of attempts
    dropped: Counter[str] = field(default_factory=Counter)
    indices: list[int] = field(default_factory=list)  # walks of the committed samples, for novelty
    pending: list[Pending] = field(default_factory=list)  # slots left for a rerun by transport failures


_EXHAUSTED = object()
_PENDING = object()


class SlotFiller:
    """Runs the slots of one shard through the LLM; ``commit`` and ``drop`` persist results."""

    def __init__(self, cfg: GenerateConfig, sampler: Any, examples: ExampleIndex, llm: LLMClient,
                 contamination: ContaminationIndex | None, dedup: Deduplicator,
                 commit: Callable[[QAPair], None], drop: Callable[[Drop], None],
                 repeats: Callable[[int, int], bool] | None = None):  # fmt: skip
        self.cfg = cfg
        self.sampler = sampler
        self.examples = examples
        self.llm = llm
        self.contamination = contamination
        self.dedup = dedup
        self._commit = commit
        self._drop = drop
        self.repeats = repeats  # (slot, attempt) -> True when an earlier walk had the same concept sets
        self.qa_prompt = qa_prompt(cfg.prompt)
        self.solve_prompt = solve_prompt(cfg.consensus.prompt) if cfg.consensus.enabled else None
        self.rate_prompt = rate_prompt(cfg.quality.prompt) if cfg.quality.enabled else None
        self.max_attempts = cfg.max_attempts
        self._walks: dict[tuple[int, int], tuple[Any, Any]] = {}  # (block, attempt) -> (topics, kps)

    def walk(self, slot: int, attempt: int) -> Composition:
        """The composition of (slot, attempt); walks are computed a block of slots at a time."""
        block, row = divmod(slot, WALK_BLOCK)
        key = (block, attempt)
        if key not in self._walks:
            if len(self._walks) >= 64:
                self._walks.pop(next(iter(self._walks)))  # oldest block first
            slots = np.arange(block * WALK_BLOCK, (block + 1) * WALK_BLOCK, dtype=np.int64)
            self._walks[key] = self.sampler.walk_arrays(self.cfg.seed, walk_index(slots, attempt))
        topics, kps = self._walks[key]
        index = walk_index(slot, attempt)
        return next(self.sampler.to_records(self.cfg.seed, np.array([index]), topics[row : row + 1], kps[row : row + 1]))

    async def fill(self, slots: list[int], next_attempt: dict[int, int], progress: Progress,
                   on_commit: Callable[[], None] = lambda: None) -> None:  # fmt: skip
        """Fill ``slots`` (in order; every earlier slot is committed or has used up its attempts).

        Workers start slots in order as they come free and retry a slot's next attempt
        before starting a new one; samples are committed strictly in slot order.
        """
        await _Fill(self, slots, next_attempt, progress, on_commit).run()

    def _record_drop(self, drop: Drop, progress: Progress) -> None:
        self._drop(drop)
        progress.dropped[drop.reason] += 1

    async def try_attempt(self, slot: int, attempt: int) -> QAPair | Drop | Pending:
        """One walk -> one LLM reply -> a candidate sample, or the reason it was dropped
        (or :class:`Pending` when a request it needed failed in transport)."""
        try:
            return await self._try_attempt(slot, attempt)
        except _TransportFailure as exc:
            return Pending(slot, attempt, exc.reason, exc.detail[:200])

    async def _complete(self, request: Any) -> Any:
        result = await self.llm.complete(request)
        if result.pending:
            raise _TransportFailure(result.error, result.detail)
        return result

    async def _try_attempt(self, slot: int, attempt: int) -> QAPair | Drop:
        cfg = self.cfg
        index = walk_index(slot, attempt)
        if self.repeats is not None and self.repeats(slot, attempt):
            return Drop(slot, attempt, index, DropReason.REPEATED_COMPOSITION)  # no request: that concept set was already used
        comp = self.walk(slot, attempt)
        examples = self.examples.pick(comp.topics, comp.knowledge_points, cfg.examples, salt=index)
        params = {"temperature": cfg.temperature, "max_tokens": cfg.max_tokens}
        request = qa_request(f"{slot}:{attempt}", comp, examples, self.qa_prompt, request_seed(cfg.seed, index), params)
        result = await self._complete(request)
        if not result.ok:
            return Drop(slot, attempt, index, llm_failure(result.error), result.detail[:200])
        data = result.data
        question, solution, answer = as_text(data["question"]), as_text(data["solution"]), answer_of(data)
        if reason := drop_reason(question, solution, answer, cfg.filters):
            return Drop(slot, attempt, index, reason)
        if self.contamination is not None and (item := self.contamination.match(question)) is not None:
            return Drop(slot, attempt, index, DropReason.CONTAMINATED, matched=item)
        meta: dict[str, Any] = {"slot": slot, "attempt": attempt, "seed": cfg.seed}
        if self.rate_prompt is not None:
            score = await self._quality(index, question)
            if score is None:
                return Drop(slot, attempt, index, DropReason.QUALITY_FAILED)
            meta["quality"] = round(score, 4)
            if score < cfg.quality.threshold:
                return Drop(slot, attempt, index, DropReason.LOW_QUALITY, f"{score:.2f}")
        if self.solve_prompt is not None:
            vote, solutions = await self._vote(index, question, solution, answer)
            if vote is None:
                return Drop(slot, attempt, index, DropReason.CONSENSUS_FAILED)
            meta["vote"] = vote.to_json()
            meta["agreement"] = round(vote.share, 4)
            if vote.share < cfg.consensus.threshold:
                return Drop(slot, attempt, index, DropReason.WEAK_MAJORITY, f"{vote.share:.2f}: {vote.answers}"[:200])
            if vote.overturned:  # keep the winning answer with a solution that reaches it
                solution, answer = solutions[vote.winner], vote.answer
                if reason := drop_reason(question, solution, answer, cfg.filters):
                    return Drop(slot, attempt, index, reason, "the majority's solution")
        return QAPair(
            id=f"s{cfg.seed}-{slot}", index=index, topics=comp.topics, knowledge_points=comp.knowledge_points,
            question=question, solution=solution, answer=answer, model=self.llm.model, prompt=self.qa_prompt.name,
            meta=meta,
        )  # fmt: skip

    async def _vote(self, index: int, question: str, solution: str, answer: str) -> tuple[Vote | None, list[str]]:
        """The vote of the generated answer and k independent solutions (consensus.py), and the
        solutions in vote order (the generated one first; a failed solver's is empty)."""
        consensus = self.cfg.consensus
        params = {"temperature": consensus.temperature, "max_tokens": self.cfg.max_tokens}
        assert self.solve_prompt is not None
        requests = [
            solve_request(f"{index}:solve{j}", question, self.solve_prompt, request_seed(self.cfg.seed, index, j + 1), params)
            for j in range(consensus.k)
        ]  # fmt: skip
        results = await asyncio.gather(*(self._complete(r) for r in requests), return_exceptions=True)
        if failed := next((r for r in results if isinstance(r, BaseException)), None):
            raise failed  # a transport failure (the attempt is pending) or the endpoint's end
        answers, solutions = [answer], [solution]
        for result in results:
            ok = result.ok and answer_of(result.data)
            answers.append(answer_of(result.data) if ok else "")
            solutions.append(as_text(result.data["solution"]) if ok else "")
        return tally(answers), solutions

    async def _quality(self, index: int, question: str) -> float | None:
        """The LLM's quality score of ``question`` (0.2 .. 1), or None when it gave no rating."""
        params = {"temperature": self.cfg.quality.temperature, "max_tokens": 64}
        assert self.rate_prompt is not None
        result = await self._complete(rate_request(f"{index}:rate", question, self.rate_prompt, params))
        return quality_score(result.data) if result.ok else None


class _Fill:
    """One :meth:`SlotFiller.fill`: where each slot stands, and the workers that move the slots on.

    ``slots[:next_new]`` have been started; ``slots[:frontier]`` are settled for good (committed,
    or out of attempts). A slot whose attempt was dropped goes back on ``retries`` with its next
    attempt, ahead of new slots. A settled slot past the frontier waits in ``ready`` (its sample,
    ``_EXHAUSTED`` or ``_PENDING``) until the frontier reaches it; duplicates are checked there.
    """

    def __init__(self, filler: SlotFiller, slots: list[int], next_attempt: dict[int, int], progress: Progress,
                 on_commit: Callable[[], None]):  # fmt: skip
        self.filler = filler
        self.slots = slots
        self.next_attempt = next_attempt  # slot -> the attempt it starts with (an earlier run's drops)
        self.progress = progress
        self.on_commit = on_commit
        self.retries: list[tuple[int, int]] = []  # (slot, attempt) to run before any new slot
        self.ready: dict[int, Any] = {}
        self.frontier = 0  # index in slots of the next slot to commit
        self.next_new = 0  # index in slots of the next slot to start
        self.in_flight = 0  # jobs handed to workers and not yet settled
        self.changed = asyncio.Event()  # set (and replaced) whenever a job settles

    async def run(self) -> None:
        workers = [asyncio.create_task(self.work()) for _ in range(self.filler.llm.concurrency)]
        try:
            await asyncio.gather(*workers)
        finally:
            for task in workers:
                task.cancel()

    async def work(self) -> None:
        while (job := await self.next_job()) is not None:
            slot, attempt = job
            if attempt >= self.filler.max_attempts:  # an earlier run already used up this slot
                self.in_flight -= 1
                self.ready[slot] = _EXHAUSTED
                self.advance()
                self.wake()
            else:
                outcome = await self.filler.try_attempt(slot, attempt)
                self.in_flight -= 1
                self.settle(slot, attempt, outcome)

    async def next_job(self) -> tuple[int, int] | None:
        while True:
            if self.retries:
                self.in_flight += 1
                return self.retries.pop(0)
            if self.next_new < len(self.slots):
                slot = self.slots[self.next_new]
                self.next_new += 1
                self.in_flight += 1
                return slot, self.next_attempt.get(slot, 0)
            if self.frontier >= len(self.slots) or not self.in_flight:
                return None  # all done, or nothing left that a pending slot does not block
            await self.changed.wait()

    def wake(self) -> None:
        self.changed.set()
        self.changed = asyncio.Event()

    def settle(self, slot: int, attempt: int, outcome: QAPair | Drop | Pending) -> None:
        filler = self.filler
        if isinstance(outcome, Pending):
            self.progress.pending.append(outcome)
            self.ready[slot] = _PENDING
            self.wake()
            return
        if isinstance(outcome, QAPair) and (earlier := filler.dedup.exact_match(outcome.question)) is not None:
            # A copy of a committed sample is a duplicate at commit time too: retry now
            # rather than when the frontier gets here (the same drop, found sooner).
            outcome = Drop(slot, attempt, outcome.index, DropReason.EXACT_DUPLICATE, matched=earlier)
        if isinstance(outcome, Drop):
            filler._record_drop(outcome, self.progress)
            if attempt + 1 < filler.max_attempts:
                self.retries.append((slot, attempt + 1))
            else:
                self.ready[slot] = _EXHAUSTED
        else:
            self.ready[slot] = outcome
        self.advance()
        self.wake()

    def advance(self) -> None:
        """Commit the settled slots at the frontier, in order, checking each sample for duplicates."""
        filler, progress = self.filler, self.progress
        while self.frontier < len(self.slots) and self.slots[self.frontier] in self.ready:
            slot = self.slots[self.frontier]
            if self.ready[slot] is _PENDING:
                return  # nothing after a pending slot is committed in this run
            sample = self.ready.pop(slot)
            if sample is _EXHAUSTED:
                progress.exhausted.append(slot)
            else:
                duplicate = filler.dedup.check(sample.id, sample.question)
                if duplicate is not None:
                    attempt = sample.meta["attempt"]
                    filler._record_drop(Drop(slot, attempt, sample.index, duplicate[0], matched=duplicate[1]), progress)
                    if attempt + 1 < filler.max_attempts:
                        self.retries.append((slot, attempt + 1))
                        return  # the frontier waits for this slot's next attempt
                    progress.exhausted.append(slot)
                else:
                    filler._commit(sample)
                    progress.committed += 1
                    progress.indices.append(sample.index)
                    self.on_commit()
            self.frontier += 1
