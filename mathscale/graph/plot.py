"""A picture of a concept graph: the topic subgraph and the most frequent concepts."""

from __future__ import annotations

import os
from typing import Any


def plot_graph(graph: Any, out: str | os.PathLike[str], top: int = 40) -> None:
    """Left: the ``top`` most frequent topics and their co-occurrence edges (width ~ weight).
    Right: bar charts of the most frequent topics and knowledge points."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import networkx as nx

    kinds = dict(graph.nodes(data="kind"))

    def frequent(kind: str, n: int) -> list[str]:
        nodes = [v for v, k in kinds.items() if k == kind]
        return sorted(nodes, key=lambda v: (-graph.nodes[v]["count"], v))[:n]

    topics = frequent("topic", top)
    sub = graph.subgraph(topics)
    fig = plt.figure(figsize=(16, 9))
    ax = fig.add_axes((0.01, 0.02, 0.58, 0.92))
    if sub.number_of_nodes():
        pos = nx.spring_layout(sub, weight="weight", seed=0)
        counts = [graph.nodes[v]["count"] for v in sub]
        weights = [d["weight"] for _, _, d in sub.edges(data=True)]
        biggest = max(weights, default=1)
        nx.draw_networkx_edges(sub, pos, ax=ax, width=[0.3 + 3 * w / biggest for w in weights], alpha=0.4)
        nx.draw_networkx_nodes(sub, pos, ax=ax, node_size=[40 + 800 * c / max(counts) for c in counts], alpha=0.8)
        nx.draw_networkx_labels(sub, pos, ax=ax, labels={v: graph.nodes[v].get("name", v) for v in sub}, font_size=7)
    ax.set_title(f"topic subgraph: the {len(topics)} most frequent topics")
    ax.axis("off")
    for row, kind, label in ((0, "topic", "topics"), (1, "kp", "knowledge points")):
        bars = fig.add_axes((0.72, 0.55 - 0.5 * row, 0.26, 0.38))
        nodes = frequent(kind, 15)[::-1]
        bars.barh([graph.nodes[v].get("name", v)[:40] for v in nodes], [graph.nodes[v]["count"] for v in nodes])
        bars.set_title(f"most frequent {label}", fontsize=9)
        bars.tick_params(labelsize=7)
    from pathlib import Path

    from mathscale.io import atomic_open

    with atomic_open(out, "wb") as handle:  # the folder is created as needed; no half-written picture
        fig.savefig(handle, dpi=110, format=Path(out).suffix.lstrip(".").lower() or "png")
    plt.close(fig)
