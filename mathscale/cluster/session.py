"""``executor: ray``: where ``generate`` and ``eval`` spread their work over a Ray cluster.

>>> with ray_session(RayConfig(address="10.0.0.1:6379")) as cluster:  # doctest: +SKIP
...     print(cluster.describe())

What both executors share (their settings, :class:`RayConfig`, are in ``config.py``):
connecting to the cluster (``ray.address``, else ``$RAY_ADDRESS``, else a new Ray instance
on this machine), the size of a task, the endpoint the workers call (not the embedded
model, which a worker cannot start), and the one line a failed task becomes. The work
itself is in :mod:`mathscale.generate.ray_executor` and :mod:`mathscale.eval.ray_executor`.
Ray is imported only inside the functions (``pip install 'mathscale[ray]'``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from mathscale.cluster.config import TASK_SIZE_BOUNDS, TASKS_PER_RUN, RayConfig
from mathscale.errors import MathscaleError

log = logging.getLogger(__name__)


def task_size(cfg: RayConfig, total: int) -> int:
    """Slots (or items) per task: ``cfg.task_size``, else about ``total / 64`` within 16..256.

    A function of ``total`` alone, so a rerun of the same command cuts the same tasks.
    """
    if cfg.task_size > 0:
        return cfg.task_size
    low, high = TASK_SIZE_BOUNDS
    return max(low, min(high, -(-total // TASKS_PER_RUN)))


def check_ray_config(cfg: RayConfig) -> None:
    """The settings alone (``run --dry-run`` checks them too)."""
    if cfg.task_size < 0:
        raise MathscaleError(f"ray.task_size={cfg.task_size}: must be positive, or 0 for automatic")
    if cfg.cpus_per_task < 0:
        raise MathscaleError(f"ray.cpus_per_task={cfg.cpus_per_task}: cannot be negative")
    if cfg.max_retries < 0:
        raise MathscaleError(f"ray.max_retries={cfg.max_retries}: cannot be negative")


def require_ray() -> Any:
    """The ``ray`` module, or a one-line error saying how to install it."""
    try:
        import ray
    except ImportError:
        raise MathscaleError("executor=ray needs Ray, which is not installed: pip install 'mathscale[ray]' "
                             "(on the driver and on every node of the cluster), or use executor=local") from None  # fmt: skip
    return ray


def worker_llm(llm: Any, what: str) -> Any:
    """The ``llm`` settings the cluster's workers get: the driver's endpoint list made explicit.

    ``$OPENAI_BASE_URL`` is resolved here, on the driver, since a worker's environment may
    lack it. With no endpoint at all there is nothing for a worker to call: the embedded
    model runs with ``executor: local`` only. A loopback URL (``http://127.0.0.1:8000/v1``)
    reaches the server of whichever node the task runs on.
    """
    from mathscale.llm.endpoints import resolve_endpoints

    urls = resolve_endpoints(llm)
    if not urls:
        raise MathscaleError(f"{what} with executor=ray: the cluster's workers need an OpenAI-compatible endpoint; "
                             "set llm.base_urls (http://127.0.0.1:8000/v1 reaches a server on each task's own node, "
                             "e.g. `vllm serve` started on every node) or OPENAI_BASE_URL; the embedded model runs "
                             "with executor=local only")  # fmt: skip
    return dataclasses.replace(llm, base_urls=urls, progress=False)


def api_key_env(llm: Any) -> dict[str, str]:
    """The API key variable as the driver has it, handed to each task as an argument (it is
    never put in a runtime environment, which Ray shows in its dashboard); {} when unset."""
    value = os.environ.get(llm.api_key_env)
    return {llm.api_key_env: value} if value else {}


@contextlib.contextmanager
def task_environment(env: dict[str, str]) -> Iterator[None]:
    """Run a task with the driver's API key (the worker's own value where the driver had none)."""
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@dataclass(frozen=True)
class Cluster:
    """The cluster a command is connected to."""

    address: str  # as given, or "local" for an instance started by this command
    nodes: list[dict[str, Any]]  # alive nodes: id, address, CPUs

    @property
    def cpus(self) -> float:
        return sum(n["cpus"] for n in self.nodes)

    def describe(self) -> str:
        where = "a new local Ray instance" if self.address == "local" else f"the Ray cluster at {self.address}"
        return f"{where}: {len(self.nodes)} nodes, {self.cpus:g} CPUs"


@contextlib.contextmanager
def ray_session(cfg: RayConfig) -> Iterator[Cluster]:
    """Connect to the cluster (or start a local one) for the ``with`` block; disconnect after.

    Only this command's driver disconnects: the cluster, started by ``ray start``, goes on.
    A local instance started here ends with the block.
    """
    ray = require_ray()
    check_ray_config(cfg)
    address = cfg.address or os.environ.get("RAY_ADDRESS", "") or "local"
    kwargs: dict[str, Any] = {"logging_level": logging.WARNING, "log_to_driver": False}
    if address == "local":
        kwargs["include_dashboard"] = False
    try:
        ray.init(address=address, **kwargs)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise MathscaleError(f"ray.address={address}: cannot connect to a Ray cluster ({str(exc).splitlines()[0][:200]}); "
                             "start one with `ray start --head --port=6379` and give its HOST:PORT, or leave "
                             "ray.address empty for a local instance") from None  # fmt: skip
    try:
        nodes = [{"id": n["NodeID"], "address": n["NodeManagerAddress"], "cpus": n["Resources"].get("CPU", 0)}
                 for n in ray.nodes() if n.get("Alive")]  # fmt: skip
        yield Cluster(address, nodes)
    finally:
        ray.shutdown()


def task_error(exc: BaseException, what: str) -> MathscaleError:
    """One line for a task that failed for good: the worker's own MathscaleError (an endpoint
    its node cannot reach, ...) as it was, anything else with what to do."""
    ray = require_ray()
    if isinstance(exc, ray.exceptions.RayTaskError):
        cause = exc.cause
        if isinstance(cause, MathscaleError):
            return type(cause)(f"{what} (on a cluster node): {cause}")
        if isinstance(cause, ModuleNotFoundError) and "mathscale" in str(cause):
            return MathscaleError(f"{what}: mathscale is not installed on a cluster node ({cause}); install the "
                                  "same mathscale on every node")  # fmt: skip
        text = f"{type(cause).__name__}: {cause}".splitlines()[0][:300]
    else:
        text = f"{type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}"
    return MathscaleError(f"{what} failed on the cluster ({text}); what finished is kept: rerun the same command "
                          "to resume")  # fmt: skip
