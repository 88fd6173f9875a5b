"""Exact and near-duplicate detection over everything generated so far.

Exact: an 8-byte BLAKE2 digest of the normalised text (lower case, punctuation and
extra whitespace removed), so 2M questions cost a few tens of MB. Near: MinHash over
word 3-shingles with LSH banding; a candidate that shares a band is confirmed by its
estimated Jaccard similarity. Each check costs about the same whatever the number of
questions already seen, so total time grows linearly with N.
"""

from __future__ import annotations

import hashlib
import re

import numpy as np

from mathscale.generate.config import DedupConfig
from mathscale.generate.drops import DropReason

_WORD = re.compile(r"\w+")
_PRIME = np.uint64((1 << 61) - 1)


def normalize_text(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))


def _digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest()


def choose_bands(num_perm: int, threshold: float) -> tuple[int, int]:
    """(bands, rows) with bands*rows == num_perm whose S-curve midpoint is nearest the threshold.

    A pair with Jaccard s shares at least one band with probability 1-(1-s^r)^b, which
    rises steeply near (1/b)^(1/r); we pick the split whose midpoint sits a little
    below the threshold, so that true duplicates are rarely missed (candidates are
    confirmed afterwards).
    """
    splits = [(b, num_perm // b) for b in range(1, num_perm + 1) if num_perm % b == 0]
    return min(splits, key=lambda br: abs((1 / br[0]) ** (1 / br[1]) - (threshold - 0.1)))


class Deduplicator:
    """``check(key, text)`` -> None (new, and now remembered) or (reason, key of the earlier one)."""

    def __init__(self, cfg: DedupConfig):
        self.cfg = cfg
        self._exact: dict[bytes, str] = {}
        rng = np.random.default_rng(20240305)  # fixed: the permutations define the signature space
        self._a = rng.integers(1, 1 << 61, size=cfg.num_perm, dtype=np.uint64)
        self._b = rng.integers(0, 1 << 61, size=cfg.num_perm, dtype=np.uint64)
        self.bands, self.rows = choose_bands(cfg.num_perm, cfg.near_threshold)
        self._buckets: list[dict[bytes, list[int]]] = [{} for _ in range(self.bands)]
        self._keys: list[str] = []
        self._signatures = np.empty((1024, cfg.num_perm), dtype=np.uint32)

    def check(self, key: str, text: str) -> tuple[str, str] | None:
        norm = normalize_text(text)
        digest = _digest(norm)
        if self.cfg.exact and (earlier := self._exact.get(digest)) is not None:
            return (DropReason.EXACT_DUPLICATE, earlier)
        if self.cfg.near:
            signature = self.signature(norm)
            bands = [signature[i * self.rows : (i + 1) * self.rows].tobytes() for i in range(self.bands)]
            if (match := self._near_match(signature, bands)) is not None:
                return (DropReason.NEAR_DUPLICATE, match)
            self._remember(signature, bands)
        if self.cfg.exact:
            self._exact[digest] = key
        if self.cfg.near:
            self._keys.append(key)
        return None

    def exact_match(self, text: str) -> str | None:
        """The key of a remembered text equal to ``text`` after normalising (remembers nothing)."""
        return self._exact.get(_digest(normalize_text(text))) if self.cfg.exact else None

    def signature(self, norm: str) -> np.ndarray:
        words = norm.split() or [""]
        k = self.cfg.shingle_words
        shingles = {" ".join(words[i : i + k]) for i in range(max(1, len(words) - k + 1))}
        hashes = np.fromiter(
            (int.from_bytes(hashlib.blake2b(s.encode(), digest_size=8).digest(), "little") >> 3 for s in shingles),
            dtype=np.uint64, count=len(shingles),
        )  # fmt: skip
        # Universal hashing (a*x + b) mod p, one row per permutation; min over shingles.
        values = (np.outer(self._a, hashes) + self._b[:, None]) % _PRIME
        return (values.min(axis=1) & np.uint64(0xFFFFFFFF)).astype(np.uint32)

    def signatures(self, norms: list[str]) -> np.ndarray:
        """:meth:`signature` of many normalised texts at once, shape (len(norms), num_perm):
        the same values, the arithmetic done in one pass (what a merge of millions needs)."""
        k = self.cfg.shingle_words
        shingles: list[str] = []
        starts = np.empty(len(norms), np.int64)
        for row, norm in enumerate(norms):
            words = norm.split() or [""]
            starts[row] = len(shingles)
            shingles += {" ".join(words[i : i + k]) for i in range(max(1, len(words) - k + 1))}
        if not shingles:
            return np.empty((0, self.cfg.num_perm), np.uint32)
        blake = hashlib.blake2b
        hashes = np.array([int.from_bytes(blake(s.encode(), digest_size=8).digest(), "little") >> 3 for s in shingles],
                          dtype=np.uint64)  # fmt: skip
        values = (np.outer(self._a, hashes) + self._b[:, None]) % _PRIME
        return (np.minimum.reduceat(values, starts, axis=1).T & np.uint64(0xFFFFFFFF)).astype(np.uint32)

    def _near_match(self, signature: np.ndarray, bands: list[bytes]) -> str | None:
        candidates: set[int] = set()
        for bucket, band in zip(self._buckets, bands):
            candidates.update(bucket.get(band, ()))
        best = None
        for index in sorted(candidates):
            similarity = float(np.mean(self._signatures[index] == signature))
            if similarity >= self.cfg.near_threshold:
                best = index
                break
        return None if best is None else self._keys[best]

    def _remember(self, signature: np.ndarray, bands: list[bytes]) -> None:
        index = len(self._keys)
        if index == len(self._signatures):
            self._signatures = np.concatenate([self._signatures, np.empty_like(self._signatures)])
        self._signatures[index] = signature
        for bucket, band in zip(self._buckets, bands):
            bucket.setdefault(band, []).append(index)
