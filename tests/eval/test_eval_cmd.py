"""``mathscale eval`` end to end: a tiny random Llama on the hf backend, a fake endpoint on openai."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mathscale import cli
from mathscale.eval.backends import GenerationSettings, generate_hf
from mathscale.eval.config import EvalConfig
from mathscale.templates import TEMPLATES, format_prompt
from tests.support import REPO


BENCH = [
    {"data_topic": "gsm8k", "data_source": "gsm8k", "question": "What is 2+2?", "answer": "4"},
    {"data_topic": "gsm8k", "data_source": "gsm8k", "question": "What is 3+5? Show the steps in a long way.", "answer": "8"},
    {"data_topic": "MATH.Algebra", "question": "Simplify $x+x$.", "answer": "2x"},
    {"data_topic": "MATH.Geometry", "question": "Area of a unit square?", "answer": "1"},
    {"data_topic": "agieval.sat-math", "question": "Pick 10.\n(A)2\n(B)10", "answer": "B", "options": ["(A)2", "(B)10"]},
]


@pytest.fixture
def run():
    return cli.main


@pytest.fixture
def bench(tmp_path) -> Path:
    path = tmp_path / "bench.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in BENCH))
    return path


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    """A randomly initialised 2-layer Llama with a byte-level BPE tokenizer, saved to disk."""
    torch = pytest.importorskip("torch")
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    folder = tmp_path_factory.mktemp("tiny-llama")
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    corpus = [r["question"] for r in BENCH] + [TEMPLATES["alpaca"], "The answer is 42. \\boxed{x}"]
    bpe.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=300, special_tokens=["<pad>", "</s>"],
                                                        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))  # fmt: skip
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token="</s>", pad_token="<pad>")
    tokenizer.chat_template = (
        "{% for m in messages %}<|user|>{{ m['content'] }}{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}"
    )
    tokenizer.save_pretrained(folder)
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024,
                         eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)  # fmt: skip
    LlamaForCausalLM(config).save_pretrained(folder)
    return folder


def test_hf_backend_end_to_end(tiny_model, bench, tmp_path, run, capsys):
    out = tmp_path / "run"
    rc = run(["eval", "--model", str(tiny_model), "--benchmarks", str(bench), "--out", str(out),
              "--template", "alpaca_force_ans", "max_new_tokens=6", "batch_size=2"])  # fmt: skip
    assert rc == 0, capsys.readouterr().err
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["items"] == 5 and metrics["template"] == "alpaca_force_ans" and metrics["grader"] == "mathscale"
    assert set(metrics["datasets"]) == {"gsm8k", "MATH", "agieval.sat-math"}
    assert metrics["datasets"]["MATH"]["size"] == 2
    assert set(metrics["graders"]) == {"mathscale", "mwpbench"}
    files = sorted(p.name for p in (out / "predictions").iterdir())
    assert files == ["MATH.Algebra.jsonl", "MATH.Geometry.jsonl", "agieval.sat-math.jsonl", "gsm8k.jsonl"]
    row = json.loads((out / "predictions" / "gsm8k.jsonl").read_text().splitlines()[0])
    assert row["schema"] == "prediction/1" and row["reference"] == "4" and isinstance(row["correct"], bool)
    table = (out / "results.md").read_text()
    assert "| dataset | size | mathscale | mwpbench |" in table and "**macro**" in table


def test_hf_batched_equals_unbatched_and_chat_template(tiny_model):
    prompts = [format_prompt("alpaca", r["question"]) for r in BENCH]
    one = generate_hf(prompts, GenerationSettings(str(tiny_model), chat=False, max_new_tokens=5, batch_size=1))
    many = generate_hf(prompts, GenerationSettings(str(tiny_model), chat=False, max_new_tokens=5, batch_size=3))
    assert one == many  # left padding and length sorting change nothing
    chat = generate_hf(prompts[:2], GenerationSettings(str(tiny_model), chat=True, max_new_tokens=3, batch_size=2))
    assert len(chat) == 2


def test_openai_backend_against_an_endpoint(bench, tmp_path, run, capsys, llm_cache):
    from tests.support.fake_server import FakeServer

    def responder(request):
        question = request.get("prompt") or request["messages"][-1]["content"]
        if "2+2" in question:
            return "2 + 2 = 4. The answer is 4."
        if "Pick 10" in question:
            return "The answer is (B)."
        if "x+x" in question:
            return r"We get $\boxed{2x}$."
        return "I do not know."

    out = tmp_path / "run"
    with FakeServer(responder=responder) as server:
        rc = run(["eval", "--backend", "openai", "--benchmarks", str(bench), "--out", str(out),
                  f"llm.base_urls=[{server.base_url}]", f"llm.cache_path={llm_cache}", "llm.progress=false"])  # fmt: skip
    assert rc == 0, capsys.readouterr().err
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["datasets"]["gsm8k"] == {"accuracy": 0.5, "correct": 1, "size": 2}
    assert metrics["datasets"]["MATH"] == {"accuracy": 0.5, "correct": 1, "size": 2}
    assert metrics["datasets"]["agieval.sat-math"]["correct"] == 1
    assert metrics["micro"] == pytest.approx(3 / 5)
    assert metrics["macro"] == pytest.approx((0.5 + 0.5 + 1.0) / 3)
    assert metrics["graders"]["mwpbench"]["datasets"]["MATH"]["correct"] == 1
    assert metrics["model"] == "fake-model" and metrics["backend"] == "openai"


def test_main_takes_the_config_leaves_it_as_given_and_returns_the_scores(bench, tmp_path, llm_cache, capsys):
    """How `run` calls eval: main(cfg) in-process; the template and the endpoint's model name
    are resolved for this call only, so the caller's config (and its llm section) is unchanged."""
    import copy

    from mathscale.eval.command import EvalResult, main
    from tests.support.fake_server import FakeServer

    out = tmp_path / "run"
    with FakeServer(responder=lambda r: "The answer is 4.") as server:
        cfg = EvalConfig(backend="openai", benchmarks=str(bench), out=str(out))
        cfg.llm.base_urls, cfg.llm.cache_path, cfg.llm.progress = [server.base_url], str(llm_cache), False
        given = copy.deepcopy(cfg)
        result = main(cfg)
    assert cfg == given and cfg.template == "" and cfg.model == "" and cfg.llm.model == ""
    metrics = json.loads((out / "metrics.json").read_text())
    assert result == EvalResult(metrics_path=out / "metrics.json", micro=metrics["micro"], macro=metrics["macro"],
                                items=5, generated=5)  # fmt: skip
    assert result.micro == pytest.approx(1 / 5) and metrics["template"] == "alpaca" and metrics["model"] == "fake-model"
    assert "template alpaca (default)" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--template", "nope"], "unknown template 'nope'"),
        (["--model", "/no/such/model"], "model '/no/such/model': no such folder, not a known model name"),
        (["--benchmarks", "missing.jsonl"], "missing.jsonl: no such benchmark file or folder"),
    ],
)
def test_bad_options_are_one_clear_line(argv, message, bench, tmp_path, run, capsys, tiny_model):
    base = {"--model": str(tiny_model), "--benchmarks": str(bench), "--out": str(tmp_path / "o")}
    base.update(dict(zip(argv[::2], argv[1::2])))
    assert run(["eval", *[x for kv in base.items() for x in kv]]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_benchmark_line_without_question_names_file_and_line(tmp_path, run, capsys, tiny_model):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(BENCH[0]) + "\n" + json.dumps({"answer": "3"}) + "\n")
    assert run(["eval", "--model", str(tiny_model), "--benchmarks", str(bad), "--out", str(tmp_path / "o")]) == 2
    assert "bad.jsonl:2: no 'question' field" in capsys.readouterr().err


def test_templates_are_the_official_strings():
    assert format_prompt("alpaca", "Q") == (
        "Below is an instruction that describes a task. Write a response that appropriately completes the request."
        "\n\n### Instruction:\nQ\n\n### Response:"
    )
    assert format_prompt("alpaca_force_ans", "Q").endswith(
        "### Instruction:\nQ\n\nTry to conclude your response with 'The answer is ...'.\n### Response:"
    )
    assert format_prompt("chat", "Q") == "Q"


def test_the_template_names_a_config_takes_are_the_templates():
    from mathscale.templates import STOP_STRINGS, TEMPLATE_NAMES, TEMPLATES

    assert tuple(TEMPLATES) == TEMPLATE_NAMES == tuple(STOP_STRINGS)


def test_eval_help(run, capsys):
    with pytest.raises(SystemExit):
        run(["eval", "--help"])
    printed = " ".join(capsys.readouterr().out.split())  # argparse wraps at the terminal's width
    assert "--benchmarks" in printed
    assert "(default: hf)" in printed and "alpaca, alpaca_force_ans, chat" in printed  # from EvalConfig, TEMPLATE_NAMES


@pytest.mark.slow
def test_openai_backend_with_the_embedded_model(bench, tmp_path, run, capsys, llm_cache):
    out = tmp_path / "run"
    rc = run(["eval", "--backend", "openai", "--benchmarks", str(bench), "--out", str(out), "--limit", "1",
              "--template", "alpaca_force_ans", "max_new_tokens=48", "llm.local_model=smollm2-135m",
              f"llm.cache_path={llm_cache}", "llm.progress=false"])  # fmt: skip
    assert rc == 0, capsys.readouterr().err
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["items"] == 4 and metrics["model"] == "smollm2-135m"  # one per data_topic
    rows = [json.loads(line) for p in (out / "predictions").iterdir() for line in p.read_text().splitlines()]
    assert len(rows) == 4 and all(r["completion"].strip() for r in rows)


def test_eval_uses_the_template_the_model_was_trained_on(tmp_path):
    from mathscale.eval.command import trained_template

    (tmp_path / "merged").mkdir()
    (tmp_path / "mathscale_template.json").write_text(json.dumps({"template": "alpaca_force_ans"}))
    assert trained_template(str(tmp_path)) == "alpaca_force_ans"
    assert trained_template(str(tmp_path / "merged")) == "alpaca_force_ans"  # LoRA's merged model
    assert trained_template(str(tmp_path / "merged" / "nothing")) is None


def _eval_process(model: Path, bench: Path, out: Path):
    import os
    import subprocess
    import sys

    argv = ["eval", "--model", str(model), "--benchmarks", str(bench), "--out", str(out), "--template", "alpaca",
            "max_new_tokens=48", "batch_size=1", "grader=mwpbench"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    code = "import sys; from mathscale.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.Popen([sys.executable, "-c", code, *argv], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _complete_lines(out: Path) -> int:
    folder = out / "predictions"
    if not folder.is_dir():
        return 0
    return sum(text.count("\n") for text in (p.read_text() for p in folder.glob("*.jsonl")))


@pytest.mark.slow  # three real processes (each imports torch): about 30 s alone, minutes on a busy machine
def test_sigkill_then_rerun_gives_the_uninterrupted_result(tiny_model, tmp_path):
    """A real `mathscale eval` process killed mid-run; the rerun generates only what is missing."""
    import signal
    import time

    rows = [{"data_topic": "gsm8k" if i % 2 else "MATH.Algebra", "id": f"q{i}", "question": f"What is {i} plus {i}?",
             "answer": str(2 * i)} for i in range(12)]  # fmt: skip
    bench = tmp_path / "bench.jsonl"
    bench.write_text("".join(json.dumps(r) + "\n" for r in rows))
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    assert _eval_process(tiny_model, bench, whole).wait(timeout=600) == 0

    proc = _eval_process(tiny_model, bench, killed)
    deadline = time.monotonic() + 600
    while _complete_lines(killed) < 3 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = _complete_lines(killed)
    assert 3 <= done < len(rows), "the run was not caught mid-way"
    assert not (killed / "metrics.json").exists()

    rerun = _eval_process(tiny_model, bench, killed)
    printed, _ = rerun.communicate(timeout=600)
    assert rerun.returncode == 0, printed
    assert f"resuming: {done} of {len(rows)} items already" in printed
    metrics = json.loads((killed / "metrics.json").read_text())
    assert metrics["generated"] == len(rows) - done  # only the missing ones
    reference = json.loads((whole / "metrics.json").read_text())
    volatile = ("generated", "generation_seconds", "engine")
    assert {k: v for k, v in metrics.items() if k not in volatile} == {k: v for k, v in reference.items() if k not in volatile}
    for name in ("gsm8k.jsonl", "MATH.Algebra.jsonl"):
        assert (killed / "predictions" / name).read_bytes() == (whole / "predictions" / name).read_bytes()
    assert (killed / "results.md").read_text() == (whole / "results.md").read_text()


def test_rerun_with_other_settings_moves_old_predictions_aside(tiny_model, bench, tmp_path, run, capsys):
    out = tmp_path / "run"
    base = ["eval", "--model", str(tiny_model), "--benchmarks", str(bench), "--out", str(out), "batch_size=5"]
    assert run([*base, "max_new_tokens=3"]) == 0
    assert run([*base, "max_new_tokens=3"]) == 0
    assert "resuming: 5 of 5 items already" in capsys.readouterr().out
    assert json.loads((out / "metrics.json").read_text())["generated"] == 0
    assert run([*base, "max_new_tokens=4"]) == 0
    printed = capsys.readouterr().out
    stale = [p for p in out.iterdir() if p.name.startswith("stale-")]
    assert len(stale) == 1 and "made with other settings; moved to" in printed
    assert json.loads((stale[0] / "run.json").read_text())["max_new_tokens"] == 3
    assert json.loads((out / "metrics.json").read_text())["generated"] == 5


def test_openai_backend_spreads_items_over_several_endpoints(bench, tmp_path, run, capsys, llm_cache):
    """llm.base_urls with two endpoints (e.g. one `vllm serve` per GPU): both get a share of the items."""
    from tests.support.fake_server import FakeServer

    out = tmp_path / "run"
    with FakeServer(responder=lambda r: "The answer is 4.") as a, FakeServer(responder=lambda r: "The answer is 4.") as b:
        rc = run(["eval", "--backend", "openai", "--benchmarks", str(bench), "--out", str(out), "llm.concurrency=2",
                  f"llm.base_urls=[{a.base_url},{b.base_url}]", f"llm.cache_path={llm_cache}", "llm.progress=false"])  # fmt: skip
    assert rc == 0, capsys.readouterr().err
    served = (sum(a.counts.values()) - a.counts["models"], sum(b.counts.values()) - b.counts["models"])
    assert sum(served) == len(BENCH) and min(served) >= 1, served
    assert json.loads((out / "metrics.json").read_text())["datasets"]["gsm8k"]["correct"] == 1


def test_the_backend_registry_holds_the_names_eval_config_accepts_and_decides_what_each_needs(monkeypatch):
    from mathscale.errors import MathscaleError
    from mathscale.eval.backends import BACKENDS, Backend, backend_named, require_installed, unavailable
    from mathscale.config import load_config
    from mathscale.eval.config import EvalConfig

    with pytest.raises(MathscaleError, match="backend 'tgi': unknown; known: hf, vllm, openai"):
        load_config(EvalConfig, None, ["backend=tgi"])  # the config accepts what the registry holds
    assert [name for name, b in BACKENDS.items() if b.local_weights] == ["hf", "vllm"]
    assert [name for name, b in BACKENDS.items() if b.ray] == ["openai"]
    assert unavailable("hf") is None and unavailable("openai") is None
    with pytest.raises(MathscaleError, match="backend 'tgi': unknown; known: hf, vllm, openai"):
        backend_named("tgi")

    def load(purpose: str) -> None:
        raise MathscaleError(f"{purpose} needs Missing: pip install missing")

    monkeypatch.setitem(BACKENDS, "missing", Backend(generate_hf, local_weights=False, needs="mathscale_absent_xyz", load=load))
    assert unavailable("missing") == "backend 'missing' needs Missing: pip install missing"  # the dry run's note ...
    with pytest.raises(MathscaleError, match="^backend 'missing' needs Missing: pip install missing$"):
        require_installed("missing")  # ... is the line eval fails with


def test_vllm_backend_without_vllm_is_one_clear_error(tiny_model, bench, tmp_path, run, capsys):
    import importlib.util

    if importlib.util.find_spec("vllm") is not None:
        pytest.skip("vLLM is installed here")
    out = tmp_path / "o"
    assert run(["eval", "--backend", "vllm", "--model", str(tiny_model), "--benchmarks", str(bench), "--out", str(out)]) == 2
    assert "backend 'vllm' needs vLLM: pip install" in capsys.readouterr().err
    assert not out.exists()  # nothing half-written


def test_hf_rows_that_stop_leave_the_batch_and_texts_match_plain_generate(tiny_model, monkeypatch):
    """Stop strings hit at different steps: finished rows are dropped from the KV cache mid-batch,
    and every text equals transformers' own generate() on that prompt alone, cut at the stop."""
    import torch
    from transformers import DynamicCache

    from mathscale.eval.hf_generate import HFGenerator
    from mathscale.templates import cut_at_stop

    generator = HFGenerator.load(str(tiny_model), "float32")
    generator.check_every = 2
    cuts = []
    original = DynamicCache.batch_select_indices
    monkeypatch.setattr(DynamicCache, "batch_select_indices", lambda self, idx: (cuts.append(len(idx)), original(self, idx))[1])
    prompts = [format_prompt("alpaca", r["question"]) for r in BENCH]
    stop = ["e", "t", "\\"]  # frequent in a random model's output, so rows stop at different steps
    batched = generator.generate(prompts, 24, stop, batch_size=5)
    assert cuts, "no row left the batch: the test did not exercise compaction"
    tok = generator.tokenizer
    for prompt, text in zip(prompts, batched):
        ids = tok(prompt, return_tensors="pt")
        with torch.inference_mode():
            out = generator.model.generate(**ids, do_sample=False, max_new_tokens=24, pad_token_id=tok.pad_token_id)
        assert text == cut_at_stop(tok.decode(out[0, ids["input_ids"].shape[1]:], skip_special_tokens=True), stop)
