"""Training throughput and padding waste: padding-free packing against padded batches.

Same data, same model, same Trainer path as ``mathscale train`` (transformers Trainer,
our tokenisation and collators), one process, no DeepSpeed. For each mode it reports real
(non-padding) tokens per second, the share of computed tokens that are padding, and the
ratios packed / padded. The samples are arithmetic QA pairs whose questions carry a
random amount of filler, so lengths vary the way real data does (or give --data).

    python bench/bench_train.py                          # CPU, a small random Llama
    python bench/bench_train.py --data samples.jsonl --model smollm2-135m --steps 6
    python bench/bench_train.py --device cuda --shape qwen2.5-0.5b --batch-size 16 --max-length 2048

On CPU, packing pays for its block-diagonal mask: sdpa then attends over the whole packed
row with a dense mask, so for a very small model (where attention dominates) packed can be
slower than padded; for SmolLM2-135M it is faster. On GPU, flash-attention's varlen kernels
(``--packed-attn flash_attention_2``) have no such cost.

With ``--device cuda`` it also prints tokens/s per GPU and MFU (model FLOPs utilisation:
6 x parameters + attention FLOPs per token, against --peak-tflops, default 989 = H100
dense bf16); the model then runs in bf16.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

from mathscale.train.data import build_dataset, load_examples, make_collator
from mathscale.train.tiny import arithmetic_samples, build_tokenizer

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


def bench_tokenizer(args):
    """The tokenizer of --model (or the tiny one), with a pad token; None when --device cuda has no GPU."""
    import torch

    if args.device == "cuda" and not torch.cuda.is_available():
        print("--device cuda: torch sees no GPU", file=sys.stderr)
        return None
    _, tokenizer = build_model(args.shape, args.model, 0, torch.float32) if args.model else (None, build_tokenizer())
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def build_model(shape: str, model: str | None, vocab: int, dtype):
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    if model:
        from mathscale.models import model_folder

        folder = model_folder(model)
        return AutoModelForCausalLM.from_pretrained(str(folder), dtype=dtype), AutoTokenizer.from_pretrained(str(folder))
    spec = dict(SHAPES[shape])
    model_type = spec.pop("model_type", "llama")
    spec.setdefault("vocab_size", vocab)
    config = AutoConfig.for_model(model_type, max_position_embeddings=4096, **spec)
    return AutoModelForCausalLM.from_config(config, dtype=dtype), build_tokenizer()


class CountingCollator:
    """Wraps a collator; counts real and computed (padding included) tokens per batch."""

    def __init__(self, inner):
        self.inner, self.real, self.computed = inner, 0, 0

    def __call__(self, features):
        batch = self.inner(features)
        self.computed += batch["input_ids"].numel()
        self.real += sum(len(f["input_ids"]) for f in features)
        return batch


def run_mode(packing: bool, args, dataset, tokenizer, device: str) -> dict:
    import torch
    from transformers import Trainer, TrainerCallback, TrainingArguments

    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    model, _ = build_model(args.shape, args.model, len(tokenizer), dtype)
    model.config.use_cache = False  # as in training: packed sequences need it off
    if device == "cuda" and packing:
        model.config._attn_implementation = args.packed_attn
    collator = CountingCollator(make_collator(tokenizer, packing))
    marks: list[tuple[float, int, int]] = []

    class Clock(TrainerCallback):
        def on_step_end(self, targs, state, control, **kw):
            if device == "cuda":
                torch.cuda.synchronize()
            marks.append((time.perf_counter(), collator.real, collator.computed))

    with tempfile.TemporaryDirectory() as out:
        targs = TrainingArguments(
            output_dir=out, per_device_train_batch_size=args.batch_size, max_steps=args.steps + args.warmup,
            learning_rate=1e-4, logging_steps=10**6, save_strategy="no", report_to="none", disable_tqdm=True,
            use_cpu=device == "cpu", bf16=device == "cuda", remove_unused_columns=False, seed=0, data_seed=0,
            dataloader_num_workers=0,
        )  # fmt: skip
        Trainer(model=model, args=targs, train_dataset=dataset, data_collator=collator, callbacks=[Clock()]).train()
    (t0, r0, c0), (t1, r1, c1) = marks[args.warmup - 1], marks[-1]
    params = sum(p.numel() for p in model.parameters())
    return {
        "packing": packing,
        "tokens_per_s": (r1 - r0) / (t1 - t0),
        "computed_tokens_per_s": (c1 - c0) / (t1 - t0),
        "padding_waste": 1 - (r1 - r0) / (c1 - c0),
        "seconds": t1 - t0,
        "params": params,
        "layers": model.config.num_hidden_layers,
        "hidden": model.config.hidden_size,
        "mean_len": (r1 - r0) / (args.steps * args.batch_size),
    }


def mfu(result: dict, peak_tflops: float) -> float:
    """Model FLOPs utilisation: (6 N + 6 L h s) FLOPs per real token (fwd + bwd, causal attention)."""
    per_token = 6 * result["params"] + 6 * result["layers"] * result["hidden"] * result["mean_len"]
    return result["tokens_per_s"] * per_token / (peak_tflops * 1e12)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="samples JSONL (default: generated arithmetic samples of varied length)")
    parser.add_argument("--model", help="HF model folder or named model (default: a random --shape model)")
    parser.add_argument("--shape", choices=sorted(SHAPES), default="small")
    parser.add_argument("--samples", type=int, default=512)
    parser.add_argument("--steps", type=int, default=20, help="timed optimizer steps per mode")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-length", type=int, default=1024)
    parser.add_argument("--template", default="alpaca")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--packed-attn", default="sdpa", help="attention for packed batches on cuda (flash_attention_2 if installed)")
    parser.add_argument("--peak-tflops", type=float, default=989.0, help="per-GPU peak for MFU (H100 SXM dense bf16)")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = parser.parse_args(argv)

    tokenizer = bench_tokenizer(args)
    if tokenizer is None:
        return 2
    if args.data:
        examples = load_examples(args.data, args.samples)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "samples.jsonl"
            path.write_text("".join(json.dumps(r) + "\n" for r in varied_samples(args.samples, 0)))
            examples = load_examples(path)
    dataset = build_dataset(examples, tokenizer, args.template, args.max_length)
    results = [run_mode(packing, args, dataset, tokenizer, args.device) for packing in (False, True)]
    padded, packed = results
    what = args.model or f"random {args.shape} ({packed['params'] / 1e6:.1f}M params)"
    print(f"model {what}, device {args.device}, batch {args.batch_size} examples, {args.steps} timed steps, "
          f"mean example {packed['mean_len']:.0f} tokens")  # fmt: skip
    print(f"{'mode':<10} {'real tok/s':>11} {'computed tok/s':>15} {'padding waste':>14}")
    for r in results:
        name = "packed" if r["packing"] else "padded"
        print(f"{name:<10} {r['tokens_per_s']:>11.0f} {r['computed_tokens_per_s']:>15.0f} {100 * r['padding_waste']:>13.1f}%")
    print(f"packed / padded: {packed['tokens_per_s'] / padded['tokens_per_s']:.2f}x real tokens/s, "
          f"padding waste {100 * padded['padding_waste']:.1f}% -> {100 * packed['padding_waste']:.1f}%")  # fmt: skip
    if args.device == "cuda":
        for r in results:
            name = "packed" if r["packing"] else "padded"
            print(f"{name}: {r['tokens_per_s']:.0f} tokens/s per GPU, MFU {100 * mfu(r, args.peak_tflops):.1f}%")
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "results": results}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
