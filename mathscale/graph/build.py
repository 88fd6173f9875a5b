"""The weighted concept graph: build it from concept records, save it, load and check it.

Nodes are ``"topic:<name>"`` and ``"kp:<name>"`` (a name may be both a topic and a
knowledge point) with attributes ``kind``, ``name`` and ``count`` (records naming it).
Edges topic-topic, topic-kp and kp-kp carry ``kind`` and ``weight`` = the number of
records naming both ends. The graph attribute ``mathscale`` = ``"graph/1"`` marks the
file; ``seed_sets`` keeps each record's (topics, knowledge points) for novelty, and
``seed_questions`` its question, which generation shows as few-shot examples.

>>> g, skipped = build_graph([Concepts("q1", "?", ["Algebra"], ["Factoring", "Roots"], "m", "p")])
>>> g.edges["kp:Factoring", "kp:Roots"]["weight"]
1
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterable
from itertools import combinations
from pathlib import Path
from typing import Any

from mathscale.errors import DataError, MathscaleError
from mathscale.io import atomic_open
from mathscale.records import Concepts

GRAPH_SCHEMA = "graph/1"
EDGE_KINDS = ("topic-topic", "topic-kp", "kp-kp")
_LIST_ATTRS = ("seed_sets", "seed_questions")


def node_id(kind: str, name: str) -> str:
    return f"{kind}:{name}"


def build_graph(records: Iterable[Concepts]) -> tuple[Any, Counter[str]]:
    """(graph, skipped reasons -> count). Records with no topic or no knowledge point, and
    repeated ids, are skipped and counted rather than added half."""
    import networkx as nx

    nodes: Counter[str] = Counter()
    edges: Counter[tuple[str, str]] = Counter()
    seed_sets: list[list[list[str]]] = []
    seed_questions: list[str] = []
    skipped: Counter[str] = Counter()
    seen: set[str] = set()
    for record in records:
        if record.id in seen:
            skipped["duplicate_id"] += 1
            continue
        seen.add(record.id)
        topics = [node_id("topic", t) for t in dict.fromkeys(record.topics)]
        kps = [node_id("kp", k) for k in dict.fromkeys(record.knowledge_points)]
        if not topics or not kps:
            skipped["no_topics" if not topics else "no_knowledge_points"] += 1
            continue
        nodes.update(topics)
        nodes.update(kps)
        edges.update(_pair(a, b) for a, b in combinations(topics, 2))
        edges.update(_pair(a, b) for a, b in combinations(kps, 2))
        edges.update((t, k) for t in topics for k in kps)
        seed_sets.append([list(dict.fromkeys(record.topics)), list(dict.fromkeys(record.knowledge_points))])
        seed_questions.append(record.question)
    graph = nx.Graph(mathscale=GRAPH_SCHEMA, records=len(seed_sets), seed_sets=seed_sets, seed_questions=seed_questions)
    graph.add_nodes_from(
        (n, {"kind": n.partition(":")[0], "name": n.partition(":")[2], "count": c}) for n, c in sorted(nodes.items())
    )
    graph.add_edges_from((a, b, {"kind": _edge_kind(a, b), "weight": w}) for (a, b), w in sorted(edges.items()))
    return graph, skipped


def _pair(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a <= b else (b, a)


def _edge_kind(a: str, b: str) -> str:
    ka, kb = sorted((a.partition(":")[0], b.partition(":")[0]), key=("topic", "kp").index)
    return f"{ka}-{kb}"


def save_graph(graph: Any, path: str | os.PathLike[str]) -> None:
    """Node-link JSON, or GraphML when ``path`` ends in ``.graphml``; written atomically."""
    import networkx as nx

    path = Path(path)
    if path.suffix.lower() == ".graphml":
        copy = graph.copy()
        for key in _LIST_ATTRS:  # GraphML holds only scalars
            copy.graph[key] = json.dumps(graph.graph.get(key, []), ensure_ascii=False)
        with atomic_open(path, "wb") as handle:
            nx.write_graphml(copy, handle)
        return
    data = nx.node_link_data(graph, edges="edges")
    with atomic_open(path) as handle:
        json.dump(data, handle, ensure_ascii=False)
        handle.write("\n")


def load_graph(path: str | os.PathLike[str]) -> Any:
    """A graph saved by :func:`save_graph`, checked; anything else is a one-line error."""
    import networkx as nx

    path = Path(path)
    if not path.is_file():
        raise MathscaleError(f"{path}: no such file" if not path.exists() else f"{path}: is not a file")
    if path.suffix.lower() == ".graphml":
        try:
            graph = nx.read_graphml(path)
        except Exception as exc:  # networkx raises many kinds on malformed XML
            raise DataError(f"{path}: not a readable GraphML file ({type(exc).__name__}: {exc})"[:300]) from None
        for key in _LIST_ATTRS:
            if isinstance(graph.graph.get(key), str):
                graph.graph[key] = json.loads(graph.graph[key])
    else:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg}); expected a graph from `mathscale graph build`") from None
        except UnicodeDecodeError:
            raise DataError(f"{path}: not a text file; expected a graph from `mathscale graph build`") from None
        if not isinstance(data, dict) or not isinstance(data.get("graph"), dict) or "nodes" not in data:
            raise DataError(f"{path}: not a node-link graph; expected a graph from `mathscale graph build`")
        _check_marker(path, data["graph"])
        try:
            graph = nx.node_link_graph(data, edges="edges")
        except (KeyError, TypeError, nx.NetworkXError) as exc:
            raise DataError(f"{path}: malformed node-link data ({type(exc).__name__}: {exc})") from None
    _check_marker(path, graph.graph)
    check_graph(graph, str(path))
    return graph


def _check_marker(path: Path, attrs: dict[str, Any]) -> None:
    mark = attrs.get("mathscale")
    if mark != GRAPH_SCHEMA:
        found = f"it is marked {mark!r}" if mark else "it has no graph attribute 'mathscale'"
        raise DataError(f"{path}: not a mathscale concept graph ({found}, expected {GRAPH_SCHEMA!r}); build one with `mathscale graph build`")


def check_graph(graph: Any, where: str = "<graph>") -> None:
    """Every node has kind topic/kp and a positive count; every edge a matching kind and positive integer weight."""
    if graph.is_directed() or graph.is_multigraph():
        raise DataError(f"{where}: expected an undirected simple graph")
    for node, attrs in graph.nodes(data=True):
        if attrs.get("kind") not in ("topic", "kp"):
            raise DataError(f"{where}: node {node!r}: 'kind' must be 'topic' or 'kp', got {attrs.get('kind')!r}")
        if not _positive_int(attrs.get("count")):
            raise DataError(f"{where}: node {node!r}: 'count' must be a positive integer, got {attrs.get('count')!r}")
    for a, b, attrs in graph.edges(data=True):
        if a == b:
            raise DataError(f"{where}: edge {a!r}-{b!r}: a concept cannot co-occur with itself")
        kinds = sorted((graph.nodes[a]["kind"], graph.nodes[b]["kind"]), key=("topic", "kp").index)
        expected = "-".join(kinds)
        if attrs.get("kind") != expected:
            raise DataError(f"{where}: edge {a!r}-{b!r}: 'kind' must be {expected!r}, got {attrs.get('kind')!r}")
        if not _positive_int(attrs.get("weight")):
            raise DataError(f"{where}: edge {a!r}-{b!r}: 'weight' must be a positive integer, got {attrs.get('weight')!r}")


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0
