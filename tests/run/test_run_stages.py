"""run_stages without training: what reruns, what is extended, what is kept, what --prune removes."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from mathscale.keys import in_key, not_in_key
from mathscale.run.stages import Stage, prune, run_stages


@dataclasses.dataclass
class Make:
    n: int = in_key(2)
    word: str = in_key("a")
    verbose: bool = not_in_key(False)


def pipeline(folder: Path, make: Make, calls: list[tuple[str, int]]):
    made, used = folder / "made.txt", folder / "used.txt"

    def make_main(cfg: Make) -> None:
        have = made.read_text().splitlines() if made.exists() else []
        calls.append(("make", cfg.n - len(have)))
        made.write_text("".join(f"{cfg.word}{i}\n" for i in range(cfg.n)))
        (folder / "made.report.json").write_text("{}")

    def use_main(cfg: Make) -> None:
        calls.append(("use", 0))
        used.write_text(made.read_text().upper())

    return [Stage("make", "make", make_main, make, [made], grow="n"), Stage("use", "use", use_main, Make(), [used], ["make"])]


def test_unkeyed_change_skips_growth_extends_keyed_change_supersedes(tmp_path, capsys):
    calls: list[tuple[str, int]] = []

    def run(make: Make) -> None:
        run_stages(pipeline(tmp_path, make, calls), tmp_path)

    run(Make())
    assert calls == [("make", 2), ("use", 0)]
    run(Make(verbose=True))  # not in the key: nothing runs
    assert len(calls) == 2
    run(Make(n=5))  # growth: make only adds, use reruns on the larger input; the old use output is kept
    assert calls[2:] == [("make", 3), ("use", 0)]
    out = capsys.readouterr().out
    assert "extending n=2 to 5" in out and "[use] its config or inputs changed" in out
    kept = list((tmp_path / "superseded").glob("use-*/used.txt"))
    assert len(kept) == 1 and kept[0].read_text() == "A0\nA1\n"
    run(Make(n=5, word="b"))  # a keyed change: the old outputs and their side files move aside
    old = list((tmp_path / "superseded").glob("make-*"))
    assert len(old) == 1 and (old[0] / "made.txt").read_text().startswith("a0") and (old[0] / "made.report.json").exists()
    assert (tmp_path / "made.txt").read_text().startswith("b0")
    run(Make(n=3, word="b"))  # shrinking cannot extend: rerun, the 5 samples kept aside
    assert calls[-2:] == [("make", 3), ("use", 0)]
    assert len(list((tmp_path / "superseded").glob("make-*"))) == 2
    removed = prune(tmp_path)
    assert len(removed) >= 4 and not (tmp_path / "superseded").exists()
    assert "pruned" in capsys.readouterr().out
