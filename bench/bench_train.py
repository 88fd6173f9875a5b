"""Training throughput: a bare PyTorch loop, a plain transformers Trainer, and mathscale train's path.

All three run in one process on the same data (real GSM8K + MATH train pairs from
../shared/data/seeds when that folder is there, else generated arithmetic samples of varied
length), the same random-weight model shape and the same attention implementation, and train
on the same micro-batches in the same order, at two sizes of step:

- ``ex``: ``--examples-per-step`` examples per step (16: about 4.5K tokens of GSM8K/MATH);
- ``tok``: micro-batches filled up to ``--tokens-per-step`` tokens (16,384 by default,
  mathscale's ``max_tokens_per_batch`` default on a GPU). mathscale groups the examples
  itself (mathscale.train.batching); the bare loop and the Trainer get the same groups, in
  the order the Trainer's seeded sampler visits them, as ready-made micro-batches.

Every path counts the tokens it trained on the same way (a forward pre-hook on the decoder,
so nothing the data loader fetched ahead is counted), per step; the table prints them and
says whether every path saw the same micro-batches.

The paths:

- **bare**: our own loop, the ceiling: packed rows (the padding-free collator), AdamW
  (fused on GPU), gradient clipping, nothing else;
- **trainer**: a plain ``transformers.Trainer`` with ``DataCollatorWithFlattening``, the way its
  documentation trains padding-free (no loader workers, no callbacks of ours);
- **mathscale**: ``mathscale.train.sft.prepare`` (what every ``mathscale train`` process runs:
  cached tokenisation, our trainer class, step-time breakdown and diagnosis, token budgets,
  fused loss, loader workers), in this process, ``--deepspeed none`` unless ``--ms-deepspeed``.
  Its final save (model, tokenizer, template) is timed too.

On a shared machine the load of other processes changes from one minute to the next, so by
default on CPU the paths take turns (``--interleave steps``): each path's optimizer step runs
while the others wait (one thread per path, only one of them running at a time; the mathscale
path's loader workers may prefetch meanwhile, as they do during its own steps), and each step
is timed on its own. ``--interleave runs`` (the default on a GPU, where per-step timing would
synchronise the device every step) runs the paths one after the other and times only the
start and end of the timed steps. ``--repeats N`` repeats everything with fresh models,
starting with a different path each time; the table gives the median and the range over the
repeats, and the ratio to the Trainer measured in the same repeat.

Per run it prints real tokens/s, tokens per step, MFU ((6 N + attention) FLOPs per token,
attention as in mathscale.train.timing, against --peak-tflops, default 989 = H100 dense bf16;
GPU only), CPU seconds per step (interleaved on CPU: the process's CPU time during the path's
turns, loader workers not included), peak memory (GPU, one path at a time only) and the
ratios against the Trainer at the same step size.

    python bench/bench_train.py --device cpu --shape small --steps 6 --repeats 3   # CPU, a small random Llama
    python bench/bench_train.py --device cuda --shape qwen2.5-1.5b --tokenizer DIR   # one H100

``--tokenizer`` names a folder with a tokenizer (default: the SmolLM2 tokenizer when
``mathscale train`` has converted smollm2-135m, else a tiny BPE one); the model's vocabulary is
the tokenizer's. Timing: after ``--warmup`` untimed steps; see ``--interleave`` for when the
device is synchronised.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # tests.support, the test doubles (benchmarks run as `python bench/<name>.py`)

from mathscale.train.data import build_dataset, load_examples, make_collator  # noqa: E402
from tests.support.tiny import arithmetic_samples, build_tokenizer  # noqa: E402

# ../shared beside the checkout (or beside the folder of worktrees a checkout may sit in)
SEEDS = next((p / "shared" / "data" / "seeds" for p in (REPO.parent, REPO.parent.parent)
              if (p / "shared" / "data" / "seeds").is_dir()), REPO.parent / "shared" / "data" / "seeds")  # fmt: skip
SEED_FILES = ("gsm8k_train.jsonl", "math_train.jsonl")

# Random-weight configurations of realistic shapes (no download needed).
SHAPES = {
    "tiny": dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2),
    "small": dict(hidden_size=256, intermediate_size=768, num_hidden_layers=4, num_attention_heads=8, num_key_value_heads=4),
    "qwen2.5-0.5b": dict(model_type="qwen2", hidden_size=896, intermediate_size=4864, num_hidden_layers=24,
                         num_attention_heads=14, num_key_value_heads=2, vocab_size=151936, tie_word_embeddings=True),
    "qwen2.5-1.5b": dict(model_type="qwen2", hidden_size=1536, intermediate_size=8960, num_hidden_layers=28,
                         num_attention_heads=12, num_key_value_heads=2, vocab_size=151936, tie_word_embeddings=True),
}  # fmt: skip


def varied_samples(n: int, seed: int) -> list[dict]:
    """Arithmetic QA pairs with 0-150 filler words: a long-tailed length mix, like real data."""
    rng = random.Random(seed)
    rows = arithmetic_samples(n, seed)
    for row in rows:
        extra = int(min(150, rng.expovariate(1 / 40)))
        row["question"] += " " + " ".join(rng.choice(["apples", "boxes", "coins", "pens"]) for _ in range(extra))
    return rows


def seed_samples(n: int, seed: int) -> list[dict]:
    """Up to ``n`` GSM8K + MATH train pairs (half each), shuffled; [] when the seeds folder is absent."""
    rows: list[dict] = []
    for name in SEED_FILES:
        path = SEEDS / name
        if not path.is_file():
            return []
        with path.open(encoding="utf-8") as handle:
            lines = [json.loads(line) for _, line in zip(range(n // len(SEED_FILES)), handle)]
        rows += [{"question": r["question"], "solution": r["solution"], "answer": r.get("answer", "")} for r in lines]
    random.Random(seed).shuffle(rows)
    return rows


def default_tokenizer_dir() -> Path | None:
    from mathscale.models.gguf import cache_root

    folder = cache_root() / "hf" / "smollm2-135m"
    return folder if (folder / "tokenizer.json").is_file() else None


def bench_tokenizer(args):
    """The tokenizer of --model / --tokenizer (or the tiny one), with a pad token; None without a GPU for cuda."""
    import torch

    if args.device == "cuda" and not torch.cuda.is_available():
        print("--device cuda: torch sees no GPU", file=sys.stderr)
        return None
    from transformers import AutoTokenizer

    folder = getattr(args, "tokenizer", None)
    if getattr(args, "model", None):
        from mathscale.models.hub import model_folder

        folder = model_folder(args.model)
    tokenizer = AutoTokenizer.from_pretrained(str(folder)) if folder else build_tokenizer()
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def model_config(shape: str, vocab: int, attn: str | None = None):
    from transformers import AutoConfig

    spec = dict(SHAPES[shape])
    model_type = spec.pop("model_type", "llama")
    spec["vocab_size"] = vocab
    extra = {"attn_implementation": attn} if attn else {}
    config = AutoConfig.for_model(model_type, max_position_embeddings=4096, **spec, **extra)
    config.use_cache = False  # as in training: packed sequences need it off
    return config


def build_model(shape: str, model: str | None, vocab: int, dtype, device: str = "cpu", attn: str | None = None):
    """A random-weight model of ``shape`` (created on ``device``) and its tokenizer, or a named/folder model."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if model:
        from mathscale.models.hub import model_folder

        folder = model_folder(model)
        return AutoModelForCausalLM.from_pretrained(str(folder), dtype=dtype), AutoTokenizer.from_pretrained(str(folder))
    torch.manual_seed(0)
    with torch.device(device):
        built = AutoModelForCausalLM.from_config(model_config(shape, vocab, attn), dtype=dtype)
    return built, build_tokenizer()


def flops_per_token(params: int, layers: int, hidden: int, lengths: list[int]) -> float:
    """6 N plus causal attention (6 L h n^2 per example of n tokens), per real token."""
    from mathscale.train.timing import ModelShape

    n = len(lengths)
    mean, mean_sq = sum(lengths) / n, sum(x * x for x in lengths) / n
    return ModelShape(params, layers, hidden).flops_per_example(mean, mean_sq) / mean


class Stopwatch:
    """Synchronise, then read the clock."""

    def __init__(self, cuda: bool):
        self.cuda = cuda

    def __call__(self) -> float:
        import torch

        if self.cuda:
            torch.cuda.synchronize()
        return time.perf_counter()


def reset_memory(cuda: bool) -> None:
    import torch

    gc.collect()
    if cuda:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def peak_gib(cuda: bool) -> float:
    import torch

    return torch.cuda.max_memory_allocated() / 2**30 if cuda else 0.0


class Turns:
    """The paths of one repeat take turns: one of them runs (its set-up, or one step) while the others wait.

    One thread per path. ``wait(name)`` blocks until it is ``name``'s turn; ``next(name)`` hands the
    turn to the next path still running and blocks until it comes back; ``leave(name)`` takes
    ``name`` out of the rotation. ``Turns([])`` (paths one after the other) does nothing.
    """

    def __init__(self, names: list[str]):
        self.order, self.gone, self.current = list(names), set(), 0
        self.cond = threading.Condition()

    def wait(self, name: str) -> None:
        if self.order:
            with self.cond:
                self.cond.wait_for(lambda: self.order[self.current] == name)

    def next(self, name: str) -> None:
        if self.order:
            with self.cond:
                self._advance()
                self.cond.notify_all()
                self.cond.wait_for(lambda: self.order[self.current] == name)

    def leave(self, name: str) -> None:
        if self.order:
            with self.cond:
                self.gone.add(name)
                if self.order[self.current] == name:
                    self._advance()
                self.cond.notify_all()

    def _advance(self) -> None:
        for i in range(1, len(self.order) + 1):
            j = (self.current + i) % len(self.order)
            if self.order[j] not in self.gone:
                self.current = j
                return


class TokenCounter:
    """Tokens trained on: a forward pre-hook on the decoder adds up the input_ids of each training forward.

    Counted where the model reads them, the same way in every path, so a batch that a data
    loader fetched ahead (accelerate's loader always holds the next one) is not counted before it
    is trained on. Reads shapes only: no device synchronisation.
    """

    def __init__(self, model):
        from mathscale.train.loss import base_causal_lm

        self.total = 0
        self.handle = base_causal_lm(model).get_decoder().register_forward_pre_hook(self._count, with_kwargs=True)

    def _count(self, module, args, kwargs) -> None:
        ids = kwargs.get("input_ids", args[0] if args else None)
        if module.training and ids is not None:
            self.total += ids.numel()


class Meter:
    """One path's tokens per optimizer step and its clock, in turn with the other paths.

    ``start()`` once set up (hands the turn on), ``step_done(n)`` after optimizer step ``n``
    (1-based). Interleaved, each timed step runs from the moment the path gets its turn back to
    the step's end (data fetch included) and its process CPU time is taken too; otherwise the
    clock is read (and the device synchronised) only after the warm-up and after the last step.
    """

    def __init__(self, name: str, turns: Turns, args, counter: TokenCounter):
        self.name, self.turns, self.counter = name, turns, counter
        self.warmup, self.last = args.warmup, args.warmup + args.steps
        self.interleaved = bool(turns.order)
        self.clock = Stopwatch(args.device == "cuda")
        self.step_tokens: list[int] = []  # every step's, warm-up included
        self.step_seconds: list[float] = []  # timed steps, interleaved only
        self.seconds = self.cpu_seconds = 0.0  # timed steps
        self._t = self._cpu = 0.0
        self._tokens_at = 0

    def _mark(self) -> None:
        self._t, self._cpu = self.clock(), time.process_time()

    def start(self) -> None:
        self.turns.next(self.name)
        self._tokens_at = self.counter.total
        self._mark()

    def step_done(self, step: int) -> None:
        self.step_tokens.append(self.counter.total - self._tokens_at)
        self._tokens_at = self.counter.total
        if self.interleaved:
            if step > self.warmup:
                self.step_seconds.append(self.clock() - self._t)
                self.seconds += self.step_seconds[-1]
                self.cpu_seconds += time.process_time() - self._cpu
            self.turns.next(self.name)
            self._mark()
        elif step == self.warmup:
            self._mark()
        elif step == self.last:
            self.seconds, self.cpu_seconds = self.clock() - self._t, time.process_time() - self._cpu

    def result(self) -> dict:
        timed = self.step_tokens[self.warmup : self.last]
        return {"tokens": sum(timed), "seconds": self.seconds, "cpu_seconds": self.cpu_seconds,
                "step_tokens": timed, "step_seconds": self.step_seconds}  # fmt: skip


def meter_callback(meter: Meter):
    from transformers import TrainerCallback

    class Metered(TrainerCallback):
        def on_train_begin(self, args, state, control, **kw):
            meter.start()

        def on_step_end(self, args, state, control, **kw):
            meter.step_done(state.global_step)

    return Metered()


def sampler_order(items: int, per_batch: int, batches: int, data_seed: int = 0) -> list[list[int]]:
    """The items of each of the first ``batches`` batches in the Trainer's order.

    accelerate gives the Trainer a seeded random sampler: a ``torch.randperm`` with a generator
    seeded ``data_seed + epoch`` per epoch; the last batch of an epoch may be short (no drop_last).
    """
    import torch

    order: list[list[int]] = []
    epoch = 0
    while len(order) < batches:
        perm = torch.randperm(items, generator=torch.Generator().manual_seed(data_seed + epoch)).tolist()
        order += [perm[i : i + per_batch] for i in range(0, items, per_batch)]
        epoch += 1
    return order[:batches]


def shape_of(model) -> dict:
    return {"params": sum(p.numel() for p in model.parameters()), "layers": model.config.num_hidden_layers,
            "hidden": model.config.hidden_size, "attention": model.config._attn_implementation}  # fmt: skip


class BareRun:
    """The ceiling: our own loop over the same packed micro-batches, in the Trainer's order."""

    def __init__(self, name: str, turns: Turns, args, rows: list[dict], batches: list[list[int]], tokenizer, attn):
        import torch

        self.args, self.rows, self.batches, self.cuda = args, rows, batches, args.device == "cuda"
        dtype = torch.bfloat16 if self.cuda else torch.float32
        self.model, _ = build_model(args.shape, None, len(tokenizer), dtype, args.device, attn)
        self.model.train()
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=1e-5, fused=self.cuda)
        self.collate = make_collator(tokenizer, packing=True)
        self.meter = Meter(name, turns, args, TokenCounter(self.model))

    def go(self) -> dict:
        import torch

        model, optimizer = self.model, self.optimizer
        self.meter.start()
        for step, picked in enumerate(self.batches[: self.args.warmup + self.args.steps], start=1):
            batch = {k: v.to(self.args.device, non_blocking=True) for k, v in self.collate([self.rows[i] for i in picked]).items()}
            model(**batch).loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            self.meter.step_done(step)
        result = {**self.meter.result(), "peak_gib": peak_gib(self.cuda), **shape_of(model)}
        self.model = self.optimizer = None
        return result


class TrainerRun:
    """A plain transformers Trainer with DataCollatorWithFlattening, as its documentation shows.

    With ``groups`` (token budgets) its dataset is the groups themselves, one ready-made
    micro-batch per item, flattened by the same collator.
    """

    def __init__(self, name: str, turns: Turns, args, dataset, tokenizer, examples_per_step: int, attn,
                 groups: list[list[int]] | None = None):  # fmt: skip
        import torch
        from transformers import DataCollatorWithFlattening, Trainer, TrainingArguments

        self.cuda = args.device == "cuda"
        dtype = torch.bfloat16 if self.cuda else torch.float32
        model, _ = build_model(args.shape, None, len(tokenizer), dtype, args.device, attn)
        flatten = DataCollatorWithFlattening()
        if groups is None:
            train_data, collate, per_step = dataset, flatten, examples_per_step
        else:
            rows = list(dataset)
            train_data = [[rows[i] for i in group] for group in groups]
            collate, per_step = (lambda items: flatten([row for item in items for row in item])), 1
        self.meter = Meter(name, turns, args, TokenCounter(model))
        self.tmp = tempfile.TemporaryDirectory()
        targs = TrainingArguments(
            output_dir=self.tmp.name, per_device_train_batch_size=per_step, max_steps=args.warmup + args.steps,
            learning_rate=1e-5, logging_steps=10, save_strategy="no", report_to="none", disable_tqdm=True,
            use_cpu=not self.cuda, bf16=self.cuda, optim="adamw_torch_fused" if self.cuda else "adamw_torch",
            remove_unused_columns=False, seed=0, data_seed=0,
        )  # fmt: skip
        self.trainer = Trainer(model=model, args=targs, train_dataset=train_data, data_collator=collate,
                               callbacks=[meter_callback(self.meter)])  # fmt: skip

    def go(self) -> dict:
        self.trainer.train()
        result = {**self.meter.result(), "peak_gib": peak_gib(self.cuda), **shape_of(self.trainer.model)}
        release(self.trainer)
        self.trainer = None
        self.tmp.cleanup()
        return result


def release(trainer) -> None:
    """Drop the references a finished Trainer keeps to its model and optimizer (accelerator, callbacks)."""
    trainer.accelerator.free_memory()
    trainer.model = trainer.model_wrapped = trainer.optimizer = trainer.lr_scheduler = None
    handler = trainer.callback_handler
    handler.model = handler.optimizer = handler.lr_scheduler = handler.train_dataloader = None


def parse_overrides(text: str) -> dict:
    """``key=value,key=value`` -> TrainConfig fields (values as YAML scalars)."""
    import yaml

    pairs = [item.split("=", 1) for item in text.split(",") if item]
    return {k.strip(): yaml.safe_load(v) for k, v in pairs}


class MathscaleRun:
    """mathscale train's own path (sft.prepare), in this process; then its final save, timed."""

    def __init__(self, name: str, turns: Turns, args, files: dict, examples_per_step: int, max_tokens: int, attn: str,
                 overrides: dict | None = None, profile: Path | None = None):  # fmt: skip
        from mathscale.train.config import LaunchSettings, TrainConfig
        from mathscale.train.sft import prepare

        self.cuda = args.device == "cuda"
        if not self.cuda:  # one process, no launcher: a plain CPU state for sft's gloo set-up to find
            from accelerate import PartialState

            PartialState(cpu=True)
        self.tmp = tempfile.TemporaryDirectory(dir=args.workdir)
        out = self.tmp.name
        if args.ms_deepspeed != "none":
            from mathscale.train.artifacts import DS_CONFIG_NAME
            from mathscale.train.launch import load_deepspeed_config

            cfg0 = TrainConfig(deepspeed=args.ms_deepspeed)
            (Path(out) / DS_CONFIG_NAME).write_text(json.dumps(load_deepspeed_config(cfg0)))
        settings = dict(
            data=str(files["data"]), model=str(files["model"]), out=out, max_length=args.max_length,
            deepspeed=args.ms_deepspeed, per_device_batch_size=examples_per_step, max_tokens_per_batch=max_tokens,
            max_steps=args.warmup + args.steps, learning_rate=1e-5, logging_steps=args.steps, save_steps=10**6,
            attn_implementation=attn, fused_loss=args.fused_loss, seed=0, launch=LaunchSettings(device=args.device),
        )  # fmt: skip
        self.cfg = TrainConfig(**{**settings, **(overrides or {})})
        self.prepared = prepare(self.cfg)
        trainer = self.prepared.trainer
        self.meter = Meter(name, turns, args, TokenCounter(trainer.model))
        trainer.add_callback(meter_callback(self.meter))
        if profile is not None:
            trainer.add_callback(profiler_callback(args, profile))

    def go(self) -> dict:
        from mathscale.train.save import save_final

        prepared, out = self.prepared, Path(self.tmp.name)
        trainer = prepared.trainer
        trainer.train()
        started = time.perf_counter()
        save_final(trainer, out, self.cfg.template, lora=False)
        save_seconds = time.perf_counter() - started
        from mathscale.train.artifacts import BREAKDOWN_FILE, DIAGNOSIS_FILE

        breakdown = json.loads((out / BREAKDOWN_FILE).read_text())
        diagnosis = json.loads((out / DIAGNOSIS_FILE).read_text()) if (out / DIAGNOSIS_FILE).exists() else {}
        saved_gb = sum(f.stat().st_size for f in out.glob("*.safetensors")) / 1e9
        result = {**self.meter.result(), "peak_gib": peak_gib(self.cuda), **shape_of(trainer.model),
                  "save_seconds": save_seconds, "saved_gb": saved_gb, "fused_loss": prepared.fused_loss,
                  "max_tokens_per_batch": prepared.max_tokens,
                  "breakdown": {k: breakdown.get(k) for k in ("seconds", "host_seconds", "share", "clock",
                                                               "timing_overhead_seconds", "step_seconds")},
                  "diagnosis": diagnosis}  # fmt: skip
        release(trainer)
        self.prepared = None
        self.tmp.cleanup()
        return result


def profiler_callback(args, out: Path):
    """torch.profiler over 3 steps after the warm-up; writes the top operators by host and device time."""
    import torch
    from transformers import TrainerCallback

    activities = [torch.profiler.ProfilerActivity.CPU]
    if args.device == "cuda":
        activities.append(torch.profiler.ProfilerActivity.CUDA)

    class Profile(TrainerCallback):
        prof = None

        def on_step_end(self, targs, state, control, **kw):
            if state.global_step == args.warmup:
                self.prof = torch.profiler.profile(activities=activities)
                self.prof.__enter__()
            elif state.global_step == args.warmup + 3 and self.prof is not None:
                self.prof.__exit__(None, None, None)
                table = self.prof.key_averages()
                device_key = "self_cuda_time_total" if args.device == "cuda" else "self_cpu_time_total"
                text = (table.table(sort_by="self_cpu_time_total", row_limit=40) + "\n\n"
                        + table.table(sort_by=device_key, row_limit=40))  # fmt: skip
                out.write_text(text)
                self.prof = None

    return Profile()


def write_inputs(args, examples, tokenizer, folder: Path) -> dict:
    """The samples JSONL and a saved random model folder (with tokenizer) that mathscale train reads."""
    import torch

    data = folder / "samples.jsonl"
    data.write_text("".join(json.dumps({"question": e.question, "solution": e.response}) + "\n" for e in examples))
    model_dir = Path(args.keep_model) if args.keep_model else folder / "model"
    model, _ = build_model(args.shape, None, len(tokenizer), torch.bfloat16 if args.device == "cuda" else torch.float32,
                           args.device)  # fmt: skip
    started = time.perf_counter()
    model.save_pretrained(str(model_dir))
    write_seconds = time.perf_counter() - started
    tokenizer.save_pretrained(str(model_dir))
    del model
    return {"data": data, "model": model_dir, "plain_save_seconds": write_seconds}


def run_paths(builders: dict, interleaved: bool, cuda: bool) -> dict[str, dict]:
    """Each path's result: interleaved, built one by one here and then run in turns; else built and run in sequence."""
    results: dict[str, dict] = {}
    if not interleaved:
        for name, build in builders.items():
            reset_memory(cuda)
            started = time.perf_counter()
            results[name] = build(Turns([])).go() | {"wall": time.perf_counter() - started}
        return results
    turns = Turns(list(builders))
    started = time.perf_counter()
    runs = {name: build(turns) for name, build in builders.items()}
    errors: dict[str, BaseException] = {}

    def go(name: str) -> None:
        try:
            turns.wait(name)
            results[name] = runs.pop(name).go() | {"wall": time.perf_counter() - started}
        except BaseException as exc:  # re-raised below, on the main thread
            errors[name] = exc
        finally:
            turns.leave(name)

    threads = [threading.Thread(target=go, args=(name,), name=f"bench-{name}") for name in builders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        name, exc = next(iter(errors.items()))
        raise RuntimeError(f"path {name} failed: {exc}") from exc
    return results


def path_builder(name: str, args, size: str, repeat: int, rows, dataset, tokenizer, attn, files: dict, order, groups,
                 overrides: dict | None):  # fmt: skip
    """A function of the Turns that builds path ``name`` for one repeat at one step size."""
    if name == "bare":
        return lambda turns: BareRun(name, turns, args, rows, order, tokenizer, attn)
    if name == "trainer":
        return lambda turns: TrainerRun(name, turns, args, dataset, tokenizer, args.examples_per_step, attn, groups)
    max_tokens = args.tokens_per_step if size == "tok" else 0
    profile = Path(args.profile) / f"profile-{size}-{name}-{repeat}.txt" if args.profile and name == "mathscale" else None
    return lambda turns: MathscaleRun(name, turns, args, files, args.examples_per_step, max_tokens, args.attn, overrides,
                                      profile)  # fmt: skip


def spread(values: list[float]) -> str:
    """``median [min-max]``."""
    if not values:
        return "-"
    return f"{statistics.median(values):.2f} [{min(values):.2f}-{max(values):.2f}]"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="samples JSONL (default: GSM8K + MATH train from ../shared/data/seeds, "
                                       "else generated arithmetic samples)")  # fmt: skip
    parser.add_argument("--tokenizer", help="tokenizer folder (default: SmolLM2's when converted, else a tiny BPE)")
    parser.add_argument("--model", help=argparse.SUPPRESS)  # kept for bench_train_efficiency's shared helpers
    parser.add_argument("--shape", choices=sorted(SHAPES), default="small")
    parser.add_argument("--samples", type=int, default=8000)
    parser.add_argument("--steps", type=int, default=10, help="timed optimizer steps per run")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first (compilation, allocator)")
    parser.add_argument("--examples-per-step", type=int, default=16, help="step size 'ex'")
    parser.add_argument("--tokens-per-step", type=int, default=16384, help="step size 'tok': the token budget per micro-batch")
    parser.add_argument("--sizes", default="ex,tok", help="which step sizes to run (ex, tok)")
    parser.add_argument("--paths", default="bare,trainer,mathscale", help="which paths to run")
    parser.add_argument("--repeats", type=int, default=1, help="run every path this many times, fresh models each time")
    parser.add_argument("--interleave", choices=["auto", "steps", "runs"], default="auto",
                        help="steps: the paths take turns step by step (auto on CPU); runs: one after the other "
                             "(auto on a GPU)")  # fmt: skip
    parser.add_argument("--attn", default="auto", help="attention for every path (auto: mathscale's choice)")
    parser.add_argument("--fused-loss", default="auto", help="mathscale's fused_loss setting")
    parser.add_argument("--ms-deepspeed", default="none", help="mathscale's --deepspeed (zero2 needs a launcher's env)")
    parser.add_argument("--ms-variant", action="append", default=[], metavar="LABEL[@SIZE]:KEY=VALUE,...",
                        help="also run mathscale with these config overrides (path ms:LABEL), at every size or "
                             "only at SIZE; repeatable")
    parser.add_argument("--profile", metavar="DIR", help="profile 3 steps of the mathscale runs (not variants) into DIR "
                                                         "(torch.profiler sees every thread: use --interleave runs)")  # fmt: skip
    parser.add_argument("--keep-model", metavar="DIR", help="write the random model (and tokenizer) here and keep it")
    parser.add_argument("--max-length", type=int, default=1024)
    parser.add_argument("--template", default="alpaca")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--peak-tflops", type=float, default=989.0, help="per-GPU peak for MFU (H100 SXM dense bf16)")
    parser.add_argument("--workdir", help="folder for the model and run outputs (default: the system's temp)")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = parser.parse_args(argv)
    if args.tokenizer is None:
        args.tokenizer = default_tokenizer_dir()

    from mathscale.train.batching import group_by_tokens
    from mathscale.train.sft import resolve_attention

    tokenizer = bench_tokenizer(args)
    if tokenizer is None:
        return 2
    cuda = args.device == "cuda"
    interleaved = args.interleave == "steps" or (args.interleave == "auto" and not cuda)
    attn = resolve_attention(args.attn, cuda)
    total_steps = args.warmup + args.steps
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        if args.data:
            examples, source = load_examples(args.data, args.samples), args.data
        else:
            rows = seed_samples(args.samples, 0)
            source = f"GSM8K + MATH train ({SEEDS})" if rows else "generated arithmetic samples"
            rows = rows or varied_samples(args.samples, 0)
            path = Path(tmp) / "source.jsonl"
            path.write_text("".join(json.dumps(r) + "\n" for r in rows))
            examples = load_examples(path)
        dataset = build_dataset(examples, tokenizer, args.template, args.max_length)
        rows = list(dataset)
        lengths = [len(r["input_ids"]) for r in rows]
        files = write_inputs(args, examples, tokenizer, Path(tmp)) if "mathscale" in args.paths or args.ms_variant else {}
        labels = {"ex": f"{args.examples_per_step}ex", "tok": f"{args.tokens_per_step / 1024:g}K"}
        results: list[dict] = []
        for size in [s for s in args.sizes.split(",") if s]:
            if size not in labels:
                parser.error(f"--sizes: unknown size {size!r} (ex, tok)")
            if size == "ex":
                groups = None
                order = sampler_order(len(rows), args.examples_per_step, total_steps)
            else:  # the groups mathscale makes (its seed is 0 here), one per step, in the Trainer's order
                groups = group_by_tokens(lengths, args.tokens_per_step, seed=0)
                order = [groups[g] for (g,) in sampler_order(len(groups), 1, total_steps)]
            variants = {f"ms:{v.split(':', 1)[0].split('@')[0]}": parse_overrides(v.split(":", 1)[1])
                        for v in args.ms_variant if v.split(":", 1)[0].split("@")[1:] in ([], [size])}  # fmt: skip
            names = [p for p in args.paths.split(",") if p] + list(variants)
            for repeat in range(args.repeats):
                rotated = names[repeat % len(names) :] + names[: repeat % len(names)]
                builders = {name: path_builder(name, args, size, repeat, rows, dataset, tokenizer, attn, files, order,
                                               groups, variants.get(name)) for name in rotated}  # fmt: skip
                for name, r in run_paths(builders, interleaved, cuda).items():
                    r.update(path=name, size=size, repeat=repeat)
                    r["tokens_per_s"] = r["tokens"] / r["seconds"]
                    r["mfu"] = r["tokens_per_s"] * flops_per_token(r["params"], r["layers"], r["hidden"], lengths) / (
                        args.peak_tflops * 1e12) if cuda else None  # fmt: skip
                    results.append(r)
                    print(f"[{labels[size]} {name} #{repeat + 1}] {r['tokens_per_s']:.0f} tokens/s, "
                          f"{r['tokens'] / args.steps:.0f} tokens/step, {r['cpu_seconds'] / args.steps:.2f} CPU s/step, "
                          f"{r['wall']:.0f} s wall", flush=True)  # fmt: skip
                    if name.startswith(("mathscale", "ms:")):  # in turns, its clock also runs through the others' turns
                        note = " (in turns: data_wait includes the other paths' steps)" if interleaved else ""
                        print(f"    breakdown{note}: {json.dumps(r['breakdown'])}", flush=True)
                        print(f"    diagnosis: {json.dumps(r['diagnosis'].get('reports', [])[-1:])}", flush=True)

    print_summary(args, results, labels, lengths, source, attn, interleaved, files)
    if args.json:
        Path(args.json).write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, "results": results},
                                              indent=2, default=str) + "\n")  # fmt: skip
    return 0


def print_summary(args, results: list[dict], labels: dict, lengths: list[int], source: str, attn, interleaved: bool,
                  files: dict) -> None:  # fmt: skip
    import torch

    cuda = args.device == "cuda"
    mean = sum(lengths) / len(lengths)
    params = results[0]["params"] if results else 0
    how = "in turns, step by step" if interleaved else "one after the other"
    print(f"\nmodel random {args.shape} ({params / 1e6:.0f}M params), device {args.device}"
          f"{' ' + torch.cuda.get_device_name() if cuda else ''}, attention {attn or 'default'}, data {source}: "
          f"{len(lengths)} examples, mean {mean:.0f} tokens; {args.steps} timed steps after {args.warmup}, "
          f"{args.repeats} repeat(s), paths run {how}")  # fmt: skip
    print("tokens/s and its ratio to the Trainer of the same repeat: median [min-max] over the repeats")
    print(f"{'size':<6} {'path':<14} {'tok/step':>8} {'tokens/s':>22} {'CPU s/step':>10} {'MFU':>6} {'peak GiB':>8} "
          f"{'vs trainer':>18}")  # fmt: skip
    by = {(r["size"], r["path"], r["repeat"]): r for r in results}
    for size in dict.fromkeys(r["size"] for r in results):
        names = list(dict.fromkeys(r["path"] for r in results if r["size"] == size))
        for name in names:
            runs = [r for r in results if r["size"] == size and r["path"] == name]
            speeds = [r["tokens_per_s"] for r in runs]
            refs = [by.get((size, "trainer", r["repeat"])) for r in runs]
            ratios = [r["tokens_per_s"] / ref["tokens_per_s"] for r, ref in zip(runs, refs) if ref]
            med = statistics.median(speeds)
            mfu = f"{100 * statistics.median(r['mfu'] for r in runs):.1f}%" if cuda else "-"
            peak = f"{max(r['peak_gib'] for r in runs):.1f}" if cuda and not interleaved else "-"
            cpu = statistics.median(r["cpu_seconds"] / args.steps for r in runs)
            print(f"{labels[size]:<6} {name:<14} {statistics.median(r['tokens'] for r in runs) / args.steps:>8.0f} "
                  f"{f'{med:.0f} [{min(speeds):.0f}-{max(speeds):.0f}]':>22} {cpu:>10.2f} {mfu:>6} {peak:>8} "
                  f"{spread(ratios):>18}")  # fmt: skip
        for repeat in sorted({r["repeat"] for r in results if r["size"] == size}):
            seen = {r["path"]: r["step_tokens"] for r in results if r["size"] == size and r["repeat"] == repeat}
            if len({tuple(v) for v in seen.values()}) > 1:
                print(f"  {labels[size]} repeat {repeat + 1}: the paths trained on different tokens per step: "
                      + "; ".join(f"{k} {v}" for k, v in seen.items()))  # fmt: skip
                break
        else:
            print(f"  {labels[size]}: every path trained on the same tokens in every step "
                  f"({sum(r['tokens'] for r in results if r['size'] == size and r['repeat'] == 0) // max(1, len(names))}"
                  f" tokens in the timed steps of each run)")  # fmt: skip
        if interleaved:  # paired step by step: the same micro-batch, run within seconds of each other
            for name in names:
                if name == "trainer":
                    continue
                paired = [t / s for r in results if r["size"] == size and r["path"] == name
                          for s, t in zip(r["step_seconds"], by[(size, "trainer", r["repeat"])]["step_seconds"])
                          if (size, "trainer", r["repeat"]) in by and s > 0]  # fmt: skip
                if paired:
                    q = statistics.quantiles(paired, n=4) if len(paired) > 1 else paired * 3
                    print(f"  {labels[size]} {name} vs trainer, step by step: median {statistics.median(paired):.2f}x, "
                          f"quartiles {q[0]:.2f}-{q[2]:.2f}, range {min(paired):.2f}-{max(paired):.2f} "
                          f"({len(paired)} steps)")  # fmt: skip
    tok = [r for r in results if r["size"] == "tok" and r["path"] == "mathscale"]
    ex = [r for r in results if r["size"] == "ex" and r["path"] == "trainer"]
    if tok and ex:
        ratio = statistics.median(r["tokens_per_s"] for r in tok) / statistics.median(r["tokens_per_s"] for r in ex)
        print(f"mathscale with {labels['tok']} tokens per micro-batch vs plain Trainer at {args.examples_per_step} "
              f"examples/step: {ratio:.2f}x (medians; separate runs, not paired)")  # fmt: skip
    for r in results:
        if "save_seconds" in r:
            print(f"mathscale final save ({labels[r['size']]} #{r['repeat'] + 1}): {r['save_seconds']:.1f} s for "
                  f"{r['saved_gb']:.2f} GB (plain save_pretrained of the same model: {files['plain_save_seconds']:.1f} s)")


if __name__ == "__main__":
    sys.exit(main())
