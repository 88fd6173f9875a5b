"""Summary figures of a concept graph, as a dict (for ``--json``) and as text; diversity of its
seeds and of random walks over it (:mod:`mathscale.graph.diversity`)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from mathscale.graph.build import EDGE_KINDS
from mathscale.graph.diversity import format_growth, graph_diversity


def graph_stats(graph: Any, top: int = 10, walks: int = 10_000, focus: list[str] | None = None,
                boost: float = 1.0) -> dict[str, Any]:  # fmt: skip
    """Nodes and edges per kind, degree distribution, components, most frequent concepts, and the
    diversity of the seeds and of ``walks`` random walks, each at N/8, N/4, N/2, N (the walks
    focused by ``focus`` files and ``boost`` as ``walk.focus`` does it)."""
    import networkx as nx
    import numpy as np

    kinds = dict(graph.nodes(data="kind"))
    nodes = Counter(kinds.values())
    edges = Counter(kind for _, _, kind in graph.edges(data="kind"))
    degree: dict[str, Any] = {}
    for kind in ("topic", "kp"):
        values = np.array([d for n, d in graph.degree() if kinds[n] == kind] or [0])
        degree[kind] = {
            "min": int(values.min()), "median": float(np.median(values)), "mean": round(float(values.mean()), 2),
            "max": int(values.max()), "isolated_in_own_kind": _isolated(graph, kinds, kind),
            "histogram": _log_bins(values),
        }  # fmt: skip
    components = sorted((len(c) for c in nx.connected_components(graph)), reverse=True)
    topic_graph = graph.subgraph(n for n, k in kinds.items() if k == "topic")
    topic_components = sorted((len(c) for c in nx.connected_components(topic_graph)), reverse=True)
    frequent = {
        kind: [
            {"name": graph.nodes[n].get("name", n), "count": graph.nodes[n]["count"]}
            for n in sorted((n for n, k in kinds.items() if k == kind), key=lambda n: (-graph.nodes[n]["count"], n))[:top]
        ]
        for kind in ("topic", "kp")
    }
    return {
        "records": graph.graph.get("records"),
        "nodes": {"topic": nodes.get("topic", 0), "kp": nodes.get("kp", 0)},
        "edges": {kind: edges.get(kind, 0) for kind in EDGE_KINDS},
        "weight_total": {kind: sum(w for _, _, d in graph.edges(data=True) if d["kind"] == kind for w in [d["weight"]])
                         for kind in EDGE_KINDS},  # fmt: skip
        "degree": degree,
        "components": {"count": len(components), "largest": components[0] if components else 0},
        "topic_components": {"count": len(topic_components), "largest": topic_components[0] if topic_components else 0},
        "most_frequent": frequent,
        "diversity": graph_diversity(graph, walks=walks, focus=focus or [], boost=boost) if nodes.get("topic") else {},
    }


def _log_bins(values: Any) -> dict[str, int]:
    """Counts of degrees in bins 0, 1, 2-3, 4-7, 8-15, …"""
    bins: Counter[str] = Counter()
    for v in values.tolist():
        lo = 0 if v == 0 else 1 << (int(v).bit_length() - 1)
        bins[str(lo) if lo <= 1 else f"{lo}-{2 * lo - 1}"] += 1
    return dict(sorted(bins.items(), key=lambda kv: int(kv[0].split("-")[0])))


def _isolated(graph: Any, kinds: dict[str, str], kind: str) -> int:
    """Nodes of ``kind`` with no neighbour of the same kind (walks end early there)."""
    return sum(1 for n, k in kinds.items() if k == kind and not any(kinds[m] == kind for m in graph[n]))


def format_stats(stats: dict[str, Any]) -> str:
    lines = [
        f"records: {stats['records']}",
        f"nodes:   {stats['nodes']['topic']} topics, {stats['nodes']['kp']} knowledge points",
        "edges:   " + ", ".join(f"{n} {k}" for k, n in stats["edges"].items()),
        f"components: {stats['components']['count']} (largest {stats['components']['largest']} nodes); "
        f"topic subgraph: {stats['topic_components']['count']} (largest {stats['topic_components']['largest']})",
    ]
    for kind, label in (("topic", "topic"), ("kp", "knowledge point")):
        d = stats["degree"][kind]
        lines.append(f"{label} degree: min {d['min']}, median {d['median']:g}, mean {d['mean']:g}, max {d['max']}; "
                     f"{d['isolated_in_own_kind']} without a neighbour of the same kind")  # fmt: skip
        lines.append("  degrees: " + ", ".join(f"{b}: {n}" for b, n in d["histogram"].items()))
    for kind, label in (("topic", "topics"), ("kp", "knowledge points")):
        lines.append(f"most frequent {label}:")
        lines += [f"  {item['count']:6d}  {item['name']}" for item in stats["most_frequent"][kind]]
    div = stats.get("diversity") or {}
    if div:
        lines.append("hub topics (most neighbours): " + ", ".join(div["hubs"]))
        for key, label in (("seeds", "seed questions"), ("walks", "random walks")):
            if key in div:
                lines.append(f"diversity of the {label}:")
                lines += format_growth(div[key])
        if div.get("focus"):
            from mathscale.graph.focus import focus_line

            lines.append(focus_line(div["focus"]))
    return "\n".join(lines)
