"""Micro-batches by tokens: fill each packed row up to ``max_tokens_per_batch`` instead of a count.

An example count is a poor unit on a GPU: 16 GSM8K answers are ~4.5K tokens, 16 long MATH
solutions several times that, and neither is what fills the device. With packing, a
micro-batch is one row of concatenated examples (position_ids restart per example), so the
natural budget is its length:

- :func:`group_by_tokens` cuts a seeded random order of the examples into consecutive groups
  of at most ``max_tokens`` tokens (greedy: an example that does not fit starts the next
  group). The order is shuffled once, so groups mix short and long examples the way random
  batches do; the Trainer's sampler then shuffles the groups every epoch.
- :class:`TokenBatches` is the dataset of those groups (one item = one micro-batch), read
  from the tokenised ``datasets.Dataset`` in one slice per group;
- :class:`GroupCollator` flattens a group with the same padding-free collator
  ``mathscale train`` uses for example-count batches, so both paths give the same rows.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from mathscale.errors import MathscaleError

DEFAULT_GPU_TOKENS = 16384  # max_tokens_per_batch=-1 on a GPU: ~58 GSM8K/MATH examples per row


def group_by_tokens(lengths: Sequence[int], max_tokens: int, seed: int) -> list[list[int]]:
    """Indices of the examples in groups of at most ``max_tokens`` tokens, in a seeded random order."""
    if max_tokens < 1:
        raise MathscaleError(f"max_tokens_per_batch must be >= 1, got {max_tokens}")
    longest = max(lengths, default=0)
    if longest > max_tokens:
        raise MathscaleError(f"max_tokens_per_batch={max_tokens} is below the longest example ({longest} tokens); "
                             f"raise it to at least max_length, or lower max_length")  # fmt: skip
    order = list(range(len(lengths)))
    random.Random(seed).shuffle(order)
    groups: list[list[int]] = []
    current: list[int] = []
    filled = 0
    for i in order:
        if current and filled + lengths[i] > max_tokens:
            groups.append(current)
            current, filled = [], 0
        current.append(i)
        filled += lengths[i]
    if current:
        groups.append(current)
    return groups


def resolve_max_tokens(max_tokens_per_batch: int, cuda: bool, packing: bool) -> int:
    """The token budget in force: -1 means 16K on a GPU with packing, example counts otherwise (0)."""
    if max_tokens_per_batch == -1:
        return DEFAULT_GPU_TOKENS if cuda and packing else 0
    if max_tokens_per_batch > 0 and not packing:
        raise MathscaleError("max_tokens_per_batch needs packing=true (padded batches are sized in examples); "
                             "set max_tokens_per_batch=0 to use per_device_batch_size")  # fmt: skip
    if max_tokens_per_batch < -1:
        raise MathscaleError(f"max_tokens_per_batch must be -1 (auto), 0 (examples) or a token count, got "
                             f"{max_tokens_per_batch}")  # fmt: skip
    return max_tokens_per_batch


class TokenBatches:
    """A map-style dataset whose item ``i`` is the ``i``-th group of examples (a list of feature dicts)."""

    def __init__(self, dataset: Any, groups: list[list[int]]):
        self.dataset, self.groups = dataset, groups

    def __len__(self) -> int:
        return len(self.groups)

    def __getitem__(self, i: int) -> dict[str, list]:
        rows = self.dataset[self.groups[i]]  # one Arrow slice: {column: [value per example]}
        return {"examples": [dict(zip(rows, values)) for values in zip(*rows.values())]}


class GroupCollator:
    """Flattens the examples of each group in the batch into one packed row (batch size is 1 group)."""

    def __init__(self, inner):
        self.inner = inner

    def __call__(self, items: list[dict[str, list]]) -> dict:
        return self.inner([example for item in items for example in item["examples"]])


def group_stats(groups: list[list[int]], lengths: Sequence[int]) -> dict[str, float]:
    """Examples and tokens per group (mean and smallest), for the log line."""
    tokens = [sum(lengths[i] for i in g) for g in groups]
    return {
        "groups": len(groups),
        "examples_per_group": sum(len(g) for g in groups) / max(1, len(groups)),
        "tokens_per_group": sum(tokens) / max(1, len(groups)),
        "smallest_group_tokens": min(tokens, default=0),
    }
