"""results.csv and the scaling plot: sizes not reached, the base line, bands over seeds."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from mathscale.cli import main
from mathscale.run.scaling_plot import accuracy_panels, read_results
from mathscale.run.results import Point, write_results


def metrics(gsm8k: float, math: float) -> dict:
    datasets = {"gsm8k": {"accuracy": gsm8k, "correct": round(10 * gsm8k), "size": 10},
                "MATH": {"accuracy": math, "correct": round(5 * math), "size": 5}}  # fmt: skip
    grader = {"datasets": datasets, "micro": (round(10 * gsm8k) + round(5 * math)) / 15, "macro": (gsm8k + math) / 2}
    return {"graders": {"mathscale": grader, "mwpbench": grader}}


def evaluation(root: Path, name: str, gsm8k: float, math: float) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "metrics.json").write_text(json.dumps(metrics(gsm8k, math)))
    return folder


@pytest.fixture
def one_short(tmp_path) -> Path:
    root = tmp_path / "curve"
    points = [Point(0, evaluation(root, "base", 0.1, 0.0)), Point(16, evaluation(root, "n16", 0.2, 0.2), seed=0),
              Point(32, evaluation(root, "n32", 0.3, 0.2), seed=0),
              Point(64, seed=0, missing="not reached: generate wrote 40 of 64 samples")]  # fmt: skip
    write_results(root, points, "mathscale")
    return root


def test_a_size_not_reached_is_one_row_without_accuracy_and_a_mark_on_every_panel(one_short):
    with (one_short / "results.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 3 * 4 * 2 + 1  # sizes 0, 16, 32 x (gsm8k, MATH, micro, macro) x 2 graders, then size 64
    assert rows[-1]["size"] == "64" and rows[-1]["accuracy"] == "" and rows[-1]["status"].startswith("not reached")
    assert (one_short / "scaling.png").stat().st_size > 10000 and (one_short / "scaling.svg").exists()

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = accuracy_panels(read_results([one_short / "results.csv"]), "mathscale")
    assert len(panels) == 4  # MATH, gsm8k, micro, macro
    fig, axes = plt.subplots(1, 4)
    for ax, panel in zip(axes, panels):
        panel(ax)
        labels = ax.get_legend_handles_labels()[1]
        assert labels == ["base model (0 samples)", "fine-tuned", "size not reached (generation came up short)"]
        assert ax.get_xscale() == "log" and [t.get_text() for t in ax.get_xticklabels()] == ["16", "32", "64"]
        curve = next(line for line in ax.lines if line.get_label() == "fine-tuned")
        assert list(curve.get_xdata()) == [16, 32]
    micro = next(line for line in axes[2].lines if line.get_label() == "fine-tuned")
    assert list(micro.get_ydata()) == pytest.approx([100 * 3 / 15, 100 * 4 / 15])
    plt.close(fig)


def test_seeds_of_one_run_become_a_mean_and_a_band(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    root = tmp_path / "seeds"
    points = [Point(0, evaluation(root, "base", 0.1, 0.0))]
    for seed, extra in enumerate([0.0, 0.1, 0.2]):
        points += [Point(size, evaluation(root, f"n{size}s{seed}", acc + extra, 0.2), seed=seed)
                   for size, acc in ((10, 0.2), (100, 0.4))]  # fmt: skip
    write_results(root, points, "mathscale")
    [gsm8k] = [p for p in accuracy_panels(read_results([root / "results.csv"]), "mathscale")][1:2]
    fig, ax = plt.subplots()
    gsm8k(ax)
    curve = next(line for line in ax.lines if line.get_label().startswith("fine-tuned"))
    assert curve.get_label() == "fine-tuned (mean of 3 seeds, min–max band)"
    assert list(curve.get_ydata()) == pytest.approx([30.0, 50.0])
    [band] = ax.collections
    ys = band.get_paths()[0].vertices[:, 1]
    assert min(ys) == pytest.approx(20.0) and max(ys) == pytest.approx(60.0)
    plt.close(fig)


def test_plot_overlays_runs_and_rejects_other_files(one_short, tmp_path, capsys):
    out = tmp_path / "overlay.png"
    assert main(["plot", str(one_short / "results.csv"), str(one_short / "results.csv"), "--out", str(out)]) == 0
    assert out.stat().st_size > 10000
    bad = tmp_path / "bad.csv"
    bad.write_text("size,accuracy\n1,0.5\n")
    assert main(["plot", str(bad), "--out", str(out)]) == 2
    assert "not a results.csv" in capsys.readouterr().err
