"""Focused walks: more compositions through the concepts a model is weak at.

``eval concepts=true`` writes ``concepts.csv`` (:data:`COLUMNS`): per topic and knowledge
point, the benchmark items mapped to it, the right answers and a Wilson interval around the
accuracy. ``walk.focus`` names one or more such files and ``walk.boost`` says how strongly to
lean on them. A concept's weakness is ``1 - upper`` (the interval's upper bound, not the point
estimate: a concept with few items has an upper bound near 1 and barely moves); with several
files the largest weakness counts. Its weight is

    weight = 1 + (boost - 1) * weakness          (between 1 and boost)

and the walk's start distribution (each topic's uniform or frequency share) and every step's
edge weight towards that concept are multiplied by it. The floor is weight 1: no concept
becomes less likely than ``1/boost`` of its unfocused odds at any choice, so everything the
unfocused walk reaches stays reachable. ``boost=1`` (or no file) leaves the sampler as it was,
so walks are byte-identical to unfocused ones.

Weights are fixed point (:data:`SCALE` per unit) so the tables stay integer and walk ``i``
stays a pure function of (graph, seed, focus file contents, ``i``).

>>> upper_bound(0, 5) > 0.4, round(upper_bound(0, 100), 3)
(True, 0.037)
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mathscale.errors import MathscaleError
from mathscale.graph.normalize import fold

CONCEPTS_CSV = "concepts.csv"  # the file `eval concepts=true` writes in its output folder
COLUMNS = ("concept", "kind", "items", "correct", "accuracy", "lower", "upper")  # concepts.csv, in this order
KINDS = ("topic", "kp")
Z = 1.96  # the Wilson interval's z: 95 %
SCALE = 100  # fixed-point units of one weight (weights 1.00 .. boost in steps of 0.01)
MAX_BOOST = 100.0  # keeps the integer tables far from overflow
FOCUS_WEAKNESS = 0.5  # a "focus concept" (the report's shares) has at least half the boost


def wilson_interval(correct: int, items: int, z: float = Z) -> tuple[float, float]:
    """The Wilson score interval of ``correct`` successes in ``items`` trials; (0, 1) for none."""
    if items <= 0:
        return 0.0, 1.0
    p = correct / items
    denom = 1 + z * z / items
    centre = (p + z * z / (2 * items)) / denom
    half = z * math.sqrt(p * (1 - p) / items + z * z / (4 * items * items)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def upper_bound(correct: int, items: int) -> float:
    return wilson_interval(correct, items)[1]


def items_to_move(boost: float, share: float = 0.5) -> int:
    """Fewest items, all wrong, that lift a concept's weight by ``share`` of the way to ``boost``."""
    n = 1
    while 1 - upper_bound(0, n) < share:
        n += 1
    return n


@dataclass(frozen=True)
class ConceptRow:
    concept: str
    kind: str  # "topic" | "kp"
    items: int
    correct: int

    @property
    def weakness(self) -> float:
        return 1.0 - upper_bound(self.correct, self.items)

    def csv_row(self) -> list[Any]:
        lo, hi = wilson_interval(self.correct, self.items)
        acc = self.correct / self.items if self.items else 0.0
        return [self.concept, self.kind, self.items, self.correct, f"{acc:.4f}", f"{lo:.4f}", f"{hi:.4f}"]


def concepts_csv(rows: Iterable[ConceptRow]) -> str:
    """The text of a ``concepts.csv``."""
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(r.csv_row() for r in rows)
    return buffer.getvalue()


def read_concepts_csv(path: str | Path) -> list[ConceptRow]:
    """The rows of a ``concepts.csv``; a bad file fails with its name, line and what is wrong."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MathscaleError(f"walk.focus: {path}: no such file (write one with `mathscale eval ... concepts=true`)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise MathscaleError(f"walk.focus: {path}: cannot read it ({exc})") from None
    reader = csv.reader(text.splitlines())
    header = next(reader, None)
    if header is None or [h.strip() for h in header[: len(COLUMNS)]] != list(COLUMNS):
        raise MathscaleError(f"{path}:1: not a concepts.csv: the header must start {','.join(COLUMNS)}")
    rows = []
    for line, cells in enumerate(reader, start=2):
        if not cells:
            continue
        try:
            concept, kind, items, correct = cells[0], cells[1], int(cells[2]), int(cells[3])
        except (IndexError, ValueError):
            raise MathscaleError(f"{path}:{line}: expected concept,kind,items,correct,... with whole numbers "
                                 f"for items and correct, got {','.join(cells)!r}") from None  # fmt: skip
        if kind not in KINDS:
            raise MathscaleError(f"{path}:{line}: kind {kind!r}: expected topic or kp")
        if not 0 <= correct <= items:
            raise MathscaleError(f"{path}:{line}: correct={correct}, items={items}: need 0 <= correct <= items")
        rows.append(ConceptRow(concept, kind, items, correct))
    return rows


@dataclass(frozen=True)
class Focus:
    """Weights of one sampler's concepts, from focus files, and what did not match the graph."""

    topic_weights: np.ndarray  # int64 per topic id, in SCALE units (SCALE = unchanged)
    kp_weights: np.ndarray  # int64 per knowledge-point id
    topic_focus: np.ndarray  # bool per topic id: weakness >= FOCUS_WEAKNESS
    kp_focus: np.ndarray  # bool per knowledge-point id
    files: tuple[str, ...]
    boost: float
    rows: int  # concept rows read (over every file)
    missing: dict[str, list[str]] = field(default_factory=dict)  # kind -> names the graph lacks

    @property
    def active(self) -> bool:
        """Whether any weight differs from 1 (else walks are the unfocused ones)."""
        return bool((self.topic_weights != SCALE).any() or (self.kp_weights != SCALE).any())

    def to_json(self, sampler: Any) -> dict[str, Any]:
        boosted = {kind: int(w.sum()) for kind, w in (("topic", self.topic_focus), ("kp", self.kp_focus))}
        top = np.argsort(-self.topic_weights, kind="stable")[:10]
        return {
            "files": list(self.files), "boost": self.boost, "rows": self.rows, "boosted": boosted,
            "missing": {kind: len(names) for kind, names in self.missing.items()},
            "missing_names": {kind: names for kind, names in self.missing.items()},
            "top_topics": [{"name": sampler.topics[i], "weight": int(self.topic_weights[i]) / SCALE}
                           for i in top if self.topic_weights[i] > SCALE],
        }  # fmt: skip


def load_focus(sampler: Any, files: Sequence[str], boost: float) -> Focus | None:
    """The focus of ``files`` on ``sampler``'s concepts (None without files)."""
    if not files:
        return None
    if not 1.0 <= boost <= MAX_BOOST:
        raise MathscaleError(f"walk.boost={boost}: must be between 1 (no focus) and {MAX_BOOST:g}")
    weakness: dict[tuple[str, str], float] = {}
    names: dict[tuple[str, str], str] = {}
    rows = 0
    for path in files:
        for row in read_concepts_csv(path):
            rows += 1
            key = (row.kind, fold(row.concept))
            weakness[key] = max(weakness.get(key, 0.0), row.weakness)
            names.setdefault(key, row.concept)
    ids = {("topic", fold(n)): i for i, n in enumerate(sampler.topics)}
    ids.update({("kp", fold(n)): i for i, n in enumerate(sampler.kps)})
    weights = {"topic": np.full(len(sampler.topics), SCALE, np.int64), "kp": np.full(len(sampler.kps), SCALE, np.int64)}
    strong = {"topic": np.zeros(len(sampler.topics), bool), "kp": np.zeros(len(sampler.kps), bool)}
    missing: dict[str, list[str]] = {"topic": [], "kp": []}
    for key, weak in weakness.items():
        if key not in ids:
            missing[key[0]].append(names[key])
            continue
        weights[key[0]][ids[key]] = round(SCALE * (1 + (boost - 1) * weak))
        strong[key[0]][ids[key]] = boost > 1 and weak >= FOCUS_WEAKNESS
    return Focus(weights["topic"], weights["kp"], strong["topic"], strong["kp"], tuple(map(str, files)), boost,
                 rows, {k: sorted(v) for k, v in missing.items()})  # fmt: skip


def focused_sampler(sampler: Any, files: Sequence[str], boost: float) -> tuple[Any, Focus | None]:
    """``sampler`` reweighted by the focus files, and the focus (the sampler itself when inactive)."""
    focus = load_focus(sampler, files, boost)
    if focus is None or not focus.active:
        return sampler, focus
    return sampler.reweighted(focus.topic_weights, focus.kp_weights), focus


def walk_sampler(graph: Any, walk: Any) -> tuple[Any, Any, Focus | None]:
    """(unfocused sampler, the sampler to walk with, the focus) for a graph and a ``WalkConfig``."""
    from mathscale.graph.sampler import Sampler

    base = Sampler.from_graph(graph, walk.start, walk.topic_steps, walk.kp_steps)
    sampler, focus = focused_sampler(base, walk.focus_files, walk.boost)
    return base, sampler, focus


def focus_share(focus: Focus, topics: np.ndarray, kps: np.ndarray) -> float:
    """Share of walks (id rows, -1 padded) through at least one focus concept (half the boost or more)."""
    if not len(topics):
        return 0.0
    t_hit = np.append(focus.topic_focus, False)  # id -1 picks the last entry: no hit
    k_hit = np.append(focus.kp_focus, False)
    through = t_hit[topics].any(axis=1) | k_hit[kps].any(axis=1)
    return round(float(through.mean()), 6)


def focus_report(base: Any, focused: Any, focus: Focus | None, seed: int, indices: np.ndarray,
                 topics: np.ndarray, kps: np.ndarray) -> dict[str, Any]:  # fmt: skip
    """The report's ``focus``: the files, what matched, and the share of walks ``indices``
    through the focus concepts with focus (``topics``/``kps``) and without (walked again)."""
    if focus is None:
        return {}
    out = focus.to_json(base)
    unfocused = base.walk_arrays(seed, indices) if focused is not base else (topics, kps)
    out["share_with_focus"] = focus_share(focus, topics, kps)
    out["share_without_focus"] = focus_share(focus, *unfocused)
    return out


def focus_line(report: dict[str, Any]) -> str:
    """One line for a command's summary: the shares, and the concepts the graph lacks."""
    if not report:
        return ""
    missing = report["missing"]
    text = (f"focus ({', '.join(report['files'])}, boost {report['boost']:g}): {report['boosted']['topic']} topics, "
            f"{report['boosted']['kp']} knowledge points weak (half the boost or more); walks through them "
            f"{100 * report['share_without_focus']:.1f} % -> {100 * report['share_with_focus']:.1f} %")  # fmt: skip
    if missing["topic"] or missing["kp"]:
        names = [*report["missing_names"]["topic"], *report["missing_names"]["kp"]]
        shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
        text += f"; not in the graph: {missing['topic']} topics, {missing['kp']} knowledge points ({shown})"
    return text
