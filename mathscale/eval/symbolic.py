"""The slow path: math-verify, run in worker processes under a hard per-item time limit.

Most answers are settled by string, number, structure or point-evaluation checks in
microseconds (:mod:`mathscale.eval.equivalence`). What those cannot decide (LaTeX our small
parser does not read, ``\\operatorname{lcm}``, sets of expressions, an expression undefined
at the test points) goes to math-verify (Hugging Face's LaTeX-to-sympy answer checker):
:func:`math_verify_equal`, in :class:`WorkerPool`. A worker that overruns its time limit is
killed and replaced, and the item is counted as a timeout and graded wrong. Nothing here can
hang the caller.

math-verify bounds its own time with ``SIGALRM``, which works only in a process's main thread
and cannot interrupt a long C call (a huge integer power); so that alarm is turned off and
the pool's deadline is the bound, in threads and processes alike.
"""

from __future__ import annotations

import logging
import multiprocessing
import sys
import time
from collections.abc import Callable, Iterable
from multiprocessing.connection import Connection, wait
from typing import Any

from mathscale.eval.answer_normalize import strip_delimiters

log = logging.getLogger(__name__)


class NeedsSymbolic(Exception):
    """Raised by :func:`defer` so the caller can route the item to the worker pool."""


def defer(predicted: str, reference: str) -> bool:
    raise NeedsSymbolic


class _NoTimeoutWarning(logging.Filter):
    """math-verify warns once per process that its alarm is off; here the pool bounds the time."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Timeout is disabled")


def load_math_verify() -> Any:
    """Import math-verify (about 0.3 s with sympy); done before the workers fork, so they share it."""
    import math_verify

    for name in ("math_verify.parser", "math_verify.grader"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _NoTimeoutWarning) for f in logger.filters):
            logger.addFilter(_NoTimeoutWarning())
    return math_verify


def warm_math_verify() -> None:
    """Import math-verify and run it once (its parser and sympy set themselves up on first use,
    ~0.25 s): a worker's start-up, so that no item's time limit pays for it."""
    math_verify_equal("1", "1")
    math_verify_equal(r"\sin x + \frac{x^2}{2}", r"\frac{x^2}{2} + \sin x")


def _as_latex(answer: str) -> str:
    """An extracted answer as math-verify reads a LaTeX answer: one ``$...$``."""
    inner = strip_delimiters(answer).replace("$", "")
    return f"${inner}$"


def math_verify_equal(predicted: str, reference: str) -> bool:
    """math-verify's verdict on an extracted answer against the reference (no time limit here:
    call it through :class:`WorkerPool`)."""
    mv = load_math_verify()
    try:
        gold = mv.parse(_as_latex(reference), parsing_timeout=None)
        target = mv.parse(_as_latex(predicted), parsing_timeout=None)
        return bool(gold and target and mv.verify(gold, target, timeout_seconds=None))
    except Exception:  # noqa: BLE001 - math-verify raises on odd input; that answer is not shown equal
        return False


_READY = "ready"


def _serve(conn: Connection, task: Callable[..., Any], init: Callable[[], Any] | None) -> None:
    if init is not None:
        init()
    conn.send(_READY)
    while True:
        try:
            job = conn.recv()
        except EOFError:
            return
        if job is None:
            return
        key, args = job
        conn.send((key, task(*args)))


class _Worker:
    def __init__(self, ctx: Any, task: Callable[..., Any], init: Callable[[], Any] | None):
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_serve, args=(child, task, init), daemon=True)
        self.process.start()
        child.close()
        self.key: Any = None
        self.deadline = 0.0
        self.ready = False

    def wait_ready(self, limit: float) -> bool:
        """Wait for the worker's start-up (``init``); False when it died or took over ``limit`` s."""
        if not self.ready:
            try:
                self.ready = self.conn.poll(limit) and self.conn.recv() == _READY
            except (EOFError, OSError):
                self.ready = False
        return self.ready

    def kill(self) -> None:
        self.process.kill()
        self.process.join(5)
        self.conn.close()

    def stop(self) -> None:
        try:
            self.conn.send(None)
        except (BrokenPipeError, OSError):
            pass
        self.process.join(1)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(5)
        self.conn.close()


class WorkerPool:
    """Run ``task(*args)`` for many jobs in ``workers`` processes, each job within ``timeout`` s.

    >>> with WorkerPool(my_task, workers=2, timeout=5) as pool:   # doctest: +SKIP
    ...     results = pool.map({"k1": (x, y)})   # {"k1": value} or TIMEOUT
    """

    TIMEOUT = object()
    START_LIMIT = 120.0  # seconds a worker's init may take before the pool gives up on it

    def __init__(self, task: Callable[..., Any], workers: int = 1, timeout: float = 5.0,
                 init: Callable[[], Any] | None = None):  # fmt: skip
        method = "fork" if sys.platform.startswith("linux") else "spawn"
        self._ctx = multiprocessing.get_context(method)
        self.task = task
        self.init = init
        self.timeout = timeout
        self.size = max(1, workers)
        self._workers: list[_Worker] = []
        self.timeouts = 0

    def start(self, count: int | None = None) -> WorkerPool:
        """Start up to ``count`` workers now (all by default): their ``init`` (the import of
        math-verify) then runs beside the caller's own work instead of before the first job."""
        while len(self._workers) < min(self.size, count or self.size):
            self._workers.append(_Worker(self._ctx, self.task, self.init))
        return self

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for worker in self._workers:
            worker.stop()
        self._workers = []

    def map(self, jobs: dict[Any, tuple] | Iterable[tuple[Any, tuple]]) -> dict[Any, Any]:
        pending = list(jobs.items() if isinstance(jobs, dict) else jobs)
        pending.reverse()
        results: dict[Any, Any] = {}
        self.start(len(pending))
        busy: dict[Connection, _Worker] = {}
        while pending or busy:
            for worker in self._workers:
                if pending and worker.key is None:
                    if not worker.wait_ready(self.START_LIMIT):
                        raise RuntimeError("a grader worker process did not start (math-verify failed to load?)")
                    worker.key, args = pending.pop()
                    worker.deadline = time.monotonic() + self.timeout
                    worker.conn.send((worker.key, args))
                    busy[worker.conn] = worker
            if not busy:
                break
            remaining = min(w.deadline for w in busy.values()) - time.monotonic()
            for conn in wait(list(busy), timeout=max(0.0, remaining)):
                worker = busy.pop(conn)  # type: ignore[index]
                try:
                    key, value = conn.recv()  # type: ignore[union-attr]
                except (EOFError, OSError):  # the worker died: treat as a timeout
                    key, value = worker.key, self.TIMEOUT
                    self._replace(worker)
                results[key] = value
                worker.key = None
            now = time.monotonic()
            for conn, worker in list(busy.items()):
                if worker.deadline <= now:
                    log.info("symbolic check of %r passed %.1f s; killing its worker", worker.key, self.timeout)
                    results[worker.key] = self.TIMEOUT
                    del busy[conn]
                    self._replace(worker)
        self.timeouts += sum(1 for v in results.values() if v is self.TIMEOUT)
        return results

    def _replace(self, worker: _Worker) -> None:
        worker.kill()
        index = self._workers.index(worker)
        self._workers[index] = _Worker(self._ctx, self.task, self.init)
