"""Issue 8: the same training run with the utilisation fixes off and on, measured in one process.

Both modes run the Trainer the way ``mathscale train`` does (our trainer class, our timing
callback from mathscale.train.timing), on the same model shape, data, seed and steps:

- **off**: samples are tokenised inside the collator on every batch (preprocessing on the
  training path), no loader workers, synchronous checkpoints (the Trainer's own save);
- **on**: samples tokenised once before training (what ``mathscale train`` caches under
  ``<out>/tokenized-<key>``; its one-off cost is printed apart), ``--workers`` loader workers
  with prefetch, asynchronous checkpoints (mathscale.train.async_ckpt).

A short untimed warm-up run goes first, so neither mode pays the process's first-run costs.
Checkpoints are written every ``--save-steps`` steps in both modes. It prints, per mode, the
share of step time spent waiting (for data, and for checkpoints; the first batch, which
also starts the loader workers, is shown apart as startup), the wall time of the training
loop, and the ratios on/off.

    python bench/bench_train_efficiency.py                      # CPU, random tiny Llama
    python bench/bench_train_efficiency.py --shape small --steps 30
    python bench/bench_train_efficiency.py --device cuda --shape qwen2.5-0.5b --batch-size 8

With ``--device cuda`` the model runs in bf16 and the breakdown also carries TFLOP/s per
device, MFU (against the peak table in mathscale.train.timing) and the GPU's utilisation
and memory; no GPU figures are claimed from CPU runs.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from bench_train import SHAPES, bench_tokenizer, build_model, varied_samples

from mathscale.train.data import build_dataset, load_examples, make_collator, tokenize_example


class TokenizingCollator:
    """The 'off' data path: raw examples tokenised per batch, in the training process."""

    def __init__(self, tokenizer, template: str, max_length: int, packing: bool):
        self.tokenizer, self.template, self.max_length = tokenizer, template, max_length
        self.inner = make_collator(tokenizer, packing=packing)

    def __call__(self, rows):
        from mathscale.train.data import Example

        features = [tokenize_example(Example(r["question"], r["response"]), self.tokenizer, self.template,
                                     self.max_length) for r in rows]  # fmt: skip
        return self.inner(features)


def run_mode(fixes: bool, args, examples, tokenizer, out: Path) -> dict:
    import datasets
    import torch
    from transformers import TrainingArguments

    from mathscale.train.async_ckpt import make_trainer_class
    from mathscale.train.artifacts import BREAKDOWN_FILE
    from mathscale.train.timing import make_timing_callback

    cuda = args.device == "cuda"
    prep = 0.0
    if fixes:
        started = time.perf_counter()
        dataset = build_dataset(examples, tokenizer, args.template, args.max_length)
        prep = time.perf_counter() - started
        collator = make_collator(tokenizer, packing=args.packing)
    else:
        dataset = datasets.Dataset.from_list([{"question": e.question, "response": e.response} for e in examples])
        collator = TokenizingCollator(tokenizer, args.template, args.max_length, args.packing)
    model, _ = build_model(args.shape, args.model, len(tokenizer), torch.bfloat16 if cuda else torch.float32)
    model.config.use_cache = False
    workers = args.workers if fixes else 0
    extra = {"dataloader_prefetch_factor": 2, "dataloader_persistent_workers": True} if workers else {}
    targs = TrainingArguments(
        output_dir=str(out), per_device_train_batch_size=args.batch_size, max_steps=args.steps, learning_rate=1e-4,
        logging_steps=args.save_steps, save_strategy="steps", save_steps=args.save_steps, save_total_limit=2,
        report_to="none", disable_tqdm=True, use_cpu=not cuda, bf16=cuda, remove_unused_columns=False, seed=0,
        data_seed=0, dataloader_num_workers=workers, dataloader_pin_memory=fixes and cuda,
        optim="adamw_torch_fused" if fixes and cuda else "adamw_torch", **extra,
    )  # fmt: skip
    trainer = make_trainer_class()(model=model, args=targs, train_dataset=dataset, data_collator=collator,
                                   async_checkpoint=fixes)  # fmt: skip
    lengths = [len(tokenize_example(e, tokenizer, args.template, args.max_length)["input_ids"]) for e in examples]
    trainer.add_callback(make_timing_callback(
        out=out, samples_per_step=args.batch_size, mean_length=sum(lengths) / len(lengths),
        mean_length_sq=sum(n * n for n in lengths) / len(lengths),
    ))  # fmt: skip
    started = time.perf_counter()
    trainer.train()
    wall = time.perf_counter() - started  # includes waiting for the last asynchronous write
    summary = json.loads((out / BREAKDOWN_FILE).read_text(encoding="utf-8"))
    summary.update(train_wall_seconds=wall, tokenize_seconds=prep, params=sum(p.numel() for p in model.parameters()))
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="samples JSONL (default: generated arithmetic samples of varied length)")
    parser.add_argument("--model", help="HF model folder or named model (default: a random --shape model)")
    parser.add_argument("--shape", choices=sorted(SHAPES), default="tiny")
    parser.add_argument("--samples", type=int, default=2048)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--save-steps", type=int, default=10, help="checkpoint every N steps (both modes)")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2, help="loader workers with the fixes on")
    parser.add_argument("--max-length", type=int, default=512)
    parser.add_argument("--template", default="alpaca")
    parser.add_argument("--packing", action=argparse.BooleanOptionalAction, default=True,
                        help="padding-free packing as mathscale train does (--no-packing: padded batches)")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--json", metavar="FILE", help="also write both breakdowns as JSON")
    args = parser.parse_args(argv)

    tokenizer = bench_tokenizer(args)
    if tokenizer is None:
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        if args.data:
            examples = load_examples(args.data, args.samples)
        else:
            path = Path(tmp) / "samples.jsonl"
            path.write_text("".join(json.dumps(r) + "\n" for r in varied_samples(args.samples, 0)))
            examples = load_examples(path)
        warm = argparse.Namespace(**{**vars(args), "steps": min(5, args.steps)})
        run_mode(False, warm, examples, tokenizer, Path(tmp) / "warmup")  # first-run costs (imports, allocator)
        off = run_mode(False, args, examples, tokenizer, Path(tmp) / "off")
        on = run_mode(True, args, examples, tokenizer, Path(tmp) / "on")

    def waiting(s: dict) -> float:
        return s["share"]["data_wait"] + s["share"]["checkpoint"]

    what = args.model or f"random {args.shape} ({on['params'] / 1e6:.1f}M params)"
    print(f"model {what}, device {args.device}, batch {args.batch_size}, {args.steps} steps, "
          f"checkpoint every {args.save_steps}, {args.workers} workers with fixes on")  # fmt: skip
    print(f"{'fixes':<6} {'wall s':>8} {'s/step':>8} {'startup':>8} {'data wait':>10} {'checkpoint':>11} {'waiting':>8} "
          f"{'samples/s':>10}")  # fmt: skip
    for name, s in (("off", off), ("on", on)):
        print(f"{name:<6} {s['train_wall_seconds']:>8.2f} {s['step_seconds']:>8.3f} {s['seconds']['startup']:>7.2f}s "
              f"{100 * s['share']['data_wait']:>9.1f}% "
              f"{100 * s['share']['checkpoint']:>10.1f}% {100 * waiting(s):>7.1f}% {s['samples_per_s']:>10.1f}")  # fmt: skip
    print(f"on / off: wall time {on['train_wall_seconds'] / off['train_wall_seconds']:.2f}x, share of step time "
          f"waiting {waiting(on) / waiting(off) if waiting(off) else float('nan'):.2f}x "
          f"({100 * waiting(off):.1f}% -> {100 * waiting(on):.1f}%); tokenising once before training took "
          f"{on['tokenize_seconds']:.2f} s (cached for later runs)")  # fmt: skip
    if args.device == "cuda":
        for name, s in (("off", off), ("on", on)):
            gpu = s.get("gpu", {})
            print(f"{name}: {s.get('tflops_per_device', 0):.1f} TFLOP/s, MFU {100 * s.get('mfu', 0):.1f}%, "
                  f"GPU util {gpu.get('utilization_pct', float('nan'))}%, peak {gpu.get('max_allocated_gb', 0):.1f} GiB")  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "off": off, "on": on}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
