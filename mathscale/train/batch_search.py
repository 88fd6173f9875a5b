"""``--auto-batch-size``: the largest micro-batch that fits, with the global batch kept fixed.

:func:`largest_fitting` doubles, then bisects, calling ``fits(b)`` (a trial forward and
backward on the ``b`` longest examples: the worst micro-batch the run can meet). On GPU a
size does not fit when CUDA runs out of memory; the optimizer states the trial does not
allocate (AdamW: two fp32 moments per parameter, shared out by ZeRO) are held in a
placeholder meanwhile. On CPU, and anywhere ``memory_budget_bytes`` is set, the limit is
simulated: a size fits when its estimated footprint (weights, gradients, optimizer states,
and activations per token, as in Korthikanti et al. 2022) is within the budget, and the
trial step still runs, so the chosen size is known to work.

:func:`split_global_batch` then turns the size into a micro-batch that divides the
per-device share of the global batch, and the gradient accumulation that makes it up.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from mathscale.errors import MathscaleError

log = logging.getLogger(__name__)


def largest_fitting(fits: Callable[[int], bool], upper: int) -> int:
    """The largest ``b`` in ``1..upper`` with ``fits(b)``, assuming fitting is monotone; 0 if none."""
    if upper < 1 or not fits(1):
        return 0
    good, bad = 1, upper + 1
    probe = 2
    while probe < bad:  # double until a size fails or the upper bound is reached
        if fits(probe):
            good = probe
            probe *= 2
        else:
            bad = probe
            break
    if good == upper:
        return good
    bad = min(bad, upper + 1)
    while bad - good > 1:
        middle = (good + bad) // 2
        if fits(middle):
            good = middle
        else:
            bad = middle
    return good


@dataclass(frozen=True)
class BatchPlan:
    micro_batch: int
    accumulation: int
    largest_fitting: int


def split_global_batch(per_device_examples: int, largest: int) -> BatchPlan:
    """The largest micro-batch <= ``largest`` that divides ``per_device_examples``, and its accumulation."""
    if largest < 1:
        raise MathscaleError("--auto-batch-size: not even one example fits in memory; lower max_length, "
                             "or use gradient_checkpointing=true or a ZeRO offload preset")  # fmt: skip
    micro = max(d for d in range(1, min(largest, per_device_examples) + 1) if per_device_examples % d == 0)
    return BatchPlan(micro, per_device_examples // micro, largest)


def estimated_bytes(params: int, trainable: int, layers: int, hidden: int, tokens: int, bytes_per_value: int,
                    zero_shards: int = 1) -> int:  # fmt: skip
    """Training memory of one micro-batch of ``tokens`` tokens: states plus activations.

    Weights and gradients in the training dtype, AdamW's two fp32 moments (divided over
    ``zero_shards`` ranks), and per layer ~34 x hidden values per token of activations kept
    for the backward (Korthikanti et al. 2022, no recomputation).
    """
    states = params * bytes_per_value + trainable * bytes_per_value + trainable * 8 // max(1, zero_shards)
    activations = 34 * layers * hidden * tokens * bytes_per_value // 2  # their count is for 16-bit values
    return states + activations


def trial_fits(model: Any, collate: Callable[[list], dict], examples: Sequence[dict], device: str,
               budget_bytes: int = 0, bytes_per_value: int = 4, zero_shards: int = 1) -> Callable[[int], bool]:  # fmt: skip
    """``fits(b)`` for :func:`largest_fitting`: a forward and backward on the ``b`` longest examples.

    ``fits(b, chosen)`` tries the examples ``chosen`` instead (the token-budget search builds its own rows).
    """
    import torch

    longest = sorted(examples, key=lambda e: len(e["input_ids"]), reverse=True)
    config = model.config
    params = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)

    def fits(b: int, chosen: list[dict] | None = None) -> bool:
        batch = collate([dict(e) for e in (longest[:b] if chosen is None else chosen)])
        tokens = int(batch["input_ids"].numel())
        if budget_bytes:
            need = estimated_bytes(params, trainable, config.num_hidden_layers, config.hidden_size, tokens,
                                   bytes_per_value, zero_shards)  # fmt: skip
            if need > budget_bytes:
                log.info("micro-batch %d (%d tokens): needs ~%d bytes > budget %d", b, tokens, need, budget_bytes)
                return False
        placeholder = None
        try:
            if device == "cuda" and not budget_bytes:
                placeholder = torch.empty(trainable * 8 // max(1, zero_shards), dtype=torch.uint8, device="cuda")
            batch = {k: v.to(device) for k, v in batch.items() if hasattr(v, "to")}
            loss = model(**batch).loss
            loss.backward()
            return True
        except torch.OutOfMemoryError:
            return False
        finally:
            model.zero_grad(set_to_none=True)
            del placeholder
            if device == "cuda":
                torch.cuda.empty_cache()

    return fits


def search_batch_size(model: Any, collate, examples: Sequence[dict], per_device_examples: int, device: str,
                      budget_bytes: int = 0, bytes_per_value: int = 4, zero_shards: int = 1) -> BatchPlan:  # fmt: skip
    """Find the largest micro-batch (up to the per-device share of the global batch) and split the batch."""
    was_training = model.training
    model.train()
    fits = trial_fits(model, collate, examples, device, budget_bytes, bytes_per_value, zero_shards)
    plan = split_global_batch(per_device_examples, largest_fitting(fits, per_device_examples))
    model.train(was_training)
    return plan


TOKEN_STEP = 1024  # the token-budget search moves in steps of this many tokens


def search_token_budget(model: Any, collate, examples: Sequence[dict], max_tokens: int, device: str,
                        budget_bytes: int = 0, bytes_per_value: int = 4, zero_shards: int = 1) -> int:  # fmt: skip
    """The largest tokens-per-micro-batch (a multiple of 1,024, at most ``max_tokens``) whose step fits.

    Each trial packs the longest examples into one row of that many tokens (the worst row a
    token budget can produce: long examples cost the most attention) and runs a forward and
    backward, as :func:`trial_fits` does for example counts.
    """
    longest = sorted(examples, key=lambda e: len(e["input_ids"]), reverse=True)
    if not longest:
        raise MathscaleError("--auto-batch-size: no examples to try")

    def rows(tokens: int) -> list[dict]:
        picked, filled, i = [], 0, 0
        while filled < tokens:
            example = dict(longest[i % len(longest)])
            room = tokens - filled
            example = {k: (v[:room] if isinstance(v, list) else v) for k, v in example.items()}
            picked.append(example)
            filled += len(example["input_ids"])
            i += 1
        return picked

    upper = max(1, max_tokens // TOKEN_STEP)
    row_fits = trial_fits(model, collate, [], device, budget_bytes, bytes_per_value, zero_shards)
    was_training = model.training
    model.train()
    units = largest_fitting(lambda n: row_fits(n, rows(n * TOKEN_STEP)), upper)
    model.train(was_training)
    if units < 1:
        raise MathscaleError("--auto-batch-size: not even a 1,024-token micro-batch fits in memory; use "
                             "gradient_checkpointing=true or a ZeRO offload preset")  # fmt: skip
    return max_tokens if units == upper else units * TOKEN_STEP
