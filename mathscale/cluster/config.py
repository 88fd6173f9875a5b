"""Settings of ``executor: ray`` (the ``ray:`` section of ``generate`` and ``eval``); cheap to import."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from mathscale.keys import not_in_key

# How a command runs its LLM work: "local" in this process, "ray" as Ray tasks over a cluster.
Executor = Literal["local", "ray"]

TASKS_PER_RUN = 64  # an automatic task size cuts the work into about this many tasks ...
TASK_SIZE_BOUNDS = (16, 256)  # ... of this many slots (or items) at least and at most


@dataclass
class RayConfig:
    """``executor: ray``: the cluster and how the work is cut into Ray tasks."""

    # head node HOST:PORT (`ray start --head --port=PORT`); "" = $RAY_ADDRESS, else a new local Ray instance
    address: str = not_in_key("")
    task_size: int = not_in_key(
        0,
        help="generate: slots per Ray task; eval: items per task; 0 = about 1/64 of the work, 16..256",
    )
    cpus_per_task: float = not_in_key(
        1.0,
        help="CPUs a task reserves; 0.25 runs 4 per CPU (its requests mostly wait on the endpoint)",
    )
    max_retries: int = not_in_key(3, help="a task whose worker process or node died runs again, up to this many times")
