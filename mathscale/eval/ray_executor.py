"""``eval --backend openai executor=ray``: the items as Ray tasks over a cluster, predictions saved as they come.

Each task sends its share of the prompts through the ``openai`` backend
(:func:`mathscale.eval.backends.generate_openai`) from the node it runs on, so a loopback
``llm.base_urls`` entry reaches that node's own server (``vllm serve`` on every node). The
driver hands each completion to ``on_result`` as its task finishes — the prediction store
appends it at once — and returns them in prompt order. Greedy decoding makes a completion a
function of its prompt, so the predictions, ``metrics.json`` and ``results.md`` are the
local run's. A task whose worker dies runs again (``ray.max_retries``); a killed driver,
run again, generates only the items its predictions lack, as a local run does.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter
from typing import Any

from mathscale.cluster.config import RayConfig
from mathscale.eval.backends import GenerationSettings

log = logging.getLogger(__name__)


def eval_task(settings: GenerationSettings, prompts: list[str], env: dict[str, str]) -> dict[str, Any]:
    """Ray task: the openai backend over ``prompts``; its completions, the model it found, what it warned of."""
    import os

    import ray

    from mathscale.cluster.session import task_environment
    from mathscale.eval.backends import generate_openai

    warnings: list[str] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = lambda record: warnings.append(record.getMessage())  # type: ignore[method-assign]
    backend_log = logging.getLogger("mathscale.eval.backends")
    backend_log.addHandler(handler)
    try:
        with task_environment(env):
            completions = generate_openai(prompts, settings)
    finally:
        backend_log.removeHandler(handler)
    return {"completions": completions, "model": settings.model, "warnings": warnings, "pid": os.getpid(),
            "node": ray.get_runtime_context().get_node_id(), "address": ray.util.get_node_ip_address()}  # fmt: skip


def generate_on_ray(prompts: list[str], settings: GenerationSettings, cfg: RayConfig) -> list[str]:
    """The openai backend's completions of ``prompts``, spread over the cluster of ``cfg``.

    Calls ``settings.on_result(index, completion)`` for each as its task finishes and sets
    ``settings.model`` to the endpoint's model when it was not given.
    """
    from tqdm import tqdm

    from mathscale.cluster.session import api_key_env, ray_session, task_error, task_size, worker_llm

    shipped = dataclasses.replace(settings, llm=worker_llm(settings.llm, "eval"), on_result=None)
    size = task_size(cfg, len(prompts))
    completions: list[str] = [""] * len(prompts)
    items: Counter[str] = Counter()
    addresses: dict[str, str] = {}
    with ray_session(cfg) as cluster:
        import ray

        task = ray.remote(eval_task).options(num_cpus=cfg.cpus_per_task, max_retries=cfg.max_retries)
        env = api_key_env(settings.llm)
        starts = {task.remote(shipped, prompts[lo : lo + size], env): lo for lo in range(0, len(prompts), size)}
        print(f"eval on {cluster.describe()}: {len(starts)} tasks of up to {size} items", flush=True)
        pending = list(starts)
        bar = tqdm(total=len(prompts), desc="eval", unit="item", disable=not settings.llm.progress)
        try:
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                lo = starts[done[0]]
                try:
                    result = ray.get(done[0])
                except Exception as exc:  # noqa: BLE001 - one line for the user
                    raise task_error(exc, f"eval: the task for items {lo}..{lo + size - 1}") from None
                for warning in result["warnings"]:
                    log.warning("items %d..%d: %s", lo, lo + len(result["completions"]) - 1, warning)
                for i, text in enumerate(result["completions"], lo):
                    completions[i] = text
                    if settings.on_result is not None:
                        settings.on_result(i, text)
                settings.model = settings.model or result["model"]
                items[result["node"]] += len(result["completions"])
                addresses[result["node"]] = result["address"]
                bar.update(len(result["completions"]))
        except BaseException:
            for ref in pending:
                ray.cancel(ref)
            raise
        finally:
            bar.close()
    print("items per node: " + ", ".join(f"{addresses[n]} ({n[:8]}) {k}" for n, k in sorted(items.items())))
    return completions
