"""MWPBench scores: accuracy per ``data_topic``, per dataset, micro and macro, as MWPBench scores them.

``MATH.<Type>`` and ``college_math.<topic>`` are each collapsed into one dataset whose
accuracy is weighted by size (all its items pooled); **micro** is the accuracy over every
item; **macro** the unweighted mean over the datasets.

>>> m = compute_metrics([("gsm8k", True), ("gsm8k", False), ("MATH.Algebra", True)])
>>> m.datasets["MATH"].accuracy, m.micro, m.macro
(1.0, 0.6666666666666666, 0.75)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

COLLAPSED = ("MATH", "college_math")


def dataset_of(topic: str) -> str:
    """``MATH.Algebra`` -> ``MATH``; ``college_math.algebra`` -> ``college_math``; else the topic."""
    head, dot, _ = topic.partition(".")
    return head if dot and head in COLLAPSED else topic


@dataclass
class Score:
    correct: int = 0
    total: int = 0

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0

    def add(self, correct: bool) -> None:
        self.correct += bool(correct)
        self.total += 1

    def to_json(self) -> dict[str, Any]:
        return {"accuracy": self.accuracy, "correct": self.correct, "size": self.total}


@dataclass
class Metrics:
    topics: dict[str, Score] = field(default_factory=dict)
    datasets: dict[str, Score] = field(default_factory=dict)

    @property
    def micro(self) -> float:
        total = sum(s.total for s in self.datasets.values())
        return sum(s.correct for s in self.datasets.values()) / total if total else 0.0

    @property
    def macro(self) -> float:
        return sum(s.accuracy for s in self.datasets.values()) / len(self.datasets) if self.datasets else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "micro": self.micro,
            "macro": self.macro,
            "datasets": {name: s.to_json() for name, s in sorted(self.datasets.items())},
            "topics": {name: s.to_json() for name, s in sorted(self.topics.items())},
        }


def compute_metrics(verdicts: Iterable[tuple[str, bool]]) -> Metrics:
    """Metrics from ``(data_topic, correct)`` pairs."""
    metrics = Metrics()
    for topic, correct in verdicts:
        metrics.topics.setdefault(topic, Score()).add(correct)
        metrics.datasets.setdefault(dataset_of(topic), Score()).add(correct)
    return metrics


def official_metrics(verdicts: Iterable[tuple[str, bool]]) -> dict[str, Any]:
    """Scores exactly as the official MWPBench driver computes them, float for float.

    Tasks in order of first appearance; accuracy per task = right / size; ``MATH`` and
    ``college_math`` = size-weighted sums of their tasks' accuracies, listed after the other
    tasks and present even when none of their tasks is (accuracy 0, size 0: they then pull
    the macro average down, as in the official driver); micro = size-weighted sum over the
    top-level entries; macro = their plain mean. The result has the official
    ``all.metric.json`` layout.

    >>> m = official_metrics([("gsm8k", True), ("gsm8k", False), ("MATH.Algebra", True)])
    >>> m["micro_average_accuracy"], m["macro_average_accuracy"]
    (0.6666666666666666, 0.5)
    """
    results: dict[str, list[bool]] = {}
    for topic, correct in verdicts:
        results.setdefault(topic, []).append(bool(correct))
    top: dict[str, Any] = {}
    groups: dict[str, dict[str, Any]] = {name: {} for name in COLLAPSED}
    group_size = dict.fromkeys(COLLAPSED, 0)
    full_size = 0
    for topic, values in results.items():
        entry = {"accuracy": sum(values) / len(values), "test_size": len(values)}
        full_size += len(values)
        group = next((g for g in COLLAPSED if topic.startswith(g + ".")), None)
        if group is None:
            top[topic] = entry
        else:
            groups[group][topic] = entry
            group_size[group] += len(values)
    for group in COLLAPSED:
        accuracy = 0
        for entry in groups[group].values():
            accuracy += entry["test_size"] / group_size[group] * entry["accuracy"]
        top[group] = {"accuracy": accuracy, "test_size": group_size[group], "subset_metric": groups[group]}
    micro = macro = 0
    for entry in top.values():
        micro += entry["test_size"] / full_size * entry["accuracy"]
        macro += entry["accuracy"]
    macro /= len(top)
    return {**top, "micro_average_accuracy": micro, "macro_average_accuracy": macro}


def official_table(official: Mapping[str, Any]) -> str:
    """The official scores as a markdown table (in %), rows in the official order."""
    lines = ["| task | size | accuracy |", "|---|---|---|"]
    for name, entry in official.items():
        if isinstance(entry, dict):
            lines.append(f"| {name} | {entry['test_size']} | {100 * entry['accuracy']:.2f} |")
    lines.append(f"| **micro** | | {100 * official['micro_average_accuracy']:.2f} |")
    lines.append(f"| **macro** | | {100 * official['macro_average_accuracy']:.2f} |")
    return "\n".join(lines) + "\n"


def markdown_table(by_grader: Mapping[str, Metrics]) -> str:
    """One row per dataset plus micro and macro; one accuracy column per grader (in %)."""
    graders = list(by_grader)
    names = sorted({name for m in by_grader.values() for name in m.datasets})
    header = "| dataset | size | " + " | ".join(graders) + " |"
    lines = [header, "|" + "---|" * (2 + len(graders))]
    for name in names:
        size = next(m.datasets[name].total for m in by_grader.values() if name in m.datasets)
        cells = [f"{100 * m.datasets[name].accuracy:.1f}" if name in m.datasets else "–" for m in by_grader.values()]
        lines.append(f"| {name} | {size} | " + " | ".join(cells) + " |")
    total = max((sum(s.total for s in m.datasets.values()) for m in by_grader.values()), default=0)
    lines.append(f"| **micro** | {total} | " + " | ".join(f"{100 * m.micro:.1f}" for m in by_grader.values()) + " |")
    lines.append(f"| **macro** | {len(names)} datasets | " + " | ".join(f"{100 * m.macro:.1f}" for m in by_grader.values()) + " |")
    return "\n".join(lines) + "\n"
