"""Training throughput: a bare PyTorch loop, a plain transformers Trainer, and mathscale train's path.

All three run in one process, one after the other, on the same data (real GSM8K + MATH train
pairs from ../shared/data/seeds when that folder is there, else generated arithmetic samples of
varied length), the same random-weight model shape and the same attention implementation,
at two sizes of step:

- ``16ex``: 16 examples per step (about 4.5K tokens of GSM8K/MATH);
- ``16K``: about 16,384 tokens per step (the bare loop and the Trainer take as many examples
  as make 16K tokens on average; mathscale fills each packed micro-batch up to
  ``max_tokens_per_batch=16384``, its default on a GPU).

The paths:

- **bare**: our own loop, the ceiling: packed rows (the padding-free collator), AdamW
  (fused on GPU), gradient clipping, nothing else;
- **trainer**: a plain ``transformers.Trainer`` with ``DataCollatorWithFlattening``, the way its
  documentation trains padding-free (no loader workers, no callbacks of ours);
- **mathscale**: ``mathscale.train.sft.prepare`` (what every ``mathscale train`` process runs:
  cached tokenisation, our trainer class, step-time breakdown and diagnosis, token budgets,
  fused loss, loader workers), in this process, ``--deepspeed none`` unless ``--ms-deepspeed``.
  Its final save (model, tokenizer, template) is timed too.

Per run it prints real tokens/s, MFU ((6 N + attention) FLOPs per token, attention as in
mathscale.train.timing, against --peak-tflops, default 989 = H100 dense bf16; GPU only), peak
memory, and the ratios against the Trainer at the same step size; last, mathscale's defaults
(16K tokens per micro-batch) against the Trainer at 16 examples per step.

    python bench/bench_train.py --device cpu --shape small --steps 6          # CPU, a small random Llama
    python bench/bench_train.py --device cuda --shape qwen2.5-1.5b --tokenizer DIR   # one H100

``--tokenizer`` names a folder with a tokenizer (default: the SmolLM2 tokenizer when
``mathscale train`` has converted smollm2-135m, else a tiny BPE one); the model's vocabulary is
the tokenizer's. Timing: every path synchronises the device only at the start and the end of
its timed steps (after ``--warmup`` untimed ones).
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import sys
import tempfile
import time
from pathlib import Path

from mathscale.train.data import build_dataset, load_examples, make_collator
from mathscale.testing.tiny import arithmetic_samples, build_tokenizer

# ../shared beside the checkout (or beside the folder of worktrees a checkout may sit in)
REPO = Path(__file__).resolve().parents[1]
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
    """Synchronise, then read the clock: only at the start and the end of the timed steps."""

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


def run_bare(args, dataset, tokenizer, examples_per_step: int, attn: str | None) -> dict:
    """The ceiling: our own loop over packed rows of ``examples_per_step`` examples."""
    import torch

    cuda = args.device == "cuda"
    reset_memory(cuda)
    dtype = torch.bfloat16 if cuda else torch.float32
    model, _ = build_model(args.shape, None, len(tokenizer), dtype, args.device, attn)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5, fused=cuda)
    collate = make_collator(tokenizer, packing=True)
    rows = list(dataset)
    order = list(range(len(rows)))
    random.Random(0).shuffle(order)
    clock, tokens, started = Stopwatch(cuda), 0, 0.0
    for step in range(args.warmup + args.steps):
        if step == args.warmup:
            started, tokens = clock(), 0
        picked = [rows[order[(step * examples_per_step + i) % len(rows)]] for i in range(examples_per_step)]
        batch = {k: v.to(args.device, non_blocking=True) for k, v in collate(picked).items()}
        tokens += int(batch["input_ids"].numel())
        model(**batch).loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    seconds = clock() - started
    result = {"tokens": tokens, "seconds": seconds, "peak_gib": peak_gib(cuda), **shape_of(model)}
    del model, optimizer
    return result


def shape_of(model) -> dict:
    return {"params": sum(p.numel() for p in model.parameters()), "layers": model.config.num_hidden_layers,
            "hidden": model.config.hidden_size, "attention": model.config._attn_implementation}  # fmt: skip


def timed_callback(args, cuda: bool, count_tokens):
    """A callback that reads the clock (synchronised) after the warm-up steps and after the last."""
    from transformers import TrainerCallback

    clock = Stopwatch(cuda)

    class Timed(TrainerCallback):
        marks: dict[str, tuple[float, int]] = {}

        def on_step_end(self, targs, state, control, **kw):
            if state.global_step in (args.warmup, args.warmup + args.steps):
                self.marks["start" if state.global_step == args.warmup else "end"] = (clock(), count_tokens())

    return Timed()


def run_trainer(args, dataset, tokenizer, examples_per_step: int, attn: str | None) -> dict:
    """A plain transformers Trainer with DataCollatorWithFlattening, as its documentation shows."""
    import torch
    from transformers import DataCollatorWithFlattening, Trainer, TrainingArguments

    cuda = args.device == "cuda"
    reset_memory(cuda)
    model, _ = build_model(args.shape, None, len(tokenizer), torch.bfloat16 if cuda else torch.float32, args.device, attn)
    flatten = DataCollatorWithFlattening()
    counted = {"tokens": 0}

    def collate(features):
        batch = flatten(features)
        counted["tokens"] += int(batch["input_ids"].numel())
        return batch

    timed = timed_callback(args, cuda, lambda: counted["tokens"])
    with tempfile.TemporaryDirectory() as out:
        targs = TrainingArguments(
            output_dir=out, per_device_train_batch_size=examples_per_step, max_steps=args.warmup + args.steps,
            learning_rate=1e-5, logging_steps=10, save_strategy="no", report_to="none", disable_tqdm=True,
            use_cpu=not cuda, bf16=cuda, optim="adamw_torch_fused" if cuda else "adamw_torch",
            remove_unused_columns=False, seed=0, data_seed=0,
        )  # fmt: skip
        Trainer(model=model, args=targs, train_dataset=dataset, data_collator=collate, callbacks=[timed]).train()
    (t0, k0), (t1, k1) = timed.marks["start"], timed.marks["end"]
    result = {"tokens": k1 - k0, "seconds": t1 - t0, "peak_gib": peak_gib(cuda), **shape_of(model)}
    del model
    return result


def parse_overrides(text: str) -> dict:
    """``key=value,key=value`` -> TrainConfig fields (values as YAML scalars)."""
    import yaml

    pairs = [item.split("=", 1) for item in text.split(",") if item]
    return {k.strip(): yaml.safe_load(v) for k, v in pairs}


def run_mathscale(args, files: dict, examples_per_step: int, max_tokens: int, attn: str, overrides: dict | None = None,
                  profile: Path | None = None) -> dict:  # fmt: skip
    """mathscale train's own path (sft.prepare), in this process; then its final save, timed."""
    from mathscale.train.config import LaunchSettings, TrainConfig
    from mathscale.train.artifacts import BREAKDOWN_FILE, DIAGNOSIS_FILE
    from mathscale.train.save import save_final
    from mathscale.train.sft import prepare

    cuda = args.device == "cuda"
    reset_memory(cuda)
    if not cuda:  # one process, no launcher: a plain CPU state for sft's gloo set-up to find
        from accelerate import PartialState

        PartialState(cpu=True)
    with tempfile.TemporaryDirectory(dir=args.workdir) as out:
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
        cfg = TrainConfig(**{**settings, **(overrides or {})})
        prepared = prepare(cfg)
        trainer = prepared.trainer
        timed = timed_callback(args, cuda, lambda: trainer.tokens_seen)
        trainer.add_callback(timed)
        if profile is not None:
            trainer.add_callback(profiler_callback(args, profile))
        trainer.train()
        started = time.perf_counter()
        save_final(trainer, Path(out), cfg.template, lora=False)
        save_seconds = time.perf_counter() - started
        breakdown = json.loads((Path(out) / BREAKDOWN_FILE).read_text())
        diagnosis = json.loads((Path(out) / DIAGNOSIS_FILE).read_text()) if (Path(out) / DIAGNOSIS_FILE).exists() else {}
        saved_gb = sum(f.stat().st_size for f in Path(out).glob("*.safetensors")) / 1e9
    (t0, k0), (t1, k1) = timed.marks["start"], timed.marks["end"]
    result = {"tokens": k1 - k0, "seconds": t1 - t0, "peak_gib": peak_gib(cuda), **shape_of(trainer.model),
              "save_seconds": save_seconds, "saved_gb": saved_gb, "fused_loss": prepared.fused_loss,
              "max_tokens_per_batch": prepared.max_tokens,
              "breakdown": {k: breakdown.get(k) for k in ("seconds", "host_seconds", "share", "clock",
                                                           "timing_overhead_seconds", "step_seconds")},
              "diagnosis": diagnosis}  # fmt: skip
    trainer.accelerator.free_memory()  # the accelerator keeps the model and optimizer otherwise
    trainer.model = trainer.model_wrapped = trainer.optimizer = trainer.lr_scheduler = None
    handler = trainer.callback_handler  # holds the model and optimizer for the callbacks too
    handler.model = handler.optimizer = handler.lr_scheduler = handler.train_dataloader = None
    del trainer, prepared
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
    parser.add_argument("--examples-per-step", type=int, default=16)
    parser.add_argument("--tokens-per-step", type=int, default=16384)
    parser.add_argument("--sizes", default="16ex,16K", help="which step sizes to run (16ex, 16K)")
    parser.add_argument("--paths", default="bare,trainer,mathscale", help="which paths to run")
    parser.add_argument("--attn", default="auto", help="attention for every path (auto: mathscale's choice)")
    parser.add_argument("--fused-loss", default="auto", help="mathscale's fused_loss setting")
    parser.add_argument("--ms-deepspeed", default="none", help="mathscale's --deepspeed (zero2 needs a launcher's env)")
    parser.add_argument("--ms-variant", action="append", default=[], metavar="LABEL[@SIZE]:KEY=VALUE,...",
                        help="also run mathscale with these config overrides (path ms:LABEL), at every size or "
                             "only at SIZE; repeatable")
    parser.add_argument("--profile", metavar="DIR", help="profile 3 steps of the mathscale runs (not variants) into DIR")
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

    import torch

    from mathscale.train.sft import resolve_attention

    tokenizer = bench_tokenizer(args)
    if tokenizer is None:
        return 2
    cuda = args.device == "cuda"
    attn = resolve_attention(args.attn, cuda)
    if not cuda:
        torch.set_num_threads(max(1, torch.get_num_threads()))
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
        lengths = [len(x) for x in dataset["input_ids"]]
        mean = sum(lengths) / len(lengths)
        files = write_inputs(args, examples, tokenizer, Path(tmp)) if "mathscale" in args.paths or args.ms_variant else {}
        sizes = {"16ex": (args.examples_per_step, 0), "16K": (max(1, round(args.tokens_per_step / mean)), args.tokens_per_step)}
        results: list[dict] = []
        for size in [s for s in args.sizes.split(",") if s]:
            examples_per_step, max_tokens = sizes[size]
            variants = {f"ms:{v.split(':', 1)[0].split('@')[0]}": parse_overrides(v.split(":", 1)[1])
                        for v in args.ms_variant if v.split(":", 1)[0].split("@")[1:] in ([], [size])}  # fmt: skip
            for path in [p for p in args.paths.split(",") if p] + list(variants):
                started = time.perf_counter()
                if path == "bare":
                    r = run_bare(args, dataset, tokenizer, examples_per_step, attn)
                elif path == "trainer":
                    r = run_trainer(args, dataset, tokenizer, examples_per_step, attn)
                else:
                    profile = Path(args.profile) / f"profile-{size}-{path}.txt" if args.profile and path == "mathscale" else None
                    r = run_mathscale(args, files, examples_per_step, max_tokens, args.attn, variants.get(path), profile)
                r.update(path=path, size=size, examples_per_step=examples_per_step, wall=time.perf_counter() - started)
                r["tokens_per_s"] = r["tokens"] / r["seconds"]
                r["mfu"] = r["tokens_per_s"] * flops_per_token(r["params"], r["layers"], r["hidden"], lengths) / (
                    args.peak_tflops * 1e12) if cuda else None  # fmt: skip
                results.append(r)
                print(f"[{size} {path}] {r['tokens_per_s']:.0f} tokens/s, {r['tokens'] / args.steps:.0f} tokens/step, "
                      f"peak {r['peak_gib']:.1f} GiB, {r['wall']:.0f} s wall", flush=True)  # fmt: skip
                if path.startswith(("mathscale", "ms:")):
                    print(f"    breakdown: {json.dumps(r['breakdown'])}", flush=True)
                    print(f"    diagnosis: {json.dumps(r['diagnosis'].get('reports', [])[-1:])}", flush=True)

    params = results[0]["params"] if results else 0
    print(f"\nmodel random {args.shape} ({params / 1e6:.0f}M params), device {args.device}"
          f"{' ' + torch.cuda.get_device_name() if cuda else ''}, attention {attn or 'default'}, data {source}: "
          f"{len(lengths)} examples, mean {mean:.0f} tokens, {args.steps} timed steps after {args.warmup}")  # fmt: skip
    print(f"{'size':<5} {'path':<14} {'ex/step':>7} {'tok/step':>8} {'tokens/s':>9} {'MFU':>6} {'peak GiB':>8} {'vs trainer':>10}")
    by = {(r["size"], r["path"]): r for r in results}
    for r in results:
        ref = by.get((r["size"], "trainer"))
        ratio = f"{r['tokens_per_s'] / ref['tokens_per_s']:.2f}x" if ref else "-"
        mfu = f"{100 * r['mfu']:.1f}%" if r["mfu"] is not None else "-"
        ex = "budget" if r.get("max_tokens_per_batch") else str(r["examples_per_step"])
        print(f"{r['size']:<5} {r['path']:<14} {ex:>7} {r['tokens'] / args.steps:>8.0f} {r['tokens_per_s']:>9.0f} {mfu:>6} "
              f"{r['peak_gib']:>8.1f} {ratio:>10}")  # fmt: skip
    if ("16K", "mathscale") in by and ("16ex", "trainer") in by:
        print(f"mathscale defaults (16K tokens per micro-batch) vs plain Trainer at {args.examples_per_step} examples/step: "
              f"{by[('16K', 'mathscale')]['tokens_per_s'] / by[('16ex', 'trainer')]['tokens_per_s']:.2f}x")  # fmt: skip
    for r in results:
        if "save_seconds" in r:
            print(f"mathscale final save ({r['size']}): {r['save_seconds']:.1f} s for {r['saved_gb']:.2f} GB "
                  f"(plain save_pretrained of the same model: {files['plain_save_seconds']:.1f} s)")  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, "results": results},
                                              indent=2, default=str) + "\n")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
