"""One LLM call per concept set: which walks repeat the composition of an earlier walk.

Slot ``j`` tries walks ``j * 16 + a`` for attempts ``a < max_attempts``. A walk is used
only when it is the first, in walk order, of those walks with its set of topics and set
of knowledge points; a later walk with the same sets is skipped before any request (its
attempt is dropped as ``repeated_composition`` and the slot moves on to its next walk).

The rule looks at every walk a run may try, not only at those it did try, so it is a pure
function of (graph, seed, max_attempts): the same in every shard, for every N (a larger
run's first N slots skip exactly what the N-slot run skipped), and independent of the
model's replies and of timing. Sets are compared by a 64-bit hash of their sorted ids;
a collision (about one in 10^5 runs at 16M walks) would skip one more walk, never
reuse a set.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mathscale.graph.unique import canonical_rows, row_hashes

BLOCK = 1 << 16  # walks hashed together


class RepeatedWalks:
    """``repeats(slot, attempt)``: does that walk repeat an earlier walk's composition?"""

    def __init__(self, sampler: Any, seed: int, slots: int, max_attempts: int, stride: int):
        self.max_attempts = max_attempts
        self.slots = slots
        count = slots * max_attempts
        # position p = slot * max_attempts + attempt, i.e. walk order restricted to tried attempts
        slot_of = np.arange(count, dtype=np.int64) // max_attempts
        walks = slot_of * stride + np.arange(count, dtype=np.int64) % max_attempts
        hashes = np.empty(count, np.uint64)
        for lo in range(0, count, BLOCK):
            topics, kps = sampler.walk_arrays(seed, walks[lo : lo + BLOCK])
            hashes[lo : lo + BLOCK] = row_hashes(canonical_rows(topics, kps))
        _, first = np.unique(hashes, return_index=True)  # the lowest position of each hash
        self.first = np.zeros(count, bool)
        self.first[first] = True

    def __call__(self, slot: int, attempt: int) -> bool:
        if slot >= self.slots or attempt >= self.max_attempts:
            raise IndexError(f"walk ({slot}, {attempt}) is outside the {self.slots} slots checked")
        return not self.first[slot * self.max_attempts + attempt]

    @property
    def repeated(self) -> int:
        """Walks, among all a run may try, that repeat an earlier composition."""
        return int(len(self.first) - self.first.sum())
