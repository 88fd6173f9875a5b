"""Issue 8: the step-time breakdown, the diagnosis, asynchronous checkpoints, the batch-size search.

Most tests drive the transformers Trainer in this process with a tiny random Llama (a few
seconds each); one runs ``mathscale train`` end to end in one process; the two-process
DeepSpeed run is marked slow.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from mathscale.train.batch_search import estimated_bytes, largest_fitting, search_batch_size, split_global_batch
from mathscale.train.diagnose import RunSetting, diagnose
from mathscale.train.artifacts import BREAKDOWN_FILE
from mathscale.train.timing import PHASES
from tests.support.tiny import arithmetic_samples, build_tiny_model
from tests.support.train_helpers import metrics, run_train, write_samples


def read_breakdown(out: Path) -> dict:
    """The step-time breakdown a training run wrote into ``out``."""
    return json.loads((out / BREAKDOWN_FILE).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return build_tiny_model(tmp_path_factory.mktemp("model") / "tiny")


@pytest.fixture(scope="module")
def dataset(tiny):
    from transformers import AutoTokenizer

    from mathscale.train.data import build_dataset, load_examples

    path = write_samples(tiny.parent / "samples.jsonl", arithmetic_samples(48))
    return build_dataset(load_examples(path), AutoTokenizer.from_pretrained(str(tiny)), "alpaca", 256)


class SlowCollator:
    """The packing collator, plus a sleep: a data pipeline slower than the step."""

    def __init__(self, inner, seconds: float):
        self.inner, self.seconds = inner, seconds

    def __call__(self, features):
        time.sleep(self.seconds)
        return self.inner(features)


def make_trainer(tiny, dataset, out, *, collator=None, workers=0, async_checkpoint=True, **overrides):
    """A Trainer built the way sft.run builds it (our trainer class, our timing callback)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainingArguments

    from mathscale.train.async_ckpt import make_trainer_class
    from mathscale.train.data import make_collator
    from mathscale.train.diagnose import make_diagnoser
    from mathscale.train.timing import make_timing_callback

    settings = dict(output_dir=str(out), per_device_train_batch_size=4, max_steps=6, logging_steps=2,
                    save_strategy="steps", save_steps=100, learning_rate=1e-3, report_to="none", use_cpu=True,
                    dataloader_num_workers=workers, disable_tqdm=True, remove_unused_columns=False, seed=0)  # fmt: skip
    settings.update(overrides)
    args = TrainingArguments(**settings)
    tokenizer = AutoTokenizer.from_pretrained(str(tiny))
    trainer = make_trainer_class()(
        model=AutoModelForCausalLM.from_pretrained(str(tiny)),
        args=args,
        train_dataset=dataset,
        data_collator=collator or make_collator(tokenizer, packing=True),
        processing_class=tokenizer,
        async_checkpoint=async_checkpoint,
    )
    lengths = [len(x) for x in dataset["input_ids"]]
    setting = RunSetting("cpu", 1, 2, async_checkpoint, False)
    timing = make_timing_callback(
        out=out, samples_per_step=args.per_device_train_batch_size * args.gradient_accumulation_steps,
        mean_length=sum(lengths) / len(lengths), mean_length_sq=sum(n * n for n in lengths) / len(lengths),
        on_report=make_diagnoser(out, setting, True),
    )  # fmt: skip
    trainer.add_callback(timing)
    return trainer, timing


def test_breakdown_sums_to_the_measured_step_time(tmp_path, tiny, dataset):
    from transformers import TrainerCallback

    class Clock(TrainerCallback):  # an independent stopwatch over the same span
        def on_train_begin(self, *a, **k):
            self.begin = time.perf_counter()

        def on_train_end(self, *a, **k):
            self.end = time.perf_counter()

    clock = Clock()
    trainer, timing = make_trainer(tiny, dataset, tmp_path, save_steps=3)
    trainer.callback_handler.callbacks.insert(0, clock)  # starts before, stops before our callback's marks
    trainer.train()
    summary = read_breakdown(tmp_path)
    assert set(summary["seconds"]) == set(PHASES)
    assert summary["steps"] == 6 and summary["global_step"] == 6
    assert sum(summary["seconds"].values()) == pytest.approx(summary["measured_seconds"], rel=1e-9)
    measured = clock.end - clock.begin
    assert summary["wall_seconds"] == pytest.approx(measured, rel=0.02, abs=0.005)
    assert summary["measured_seconds"] == pytest.approx(summary["wall_seconds"], rel=1e-6)
    assert summary["seconds"]["forward_backward"] > 0 and summary["seconds"]["optimizer"] > 0
    assert summary["seconds"]["checkpoint"] > 0  # step 3 and 6 saved
    assert sum(summary["share"].values()) == pytest.approx(1.0)
    assert summary["samples_per_s"] > 0 and summary["tokens_per_s"] > summary["samples_per_s"]
    assert [i["step"] for i in summary["intervals"]] == [2, 4, 6]
    for interval in summary["intervals"]:
        assert sum(interval["seconds"].values()) == pytest.approx(interval["measured_seconds"], rel=1e-9)
    assert "gpu" not in summary and "mfu" not in summary  # CPU: no device readings, no MFU claimed


def test_a_slow_data_loader_is_diagnosed_as_a_data_stall(tmp_path, tiny, dataset):
    from mathscale.train.data import make_collator
    from transformers import AutoTokenizer

    inner = make_collator(AutoTokenizer.from_pretrained(str(tiny)), packing=True)
    trainer, _ = make_trainer(tiny, dataset, tmp_path, collator=SlowCollator(inner, 0.15))
    trainer.train()
    summary = read_breakdown(tmp_path)
    assert summary["seconds"]["data_wait"] >= 5 * 0.15 * 0.9  # the first batch is counted as startup
    assert summary["seconds"]["startup"] >= 0.15 * 0.9
    assert summary["share"]["data_wait"] > 0.3
    reports = json.loads((tmp_path / "train_diagnosis.json").read_text())["reports"]
    assert [r["final"] for r in reports] == [False, True]  # after the second interval, and at the end
    for report in reports:
        causes = {f["cause"]: f for f in report["findings"]}
        assert "data_stall" in causes
        assert causes["data_stall"]["fix"].startswith("dataloader_num_workers=2")


def test_diagnose_names_each_cause_with_its_fix():
    share = dict.fromkeys(PHASES, 0.0) | {"forward_backward": 0.6, "checkpoint": 0.3, "data_wait": 0.1}
    gpu = {"device": "NVIDIA H100", "memory_total_gb": 80.0, "max_allocated_gb": 10.0, "utilization_pct": 35.0}
    report = {"share": share, "per_device_batch_size": 4, "gradient_accumulation_steps": 8,
              "dataloader_num_workers": 0, "dataloader_pin_memory": False, "gpu": gpu}  # fmt: skip
    found = {f.cause: f.fix for f in diagnose(report, RunSetting("cuda", 8, 4, async_checkpoint=False, deepspeed=False))}
    assert found == {
        "small_batch": "per_device_batch_size=8 gradient_accumulation_steps=4 or --auto-batch-size",
        "pageable_copies": "dataloader_pin_memory=true",
        "checkpoint_stall": "async_checkpoint=true",
        "oversubscribed": "--num-processes 4",
    }  # data wait at 10% is not above the threshold
    busy = report | {"gpu": gpu | {"utilization_pct": 95.0}, "dataloader_pin_memory": True}
    busy["share"] = share | {"checkpoint": 0.0}
    assert diagnose(busy, RunSetting("cuda", 4, 4, True, True)) == []


def test_async_checkpoint_is_complete_and_loadable(tmp_path, tiny, dataset):
    import torch
    from transformers import AutoModelForCausalLM

    trainer, _ = make_trainer(tiny, dataset, tmp_path, save_steps=2, max_steps=4, save_total_limit=5)
    write = trainer._write

    def slow_write(*args):  # a slow disk: the step loop must not wait for it
        time.sleep(1.0)
        write(*args)

    from transformers import TrainerCallback

    class Look(TrainerCallback):  # what is on disk when step 3 begins, right after the save at step 2
        def on_step_begin(self, args, state, control, **kw):
            if state.global_step == 2:
                self.present = (tmp_path / "checkpoint-2").exists()

    look = Look()
    trainer.add_callback(look)
    trainer._write = slow_write
    trainer.train()
    assert look.present is False  # the loop went on while checkpoint-2 was still being written
    summary = read_breakdown(tmp_path)
    assert trainer.checkpoint_wait_seconds > 0.5  # the save at step 4 waited for the write of step 2
    # apart from that wait, saving cost the step loop only the copy to host memory
    assert summary["seconds"]["checkpoint"] - trainer.checkpoint_wait_seconds < 0.5
    for step in (2, 4):
        folder = tmp_path / f"checkpoint-{step}"
        assert {"model.safetensors", "optimizer.pt", "scheduler.pt", "rng_state.pth", "trainer_state.json",
                "config.json", "tokenizer.json"} <= {p.name for p in folder.iterdir()}  # fmt: skip
        assert json.loads((folder / "trainer_state.json").read_text())["global_step"] == step
    assert not list(tmp_path.glob("*.partial"))
    saved = AutoModelForCausalLM.from_pretrained(str(tmp_path / "checkpoint-4"))
    live = trainer.model.state_dict()
    for name, value in saved.state_dict().items():
        assert torch.equal(value, live[name]), name
    optimizer = torch.load(tmp_path / "checkpoint-4" / "optimizer.pt", weights_only=False)
    assert optimizer["state"] and all(s["step"] == 4 for s in optimizer["state"].values())

    # the Trainer resumes from it and lands on the same weights as the uninterrupted run
    again, _ = make_trainer(tiny, dataset, tmp_path / "resumed", save_steps=100, max_steps=4)
    again.train(resume_from_checkpoint=str(tmp_path / "checkpoint-2"))
    for name, value in again.model.state_dict().items():
        assert torch.allclose(value, live[name], atol=1e-6), name


def test_largest_fitting_bisects_to_the_boundary():
    for limit in (0, 1, 2, 3, 5, 8, 13, 64):
        calls: list[int] = []

        def fits(b, limit=limit):
            calls.append(b)
            return b <= limit

        assert largest_fitting(fits, 64) == min(limit, 64)
        assert len(calls) <= 2 * 7 + 1
    plan = split_global_batch(8, 3)
    assert (plan.micro_batch, plan.accumulation, plan.largest_fitting) == (2, 4, 3)


def test_batch_search_finds_the_largest_size_under_a_simulated_limit(tiny, dataset):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from mathscale.train.batch_search import trial_fits
    from mathscale.train.data import make_collator

    model = AutoModelForCausalLM.from_pretrained(str(tiny))
    collate = make_collator(AutoTokenizer.from_pretrained(str(tiny)), packing=True)
    params = sum(p.numel() for p in model.parameters())
    longest = sorted((len(x) for x in dataset["input_ids"]), reverse=True)
    need = [estimated_bytes(params, params, model.config.num_hidden_layers, model.config.hidden_size,
                            sum(longest[:b]), 4) for b in range(1, 9)]  # fmt: skip
    budget = (need[2] + need[3]) // 2  # 3 examples fit, 4 do not
    plan = search_batch_size(model, collate, dataset, 8, "cpu", budget_bytes=budget)
    assert plan.largest_fitting == 3
    assert (plan.micro_batch, plan.accumulation) == (2, 4)  # the global batch of 8 is kept
    fits = trial_fits(model, collate, dataset, "cpu", budget_bytes=budget)
    assert fits(3) is True  # runs a real forward and backward
    assert fits(4) is False
    assert all(p.grad is None for p in model.parameters())  # trials leave no gradients behind


def test_mathscale_train_writes_breakdown_and_diagnosis_and_picks_a_batch(tmp_path, tiny, capfd):
    out = tmp_path / "run"
    samples = write_samples(tmp_path / "s.jsonl", arithmetic_samples(48))
    assert run_train("--data", samples, "--model", tiny, "--out", out, "--deepspeed", "none", "--num-processes", "1",
                     "--auto-batch-size", "launch.device=cpu", "max_steps=4", "logging_steps=1", "save_steps=2",
                     "per_device_batch_size=4", "memory_budget_bytes=4500000") == 0  # fmt: skip
    printed = capfd.readouterr().out
    assert "step-time breakdown over 4 steps" in printed
    assert "diagnosis (whole run)" in printed
    summary = read_breakdown(out)
    assert summary["steps"] == 4
    assert sum(summary["seconds"].values()) == pytest.approx(summary["measured_seconds"])
    reports = json.loads((out / "train_diagnosis.json").read_text())["reports"]
    assert reports[-1]["final"] is True
    m = metrics(out)
    assert m["per_device_batch_size"] * m["gradient_accumulation_steps"] == 4
    assert (m["per_device_batch_size"], m["gradient_accumulation_steps"]) == (2, 2)  # 4.5 MB holds 2 examples, not 3
    assert (out / "checkpoint-4" / "optimizer.pt").is_file() and not list(out.glob("*.partial"))


@pytest.mark.slow
def test_two_process_deepspeed_run_reports_its_breakdown(tmp_path, tiny):
    out = tmp_path / "run"
    samples = write_samples(tmp_path / "s.jsonl", arithmetic_samples(48))
    assert run_train("--data", samples, "--model", tiny, "--out", out, "--deepspeed", "zero2", "launch.device=cpu",
                     "max_steps=4", "logging_steps=2", "save_steps=2") == 0  # fmt: skip
    summary = read_breakdown(out)
    assert summary["world_size"] == 2 and summary["deepspeed"] is True
    assert "inside backward" in summary["note"]
    assert summary["seconds"]["checkpoint"] > 0  # synchronous under DeepSpeed, and measured
    assert sum(summary["seconds"].values()) == pytest.approx(summary["measured_seconds"])


class FakeCudaEvent:
    """Stands in for torch.cuda.Event on CPU: a timestamp per record; waits are counted, as the real
    one would block the host there and only there."""

    waits = 0

    def __init__(self, enable_timing: bool = False):
        assert enable_timing  # elapsed_time needs it on the real event too
        self.at = None

    def record(self, stream=None):
        self.at = time.perf_counter()

    def synchronize(self):
        assert self.at is not None, "synchronize on an event never recorded"
        FakeCudaEvent.waits += 1

    def elapsed_time(self, end: FakeCudaEvent) -> float:
        assert self.at is not None and end.at is not None
        return (end.at - self.at) * 1000.0  # milliseconds, like CUDA


def test_device_clock_marks_never_wait_and_reports_wait_once():
    from mathscale.train.timing import StepTimer

    FakeCudaEvent.waits = 0
    timer = StepTimer(FakeCudaEvent)
    for _ in range(5):
        for phase in ("data_wait", "forward_backward", "optimizer", "other"):
            time.sleep(0.002)
            timer.mark(phase)
        timer.step_done()
    assert FakeCudaEvent.waits == 0  # the step loop never waits for the device
    assert timer.total.total == 0.0  # device time is only known once resolved
    window, host = timer.take_window()
    assert FakeCudaEvent.waits == 1  # one wait per report
    assert window.steps == host.steps == 5
    assert window.total == pytest.approx(host.total, rel=0.05, abs=0.002)
    assert all(window.seconds[p] > 0 for p in ("data_wait", "forward_backward", "optimizer", "other"))
    assert 0 < timer.overhead < window.total  # the timer's own cost is measured, and small


def test_diagnose_names_few_tokens_quadratic_attention_and_host_gaps():
    share = dict.fromkeys(PHASES, 0.0) | {"forward_backward": 0.85, "other": 0.15}
    gpu = {"device": "NVIDIA H100", "memory_total_gb": 80.0, "max_allocated_gb": 60.0, "utilization_pct": 90.0}
    report = {"share": share, "per_device_batch_size": 16, "gradient_accumulation_steps": 1, "dataloader_num_workers": 2,
              "gpu": gpu, "params": 1_390_000_000, "tokens_per_step": 4500.0, "mfu": 0.15, "attention": "sdpa",
              "clock": "device", "logging_steps": 1}  # fmt: skip
    found = {f.cause: f for f in diagnose(report, RunSetting("cuda", 1, 1, True, False, packing=True))}
    assert set(found) == {"few_tokens_per_step", "quadratic_attention", "host_gaps"}
    assert "4500 tokens per micro-batch for a 1.39B-parameter model" in found["few_tokens_per_step"].evidence
    assert found["few_tokens_per_step"].fix.startswith("max_tokens_per_batch=16384")
    assert "attn_implementation=auto" in found["quadratic_attention"].fix
    assert "idle 15%" in found["host_gaps"].evidence
    fine = report | {"tokens_per_step": 16000.0, "attention": "flex_attention", "share": share | {"other": 0.01}}
    assert diagnose(fine, RunSetting("cuda", 1, 1, True, False)) == []
    # a host clock cannot see device idle time; unpacked rows have no packed mask
    assert diagnose(report | {"clock": "host", "tokens_per_step": 16000.0}, RunSetting("cuda", 1, 1, True, False,
                                                                                     packing=False)) == []  # fmt: skip


@pytest.mark.parametrize("asked", [False, True])
def test_the_last_step_writes_a_full_checkpoint_only_when_asked(tmp_path, tiny, dataset, asked):
    from mathscale.train.sft import _final_checkpoint_callback

    trainer, _ = make_trainer(tiny, dataset, tmp_path, max_steps=5, save_steps=100)
    trainer.add_callback(_final_checkpoint_callback(asked))
    trainer.train()
    assert (tmp_path / "checkpoint-5").is_dir() is asked


def test_token_budget_search_finds_the_largest_row_under_a_simulated_limit(tiny, dataset):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from mathscale.train.batch_search import TOKEN_STEP, search_token_budget
    from mathscale.train.data import make_collator

    model = AutoModelForCausalLM.from_pretrained(str(tiny))
    collate = make_collator(AutoTokenizer.from_pretrained(str(tiny)), packing=True)
    params = sum(p.numel() for p in model.parameters())
    layers, hidden = model.config.num_hidden_layers, model.config.hidden_size
    budget = (estimated_bytes(params, params, layers, hidden, 3 * TOKEN_STEP, 4)
              + estimated_bytes(params, params, layers, hidden, 4 * TOKEN_STEP, 4)) // 2  # 3K tokens fit, 4K not
    assert search_token_budget(model, collate, dataset, 8 * TOKEN_STEP, "cpu", budget_bytes=budget) == 3 * TOKEN_STEP
    assert search_token_budget(model, collate, dataset, 2500, "cpu", budget_bytes=budget) == 2500  # the cap fits
    assert all(p.grad is None for p in model.parameters())
