"""Focused walks on the paper-scale graph of bench_graph.py (issue 26's check).

Builds the synthetic graph (2,018 topics, 8,892 knowledge points), writes a concepts.csv with
5 topics at accuracy 0 and every other concept at accuracy 1, each with ``--items`` items, and
runs the real command ``mathscale graph sample GRAPH -n 20000 --seed 1 walk.focus=concepts.csv
walk.boost=3`` (and without focus, and with boost 1) for several choices of the 5 topics: by
seed frequency rank (a hub among them saturates: its walks are already common), and at random.
Prints the share of walks through the 5 topics with and without focus (target: >= 2x), how many
topics the focused walks visit (target: all), and whether boost 1 writes the unfocused bytes.

    python bench/bench_focus.py [--items 40] [--boost 3] [--json OUT]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from bench_graph import synth_records  # noqa: E402

from mathscale.graph.build import build_graph, save_graph  # noqa: E402
from mathscale.graph.focus import ConceptRow, concepts_csv  # noqa: E402
from mathscale.graph.normalize import learn_normalizer  # noqa: E402

TARGET_RATIO = 2.0


def sample(graph: Path, out: Path, *extra: str) -> tuple[list[dict], dict]:
    argv = [sys.executable, "-m", "mathscale.cli", "graph", "sample", str(graph), "-n", "20000", "--seed", "1",
            "--out", str(out), *extra]  # fmt: skip
    subprocess.run(argv, check=True, capture_output=True, text=True)
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    return rows, json.loads(out.with_name(out.stem + ".report.json").read_text(encoding="utf-8"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=40, help="benchmark items per concept in concepts.csv")
    parser.add_argument("--boost", type=float, default=3.0)
    parser.add_argument("--json", metavar="OUT")
    args = parser.parse_args(argv)

    records = synth_records()
    norm = learn_normalizer(records)
    graph, _ = build_graph(norm.apply(r) for r in records)
    topics = sorted((graph.nodes[n]["name"] for n in graph if graph.nodes[n]["kind"] == "topic"),
                    key=lambda name: -graph.nodes[f"topic:{name}"]["count"])  # fmt: skip
    kps = [graph.nodes[n]["name"] for n in graph if graph.nodes[n]["kind"] == "kp"]
    rng = np.random.default_rng(0)
    choices = {
        "ranks 10, 50, 200, 500, 1000": [topics[i] for i in (10, 50, 200, 500, 1000)],
        "ranks 50, 200, 500, 1000, 1500": [topics[i] for i in (50, 200, 500, 1000, 1500)],
        "random (seed 0)": rng.choice(topics, 5, replace=False).tolist(),
        "random (seed 1)": np.random.default_rng(1).choice(topics, 5, replace=False).tolist(),
        "the 5 most frequent (hubs)": topics[:5],
    }
    figures = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = folder / "graph.json"
        save_graph(graph, path)
        base_rows, _ = sample(path, folder / "base.jsonl")
        base_bytes = hashlib.sha256((folder / "base.jsonl").read_bytes()).hexdigest()
        print(f"graph: {len(topics)} topics, {len(kps)} knowledge points; {args.items} items per concept, boost {args.boost:g}")
        for label, weak in choices.items():
            csv_path = folder / "concepts.csv"
            rows = [ConceptRow(t, "topic", args.items, 0 if t in weak else args.items) for t in topics]
            csv_path.write_text(concepts_csv(rows + [ConceptRow(k, "kp", args.items, args.items) for k in kps]))
            focused, report = sample(path, folder / "focus.jsonl", f"walk.focus={csv_path}", f"walk.boost={args.boost}")
            _, _ = sample(path, folder / "one.jsonl", f"walk.focus={csv_path}", "walk.boost=1")
            same = hashlib.sha256((folder / "one.jsonl").read_bytes()).hexdigest() == base_bytes
            share = {name: float(np.mean([bool(set(r["topics"]) & set(weak)) for r in rows_]))
                     for name, rows_ in (("without", base_rows), ("with", focused))}  # fmt: skip
            visited = len({t for r in focused for t in r["topics"]})
            ratio = share["with"] / share["without"]
            print(f"{label:32s} through the 5: {100 * share['without']:5.2f} % -> {100 * share['with']:5.2f} % "
                  f"= {ratio:.2f}x (target >= {TARGET_RATIO:g}x); topics visited {visited} of {len(topics)}; "
                  f"report says {100 * report['focus']['share_without_focus']:.2f} -> "
                  f"{100 * report['focus']['share_with_focus']:.2f} %; boost 1 byte-identical: {same}")  # fmt: skip
            figures[label] = {"weak": weak, "share_without": share["without"], "share_with": share["with"],
                              "ratio": ratio, "topics_visited": visited, "boost1_identical": same}  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
