"""``mathscale plot RESULTS... --out FILE``: overlay the results.csv of several scaling runs."""

from __future__ import annotations

from pathlib import Path

from mathscale.config import require
from mathscale.errors import MathscaleError
from mathscale.io import check_output_path
from mathscale.run.config import PlotConfig
from mathscale.run.scaling_plot import plot_results, read_results


def main(cfg: PlotConfig) -> list[Path]:
    """Write the plot as .png and .svg; returns the files written."""
    require(cfg, {"results": "RESULTS", "out": "--out"})
    out = Path(cfg.out)
    if out.suffix.lower() not in ("", ".png", ".svg"):
        raise MathscaleError(f"--out {out}: give a .png or .svg name (both are written)")
    check_output_path(out)  # a missing folder is created when the plot is written
    paths = plot_results(read_results([Path(p) for p in cfg.results]), out, grader=cfg.grader)
    print("wrote " + ", ".join(str(p) for p in paths))
    return paths
