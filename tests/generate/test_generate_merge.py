"""``mathscale generate merge``: shards into one dataset, cross-shard duplicates removed, kill-safe."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mathscale.cli import main
from tests.support.fake_server import FakeServer, qa_responder
from tests.support.generate_helpers import lines, run


def generate_shards(graph: Path, folder: Path, n: int, k: int) -> list[Path]:
    with FakeServer(responder=qa_responder) as server:
        assert run([str(graph), "-n", str(n), "--out", str(folder / "whole.jsonl")], server, folder) == 0
        for i in range(k):
            assert run([str(graph), "-n", str(n), "--shard", f"{i}/{k}", "--out", str(folder / f"shard{i}.jsonl")],
                       server, folder) == 0  # fmt: skip
    return [folder / f"shard{i}.jsonl" for i in range(k)]


def merge(*args: str) -> int:
    return main(["generate", "merge", *map(str, args), "llm.progress=false"])


def test_shards_merge_to_the_one_process_run_byte_for_byte(graph_path, tmp_path):
    shards = generate_shards(graph_path, tmp_path, 20, 2)
    assert merge(*shards, "--out", tmp_path / "merged.jsonl") == 0
    assert (tmp_path / "merged.jsonl").read_bytes() == (tmp_path / "whole.jsonl").read_bytes()
    assert merge(*reversed(shards), "--out", tmp_path / "reversed.jsonl") == 0  # shard order does not matter
    assert (tmp_path / "reversed.jsonl").read_bytes() == (tmp_path / "whole.jsonl").read_bytes()
    report = json.loads((tmp_path / "merged.report.json").read_text())
    assert report["produced"] == 20 and report["removed_by_merge"] == {} and report["slots"] == [0, 20]
    usage = json.loads((tmp_path / "merged.usage.json").read_text())
    shard_requests = sum(json.loads(s.with_suffix(".usage.json").read_text())["total"]["requests"] for s in shards)
    assert usage["total"]["requests"] == shard_requests and len(usage["invocations"]) == 2

    import datasets

    data = datasets.load_from_disk(str(tmp_path / "merged.dataset"))
    assert len(data) == 20 and data[5]["question"] == lines(tmp_path / "whole.jsonl")[5]["question"]
    card = (tmp_path / "merged.dataset" / "README.md").read_text()
    assert "samples: 20 of 20" in card and "merged from 2" in card


def test_a_planted_cross_shard_near_duplicate_is_removed_from_the_later_slot(graph_path, tmp_path):
    shards = generate_shards(graph_path, tmp_path, 16, 2)
    first = lines(shards[0])
    later = lines(shards[1])
    # slot 11 (shard 1) now asks slot 3's question (shard 0) with one word changed
    later[3]["question"] = first[3]["question"].replace("cards are filed", "cards were filed")
    shards[1].write_text("".join(json.dumps(s, ensure_ascii=False) + "\n" for s in later))
    for order, name in ((shards, "a.jsonl"), (list(reversed(shards)), "b.jsonl")):
        assert merge(*order, "--out", tmp_path / name) == 0
        merged = lines(tmp_path / name)
        assert [s["meta"]["slot"] for s in merged] == [s for s in range(16) if s != 11]
        report = json.loads((tmp_path / name).with_suffix(".report.json").read_text())
        assert report["removed_by_merge"] == {"near_duplicate": 1} and report["produced"] == 15
        drop = [d for d in lines((tmp_path / name).with_suffix(".drops.jsonl")) if d.get("stage") == "merge"]
        assert drop == [{"slot": 11, "attempt": later[3]["meta"]["attempt"], "index": later[3]["index"],
                         "reason": "near_duplicate", "matched": first[3]["id"], "stage": "merge",
                         "shard": str(shards[1])}]  # fmt: skip
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()

    # allowed to call the endpoint, the merge gives slot 11 its next walk
    with FakeServer(responder=qa_responder) as server:
        assert merge(*shards, "--out", tmp_path / "c.jsonl", "--refill", graph_path, f"llm.base_urls=[{server.base_url}]",
                     f"llm.cache_path={tmp_path}/cache.sqlite") == 0  # fmt: skip
    merged = lines(tmp_path / "c.jsonl")
    assert [s["meta"]["slot"] for s in merged] == list(range(16))
    assert merged[11]["meta"]["attempt"] > later[3]["meta"]["attempt"] and merged[11]["question"] != first[3]["question"]
    report = json.loads((tmp_path / "c.report.json").read_text())
    assert report["refilled_slots"] == [11] and report["produced"] == 16 and report["removed_by_merge"] == {"near_duplicate": 1}
    usage = json.loads((tmp_path / "c.usage.json").read_text())
    assert usage["invocations"][-1]["source"] == "merge refill" and usage["invocations"][-1]["requests"] >= 1


def test_merge_main_takes_one_config_and_its_shards_may_come_from_the_config(graph_path, tmp_path):
    from mathscale.generate.config import MergeConfig
    from mathscale.generate.merge_command import MergeResult
    from mathscale.generate.merge_command import main as merge_main
    from mathscale.llm.config import LLMConfig

    shards = generate_shards(graph_path, tmp_path, 8, 2)
    out = tmp_path / "m.jsonl"
    cfg = MergeConfig(shards=[str(s) for s in shards], out=str(out), dataset=False, llm=LLMConfig(progress=False))
    assert merge_main(cfg) == MergeResult(out, tmp_path / "m.report.json", 8, 8, {}, (), None)
    assert out.read_bytes() == (tmp_path / "whole.jsonl").read_bytes()
    # no SHARD words on the command line leave the shards to the config (here an override)
    assert merge("--out", tmp_path / "o.jsonl", f"shards=[{shards[0]}, {shards[1]}]", "dataset=false") == 0
    assert (tmp_path / "o.jsonl").read_bytes() == out.read_bytes()


def test_the_generate_config_is_a_merge_config_too(tmp_path, capsys):
    from mathscale.config import load_config
    from mathscale.generate.config import MergeConfig

    assert main(["generate", "--print-config"]) == 0
    (tmp_path / "generate.yaml").write_text(capsys.readouterr().out)
    assert load_config(MergeConfig, tmp_path / "generate.yaml") == MergeConfig()


def test_overlapping_or_cut_shards_are_refused_naming_the_line(graph_path, tmp_path, capsys):
    shards = generate_shards(graph_path, tmp_path, 8, 2)
    assert merge(shards[0], shards[0], "--out", tmp_path / "m.jsonl") == 2
    assert f"{shards[0]}:1: slot 0 is also in {shards[0]}" in capsys.readouterr().err
    shards[1].write_bytes(shards[1].read_bytes()[:-5])
    assert merge(*shards, "--out", tmp_path / "m.jsonl") == 2
    assert f"{shards[1]}:4: the last line is cut off" in capsys.readouterr().err
    assert not (tmp_path / "m.jsonl").exists()


def synthetic_shard(path: Path, slots: range, k: int = 2) -> None:
    """Shard ``slots.start // len(slots)`` of ``k``, with the report generate writes beside it (its run's keys)."""
    report = {"shard": f"{slots.start // len(slots)}/{k}", "config": {"n": len(slots) * k, "seed": 0}}
    path.with_name(path.stem + ".report.json").write_text(json.dumps(report))
    with path.open("w") as handle:
        for slot in slots:
            words = " ".join(f"w{(slot * 7919 + j * 104729) % 100003}" for j in range(14))
            handle.write(json.dumps({"schema": "qa/1", "id": f"s0-{slot}", "index": slot * 16, "topics": ["T"],
                                     "knowledge_points": ["K"], "question": f"How many {words} are there?",
                                     "solution": "Count them one by one to get 3.", "answer": "3", "model": "m",
                                     "prompt": "generate_qa.v1", "meta": {"slot": slot, "attempt": 0, "seed": 0}}) + "\n")  # fmt: skip


def test_a_merge_removes_a_sample_that_asks_a_benchmark_question(tmp_path):
    shards = [tmp_path / "s0.jsonl", tmp_path / "s1.jsonl"]
    synthetic_shard(shards[0], range(0, 4))
    synthetic_shard(shards[1], range(4, 8))
    bench = tmp_path / "bench" / "gsm8k.jsonl"
    bench.parent.mkdir()
    bench.write_text(json.dumps({"data_source": "gsm8k", "question_number": 3, "answer": "3",
                                 "question": lines(shards[1])[1]["question"]}) + "\n")  # slot 5's question  # fmt: skip
    out = tmp_path / "m.jsonl"
    assert merge(*shards, "--out", out, f"decontamination.benchmarks=[{bench.parent}]", "dataset=false") == 0
    assert [s["meta"]["slot"] for s in lines(out)] == [0, 1, 2, 3, 4, 6, 7]
    report = json.loads((tmp_path / "m.report.json").read_text())
    assert report["removed_by_merge"] == {"contaminated": 1} and report["decontaminated_against"] == [str(bench.parent)]
    assert [d["matched"] for d in lines(tmp_path / "m.drops.jsonl") if d.get("stage") == "merge"] == ["gsm8k:3"]


@pytest.mark.slow
def test_sigkill_during_the_merge_then_rerun_gives_the_same_bytes(tmp_path):
    shards = [tmp_path / "s0.jsonl", tmp_path / "s1.jsonl"]
    synthetic_shard(shards[0], range(0, 10000))
    synthetic_shard(shards[1], range(10000, 20000))
    cmd = [sys.executable, "-m", "mathscale.cli", "generate", "merge", *map(str, shards), "--out"]
    assert subprocess.run([*cmd, str(tmp_path / "clean.jsonl")], capture_output=True).returncode == 0
    out = tmp_path / "killed.jsonl"
    for delay in (0.5, 2.0, 4.0):  # kill while reading, while writing, while saving the dataset
        proc = subprocess.Popen([*cmd, str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert subprocess.run([*cmd, str(out)], capture_output=True).returncode == 0
    for suffix in (".jsonl", ".report.json", ".drops.jsonl", ".usage.json"):
        assert out.with_suffix(suffix).read_bytes() == (tmp_path / "clean.jsonl").with_suffix(suffix).read_bytes(), suffix
    assert not list(tmp_path.glob("*.partial")) and not list(tmp_path.glob(".*.tmp*"))


def test_block_signatures_equal_one_at_a_time():
    from mathscale.generate.config import DedupConfig
    from mathscale.generate.dedup import Deduplicator, normalize_text

    dedup = Deduplicator(DedupConfig())
    texts = ["", "One", "a b", "How many apples does Mira have left after 3 days?", "x " * 40]
    norms = [normalize_text(t) for t in texts]
    block = dedup.signatures(norms)
    assert block.shape == (5, 64) and all((block[i] == dedup.signature(n)).all() for i, n in enumerate(norms))
