"""One LLM call per concept set: which walks repeat the composition of an earlier walk.

Slot ``j``'s attempt ``a`` is walk ``walk_index(j, a)``. The first ``K`` attempts of every
slot (``K`` = min(max_attempts, 16), the first round) form the reference set, in the order
(slot, attempt). A walk is used only when no walk before it in that order has its set of
topics and set of knowledge points; a later walk with the same sets is skipped before any
request (its attempt is dropped as ``repeated_composition`` and the slot moves on). An
attempt past the first round is compared with the reference walks of its own and earlier
slots.

The rule looks at every walk a run may try in its first round, not only at those it did
try, so it is a pure function of (graph, seed, max_attempts): the same in every shard,
for every N (a larger run's first N slots skip exactly what the N-slot run skipped), and
independent of the model's replies and of timing. Each concept set costs at most one
call, except when two slots both get past their first round onto the same set (rare).
Sets are compared by a 64-bit hash of their sorted ids; a collision would skip one more
walk, never reuse a set.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from mathscale.graph.unique import canonical_rows, row_hashes

BLOCK = 1 << 16  # walks hashed together
ROUND = 16  # attempts in the reference set of each slot


class RepeatedWalks:
    """``repeats(slot, attempt)``: does that walk repeat an earlier walk's composition?"""

    def __init__(self, sampler: Any, seed: int, slots: int, max_attempts: int, walk_index: Callable[[Any, int], Any]):
        self.sampler, self.seed, self.walk_index = sampler, seed, walk_index
        self.k = min(max_attempts, ROUND)
        self.slots = slots
        count = slots * self.k  # position slot * k + attempt: the reference order
        hashes = np.empty(count, np.uint64)
        for lo in range(0, count, BLOCK):
            position = np.arange(lo, min(lo + BLOCK, count), dtype=np.int64)
            walks = np.empty(len(position), np.int64)
            for a in range(self.k):  # walk_index takes an array of slots and one attempt
                at = position % self.k == a
                walks[at] = walk_index(position[at] // self.k, a)
            topics, kps = sampler.walk_arrays(seed, walks)
            hashes[lo : lo + BLOCK] = row_hashes(canonical_rows(topics, kps))
        self.hashes, self.first_position = np.unique(hashes, return_index=True)  # lowest position of each hash
        first = self.first_position
        self.first = np.zeros(count, bool)
        self.first[first] = True

    def __call__(self, slot: int, attempt: int) -> bool:
        if slot >= self.slots:
            raise IndexError(f"slot {slot} is outside the {self.slots} slots checked")
        if attempt < self.k:
            return not self.first[slot * self.k + attempt]
        topics, kps = self.sampler.walk_arrays(self.seed, np.array([self.walk_index(slot, attempt)], np.int64))
        h = row_hashes(canonical_rows(topics, kps))[0]
        at = int(np.searchsorted(self.hashes, h))
        return at < len(self.hashes) and self.hashes[at] == h and self.first_position[at] < (slot + 1) * self.k

    @property
    def repeated(self) -> int:
        """Reference walks that repeat an earlier composition."""
        return int(len(self.first) - self.first.sum())
