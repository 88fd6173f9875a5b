"""The slow path: sympy equality, run in worker processes under a hard per-item time limit.

Most answers are settled by string, number or point-evaluation checks in microseconds
(:mod:`mathscale.eval.equivalence`). The few that are not (an expression undefined at the
test points, say) are sent to :class:`WorkerPool`; a worker that overruns its time limit is
killed and replaced, and the item is counted as a timeout and graded wrong. Nothing here
can hang the caller.
"""

from __future__ import annotations

import logging
import multiprocessing
import sys
import time
from collections.abc import Callable, Iterable
from multiprocessing.connection import Connection, wait
from typing import Any

from mathscale.eval.latex import Tree, to_sympy

log = logging.getLogger(__name__)


class NeedsSymbolic(Exception):
    """Raised by :func:`defer` so the caller can route the item to the worker pool."""


def defer(a: Tree, b: Tree) -> bool:
    raise NeedsSymbolic


def sympy_equal(a: Tree, b: Tree) -> bool:
    """True when sympy proves ``a - b`` simplifies to zero (import sympy on first use)."""
    import sympy

    try:
        ea, eb = to_sympy(a), to_sympy(b)
        diff = sympy.simplify(ea - eb)
        if diff == 0:
            return True
        return bool(ea.equals(eb))
    except (TypeError, ValueError, ArithmeticError, AttributeError, RecursionError):
        return False


def _serve(conn: Connection, task: Callable[..., Any]) -> None:
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
    def __init__(self, ctx: Any, task: Callable[..., Any]):
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_serve, args=(child, task), daemon=True)
        self.process.start()
        child.close()
        self.key: Any = None
        self.deadline = 0.0

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

    def __init__(self, task: Callable[..., Any], workers: int = 1, timeout: float = 5.0):
        method = "fork" if sys.platform.startswith("linux") else "spawn"
        self._ctx = multiprocessing.get_context(method)
        self.task = task
        self.timeout = timeout
        self.size = max(1, workers)
        self._workers: list[_Worker] = []
        self.timeouts = 0

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
        while len(self._workers) < min(self.size, len(pending)):
            self._workers.append(_Worker(self._ctx, self.task))
        busy: dict[Connection, _Worker] = {}
        while pending or busy:
            for worker in self._workers:
                if pending and worker.key is None:
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
        self._workers[index] = _Worker(self._ctx, self.task)
