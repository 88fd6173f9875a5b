"""``generate`` with ``executor: ray``: the slots as Ray tasks over a cluster; the one-process run's bytes.

Why the result is exact. What an attempt yields — the candidate sample its walk's reply
becomes, or the reason it was dropped before any duplicate check (LLM failure, filters,
contamination, vote, quality, a repeated composition) — depends only on the graph, the
settings, (slot, attempt) and the teacher's reply, never on other slots (``pipeline.py``).
Which attempt a slot *keeps* does depend on the slots before it: a duplicate of a sample a
lower slot kept is dropped and the slot tries its next walk. So the work splits in two:

1. **Tasks** (``ray_tasks.py``). Each Ray task runs the ordinary :class:`SlotFiller` over a
   range of slots (``ray.task_size``), de-duplicating within that range, and hands back
   what every attempt it made yielded. The driver writes each task's outcomes to
   ``SAMPLES.ray/`` as they arrive.
2. **Replay** (here). The driver runs the same :class:`SlotFiller` over all the slots with
   those outcomes in place of the LLM (:class:`ReplayFiller`): duplicate checks, commits in
   slot order and drops are the one-process run's, so SAMPLES is too, byte for byte. Where
   one process tries an attempt that no task made (a sample its task kept duplicates a
   sample from another task's range, so the slot goes on to its next walk), that attempt
   is asked of the cluster then (:class:`RemoteAttempts`), as one process would ask it.

A task whose worker process or node dies is run again by Ray (``ray.max_retries``); the
node's LLM cache answers what it had already asked. A driver killed and run again finds
its commits in SAMPLES (as a local resume does) and the finished tasks' outcomes in
``SAMPLES.ray/``, and asks the cluster only for the rest. ``SAMPLES.ray/`` is removed once
every slot is settled (filled, or out of attempts).
"""

from __future__ import annotations

import asyncio
import bisect
import hashlib
import json
import shutil
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from mathscale.generate.config import GenerateConfig
from mathscale.generate.pipeline import Drop, Progress, SlotFiller
from mathscale.generate.ray_tasks import PING_S, Context, parse_outcome
from mathscale.io import JsonlWriter, atomic_write, repair_torn_tail, side_file
from mathscale.records import QAPair

SCHEMA = "mathscale.ray-task/1"  # the first line of each file in SAMPLES.ray/
ATTEMPTS_FILE = "attempts.jsonl"  # single attempts the replay asked of the cluster


class Runner(Protocol):
    """Where the tasks run: :class:`RayRunner` (tests run the same task functions in threads)."""

    def task(self, number: int, slots: list[int], next_attempt: dict[int, int]) -> Awaitable[dict[str, Any]]: ...
    def attempts(self, pairs: list[tuple[int, int]]) -> Awaitable[dict[str, Any]]: ...
    async def view(self) -> tuple[dict[int, int], int]: ...  # (slots settled per running task, task restarts)
    def cancel(self) -> None: ...


class ReplayFiller(SlotFiller):
    """A :class:`SlotFiller` whose attempts come from ``outcomes`` (the cluster's), not from an LLM."""

    def __init__(self, cfg: GenerateConfig, context: Context, outcomes: Outcomes, dedup: Any,
                 commit: Callable[[QAPair], None], drop: Callable[[Drop], None]):  # fmt: skip
        # ``outcomes`` stands where the LLM client goes: it has the ``concurrency`` the filler reads
        super().__init__(cfg, context.sampler, context.examples, outcomes, context.contamination, dedup,  # type: ignore[arg-type]
                         commit=commit, drop=drop, repeats=context.repeats)  # fmt: skip
        self.outcomes = outcomes

    async def try_attempt(self, slot: int, attempt: int) -> QAPair | Drop:
        return await self.outcomes.get(slot, attempt)


def outcomes_key(cfg: GenerateConfig) -> str:
    """What the outcomes depend on: every setting that can change a sample except ``n``, and the graph's content."""
    from mathscale.keys import key_view
    from mathscale.run.stages import file_digest

    parts = {"config": key_view(cfg, skip=("n",)), "graph": file_digest(Path(cfg.graph))}
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


@dataclass
class Source:
    """The outcomes of one task's range of slots: its file in SAMPLES.ray/, or a task still running."""

    lo: int
    hi: int  # slots lo..hi-1
    path: Path
    todo: int = 0  # slots of this run in the range the replay has not settled yet
    ready: asyncio.Event | None = None  # a running task's: set when its file is written (or it failed)
    error: BaseException | None = None
    outcomes: dict[tuple[int, int], dict[str, Any]] | None = None  # read when the replay first needs them
    node: str = ""
    address: str = ""


def read_source(path: Path, key: str) -> Source | None:
    """A task file's range, or None when it was written with other settings (or is not one)."""
    try:
        with path.open("rb") as handle:
            header = json.loads(handle.readline())
        if not isinstance(header, dict) or header.get("schema") != SCHEMA or header.get("key") != key:
            return None
        lo, hi = header["slots"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return Source(int(lo), int(hi), path, node=header.get("node", ""), address=header.get("address", ""))


def saved_sources(folder: Path, key: str) -> tuple[list[Source], int]:
    """The task files an interrupted run left with these settings, and how many others there were."""
    if not folder.is_dir():
        return [], 0
    paths = sorted(folder.glob("slots-*.jsonl"))
    saved = [s for p in paths if (s := read_source(p, key)) is not None]
    return saved, len(paths) - len(saved)


def load_outcomes(path: Path) -> dict[tuple[int, int], dict[str, Any]]:
    outcomes = {}
    with path.open("rb") as handle:
        handle.readline()  # the header
        for raw in handle:
            obj = json.loads(raw)
            outcomes[(obj["slot"], obj["attempt"])] = obj
    return outcomes


def read_attempts(path: Path, key: str) -> dict[tuple[int, int], dict[str, Any]] | None:
    """Single attempts an interrupted invocation asked; None when no file was written with these settings."""
    if not path.exists():
        return None
    asked: dict[tuple[int, int], dict[str, Any]] = {}
    with path.open("rb") as handle:
        try:
            header = json.loads(handle.readline())
        except ValueError:
            header = None
        if not isinstance(header, dict) or header.get("schema") != SCHEMA or header.get("key") != key:
            path.unlink()  # ours, from a run with other settings
            return None
        for raw in handle:
            if not raw.endswith(b"\n"):
                break  # cut off by a kill (repaired before the next append)
            obj = json.loads(raw)
            asked[(obj["slot"], obj["attempt"])] = obj
    return asked


def plan_tasks(slots: range, todo: list[int], saved: list[Source], size: int) -> list[tuple[int, int, list[int]]]:
    """(lo, hi, slots to fill) per new task: the todo slots no saved task covers, cut at multiples of ``size``.

    The cuts depend only on the run's slots and ``size``, so a rerun cuts the same tasks and
    finds their files.
    """
    spans = sorted((s.lo, s.hi) for s in saved)
    starts = [lo for lo, _ in spans]
    longest = max((hi - lo for lo, hi in spans), default=0)

    def covered(slot: int) -> bool:
        at = bisect.bisect_right(starts, slot)
        while at > 0 and starts[at - 1] > slot - longest:
            at -= 1
            if spans[at][0] <= slot < spans[at][1]:
                return True
        return False

    groups: dict[int, list[int]] = {}
    for slot in todo:
        if not covered(slot):
            groups.setdefault((slot - slots.start) // size, []).append(slot)
    return [(slots.start + c * size, min(slots.start + (c + 1) * size, slots.stop), members)
            for c, members in sorted(groups.items())]  # fmt: skip


class RemoteAttempts:
    """Single attempts asked of the cluster, batched: those that come while a batch runs go in the next."""

    def __init__(self, submit: Callable[[list[tuple[int, int]]], Awaitable[dict[str, Any]]],
                 persist: Callable[[dict[str, Any]], None], in_flight: int = 2):  # fmt: skip
        self.submit, self.persist, self.in_flight = submit, persist, in_flight
        self.queue: list[tuple[tuple[int, int], asyncio.Future]] = []
        self.running = 0
        self.asked = 0

    async def get(self, slot: int, attempt: int) -> bytes:
        future = asyncio.get_running_loop().create_future()
        self.queue.append(((slot, attempt), future))
        self._kick()
        return await future

    def _kick(self) -> None:
        while self.queue and self.running < self.in_flight:
            batch, self.queue = self.queue, []
            self.running += 1
            asyncio.ensure_future(self._run(batch))

    async def _run(self, batch: list[tuple[tuple[int, int], asyncio.Future]]) -> None:
        try:
            result = await self.submit([pair for pair, _ in batch])
            self.asked += len(batch)
            self.persist(result)
            for (_, future), line in zip(batch, result["lines"]):
                future.set_result(line)
        except BaseException as exc:  # noqa: BLE001 - handed to every waiter
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
        finally:
            self.running -= 1
            self._kick()


@dataclass
class Tally:
    """What the cluster did for this invocation: per node the samples committed and the tasks run; LLM usage."""

    samples: Counter[str] = field(default_factory=Counter)
    tasks: Counter[str] = field(default_factory=Counter)
    addresses: dict[str, str] = field(default_factory=dict)
    usage: list[dict[str, Any]] = field(default_factory=list)

    def task(self, result: dict[str, Any]) -> None:
        self.tasks[result["node"]] += 1
        self.addresses[result["node"]] = result["address"]
        self.usage.append(result["usage"])

    def nodes(self) -> list[dict[str, Any]]:
        return [{"node": node, "address": self.addresses.get(node, ""), "samples": self.samples[node],
                 "tasks": self.tasks[node]} for node in sorted(set(self.tasks) | set(self.samples))]  # fmt: skip


class Outcomes:
    """The outcome of any (slot, attempt): from the task whose range holds the slot, else asked of the cluster.

    Plays the LLM client's part for :class:`ReplayFiller` (``concurrency``: attempts in
    flight). A task's outcomes are read from its file when the replay first reaches its
    range and let go once every slot of the range is settled, so memory holds a few ranges
    whatever N is.
    """

    def __init__(self, sources: list[Source], remote: RemoteAttempts, asked: dict[tuple[int, int], dict[str, Any]],
                 concurrency: int, tally: Tally):  # fmt: skip
        self.sources = sorted(sources, key=lambda s: (s.lo, s.hi))
        self.starts = [s.lo for s in self.sources]
        self.longest = max((s.hi - s.lo for s in self.sources), default=0)
        self.remote, self.asked, self.concurrency, self.tally = remote, asked, concurrency, tally
        self.node_of: dict[int, str] = {}  # slot -> node of its latest outcome (the committed one, once it is)

    def containing(self, slot: int) -> list[Source]:
        at = bisect.bisect_right(self.starts, slot)
        found = []
        while at > 0 and self.starts[at - 1] > slot - self.longest:
            at -= 1
            if self.sources[at].lo <= slot < self.sources[at].hi:
                found.append(self.sources[at])
        return found

    async def get(self, slot: int, attempt: int) -> QAPair | Drop:
        for source in self.containing(slot):
            if source.outcomes is None:
                if source.ready is not None:
                    await source.ready.wait()
                if source.error is not None:
                    raise source.error
                if source.outcomes is None:
                    source.outcomes = load_outcomes(source.path)
            if (obj := source.outcomes.get((slot, attempt))) is not None:
                self.node_of[slot] = source.node
                return parse_outcome(obj, f"{source.path}: slot {slot}, attempt {attempt}")
        obj = self.asked.get((slot, attempt))
        if obj is None:
            obj = json.loads(await self.remote.get(slot, attempt))
            self.asked[(slot, attempt)] = obj
        self.node_of[slot] = obj.get("node", "")
        return parse_outcome(obj, f"slot {slot}, attempt {attempt}")

    def settled(self, slot: int, committed: bool) -> None:
        """The replay is done with ``slot``: count its sample's node; let go of ranges it finished."""
        node = self.node_of.pop(slot, "")
        if committed:
            self.tally.samples[node] += 1
        for source in self.containing(slot):
            source.todo -= 1
            if source.todo <= 0:
                source.outcomes = None


async def replay(cfg: GenerateConfig, context: Context, dedup: Any, out: Path, folder: Path, key: str,
                 saved: list[Source], plan: list[tuple[int, int, list[int]]], todo: list[int],
                 next_attempt: dict[int, int], progress: Progress, done_before: int, total: int,
                 runner: Runner, tally: Tally) -> dict[str, Any]:  # fmt: skip
    """Start the planned tasks, replay the outcomes as they come, write SAMPLES and its drops.

    Returns what the cluster did (tasks, restarts, single attempts asked, per node samples and tasks).
    """
    from tqdm import tqdm

    folder.mkdir(parents=True, exist_ok=True)
    tasks: list[tuple[Source, list[int], Awaitable[dict[str, Any]]]] = []
    for number, (lo, hi, members) in enumerate(plan):
        source = Source(lo, hi, folder / f"slots-{lo}-{hi}.jsonl", ready=asyncio.Event())
        starts = {s: next_attempt[s] for s in members if s in next_attempt}
        tasks.append((source, members, runner.task(number, members, starts)))
    sources = saved + [source for source, _, _ in tasks]
    for source in sources:
        source.todo = bisect.bisect_left(todo, source.hi) - bisect.bisect_left(todo, source.lo)

    async def collect(source: Source, members: list[int], pending: Awaitable[dict[str, Any]]) -> None:
        try:
            result = await pending
            header = {"schema": SCHEMA, "key": key, "slots": [source.lo, source.hi], "filled": len(members),
                      "node": result["node"], "address": result["address"], "usage": result["usage"]}  # fmt: skip
            atomic_write(source.path, (json.dumps(header) + "\n").encode() + result["lines"])
            source.node, source.address = result["node"], result["address"]
            tally.task(result)
        except Exception as exc:  # noqa: BLE001 - the replay raises it when it reaches these slots
            source.error = exc
        finally:
            assert source.ready is not None
            source.ready.set()

    asked_path = folder / ATTEMPTS_FILE
    asked = read_attempts(asked_path, key)
    repair_torn_tail(asked_path)
    with asked_path.open("ab") as asked_file:
        if asked is None:
            asked = {}
            asked_file.write((json.dumps({"schema": SCHEMA, "key": key}) + "\n").encode())

        def persist(result: dict[str, Any]) -> None:
            tally.task(result)
            for line in result["lines"]:
                entry = {**json.loads(line), "node": result["node"]}
                asked_file.write((json.dumps(entry, ensure_ascii=False) + "\n").encode())
            asked_file.flush()

        remote = RemoteAttempts(runner.attempts, persist)
        outcomes = Outcomes(sources, remote, asked, cfg.llm.concurrency, tally)
        bar = tqdm(total=total, initial=done_before, desc="generate", unit="slot", disable=not cfg.llm.progress)
        reused = sum(s.todo for s in saved)

        async def watch() -> None:  # the bar: slots settled anywhere on the cluster
            while True:
                await asyncio.sleep(PING_S)
                running, restarts = await runner.view()
                done = [source.ready.is_set() for source, _, _ in tasks]  # type: ignore[union-attr]
                finished = sum(len(members) for (_, members, _), d in zip(tasks, done) if d)
                busy = sum(n for t, n in running.items() if t < len(tasks) and not done[t])
                bar.n = min(total, done_before + reused + finished + busy)
                bar.set_postfix_str(f"tasks {sum(done)}/{len(tasks)}, committed {progress.committed}, "
                                    f"task restarts {restarts}", refresh=True)  # fmt: skip

        with JsonlWriter(out) as samples, JsonlWriter(side_file(out, ".drops.jsonl")) as dropped:

            def commit(sample: QAPair) -> None:
                samples.write(sample)
                outcomes.settled(sample.meta["slot"], committed=True)

            def drop(d: Drop) -> None:
                dropped.write(d.to_json())
                if d.attempt + 1 >= cfg.max_attempts:  # its last attempt: the slot is used up
                    outcomes.settled(d.slot, committed=False)

            filler = ReplayFiller(cfg, context, outcomes, dedup, commit=commit, drop=drop)
            collectors = [asyncio.ensure_future(collect(*task)) for task in tasks]
            watcher = asyncio.ensure_future(watch()) if cfg.llm.progress else None
            try:
                await filler.fill(todo, next_attempt, progress)
                await asyncio.gather(*collectors)
                restarts = (await runner.view())[1]
                bar.n = total
            except BaseException:
                runner.cancel()
                raise
            finally:
                if watcher is not None:
                    watcher.cancel()
                bar.close()
    return {"executor": "ray", "task_size": max((s.hi - s.lo for s in sources), default=0), "tasks": len(tasks),
            "tasks_reused": len(saved), "task_restarts": restarts, "remote_attempts": remote.asked,
            "nodes": tally.nodes()}  # fmt: skip


class RayRunner:
    """The tasks of ``ray_tasks.py`` on the connected Ray cluster."""

    def __init__(self, context: Context, cfg: GenerateConfig, env: dict[str, str]):
        import ray
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        from mathscale.generate.ray_tasks import Ledger, run_attempts, run_task

        self.ray = ray
        self.context_ref = [ray.put(context)]
        self.env = env
        here = NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), soft=False)
        self.ledger = ray.remote(Ledger).options(num_cpus=0, scheduling_strategy=here).remote()
        self._task = ray.remote(run_task).options(num_cpus=cfg.ray.cpus_per_task, max_retries=cfg.ray.max_retries)
        # single attempts wait on the endpoint, not on a CPU: they must not queue behind the tasks
        self._attempts = ray.remote(run_attempts).options(num_cpus=0, max_retries=cfg.ray.max_retries)
        self.refs: list[Any] = []

    async def _result(self, ref: Any, what: str) -> dict[str, Any]:
        from mathscale.cluster.session import task_error

        try:
            return await asyncio.wrap_future(ref.future())
        except Exception as exc:  # noqa: BLE001 - one line for the user
            raise task_error(exc, what) from None

    def task(self, number: int, slots: list[int], next_attempt: dict[int, int]) -> Awaitable[dict[str, Any]]:
        ref = self._task.remote(self.context_ref, number, slots, next_attempt, self.env, self.ledger)
        self.refs.append(ref)
        return self._result(ref, f"generate: the task for slots {slots[0]}..{slots[-1]}")

    def attempts(self, pairs: list[tuple[int, int]]) -> Awaitable[dict[str, Any]]:
        ref = self._attempts.remote(self.context_ref, pairs, self.env)
        self.refs.append(ref)
        return self._result(ref, f"generate: attempts of slots {', '.join(str(s) for s, _ in pairs[:5])}")

    async def view(self) -> tuple[dict[int, int], int]:
        return await asyncio.wrap_future(self.ledger.view.remote().future())

    def cancel(self) -> None:
        for ref in self.refs:
            self.ray.cancel(ref)


def fill_slots_ray(cfg: GenerateConfig, inputs: Any, out: Path, slots: range, todo: list[int],
                   next_attempt: dict[int, int], progress: Progress, done_before: int) -> tuple[dict[str, Any], dict[str, Any]]:  # fmt: skip
    """:func:`mathscale.generate.command.fill_slots` on the Ray cluster of ``cfg.ray``, writing the same files.

    Returns the LLM usage over every invocation and what the cluster did, for the report.
    """
    from mathscale.cluster.session import api_key_env, ray_session, task_size, worker_llm
    from mathscale.generate.command import usage_total
    from mathscale.llm.usage_totals import append_invocation, total

    cfg = replace(cfg, llm=worker_llm(cfg.llm, "generate"))
    folder = side_file(out, ".ray")
    key = outcomes_key(cfg)
    saved, stale = saved_sources(folder, key)
    if stale:
        print(f"{folder}: {stale} task files were written with other settings; ignored (their slots run again)")
    size = task_size(cfg.ray, len(slots))
    plan = plan_tasks(slots, todo, saved, size)
    context = Context(cfg, inputs.sampler, inputs.examples, inputs.contamination, inputs.repeats)
    usage_path = side_file(out, ".usage.json")
    tally = Tally()
    with ray_session(cfg.ray) as cluster:
        runner = RayRunner(context, cfg, api_key_env(cfg.llm))
        reused = f"; {len(saved)} finished by an interrupted run are reused" if saved else ""
        print(f"generate on {cluster.describe()}: {len(plan)} tasks of up to {size} slots{reused}", flush=True)
        try:
            summary = asyncio.run(replay(cfg, context, inputs.dedup, out, folder, key, saved, plan, todo, next_attempt,
                                         progress, done_before, len(slots), runner, tally))  # fmt: skip
        finally:
            usage = {**total(tally.usage), "executor": "ray", "tasks": sum(tally.tasks.values())}
            del usage["invocations"]
            append_invocation(usage_path, usage)  # this invocation's tasks, after the earlier invocations
            print(f"LLM {usage['model'] or '?'} over {usage['tasks']} Ray tasks: {usage['requests']} requests, "
                  f"{usage['succeeded']} ok, {usage['failed']} failed; {usage['cache_hits']} from cache, "
                  f"{usage['api_calls']} API calls, {usage['retries']} retries")  # fmt: skip
    shutil.rmtree(folder, ignore_errors=True)  # every slot is settled: SAMPLES and its drops hold it all
    return usage_total(usage_path), summary
