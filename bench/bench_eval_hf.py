"""The ``hf`` eval backend against a bare transformers ``generate`` loop, same prompts, same batch size.

    python bench/bench_eval_hf.py [--model PATH] [--n 32] [--max-new-tokens 32] [--batch-size 16] [--static] [--threads 1]
    # the GPU figure (random weights of the Qwen2.5-1.5B shape, a real 49K BPE tokenizer):
    python bench/bench_eval_hf.py --shape qwen2.5-1.5b --tokenizer TOKENIZER_DIR --vocab 151936 --n 128 \
        --max-new-tokens 256 --batch-size 64 --dtype bfloat16 --warmup-tokens 8 --repeat 1 --static

Reference ("bare"): the prompts in file order, ``batch_size`` at a time, one
``model.generate(do_sample=False, max_new_tokens=...)`` each, decoded; no stop strings. The
mathscale backend runs the same prompts with the alpaca stop strings (its real setting).
Printed: items/s of each and the ratio mathscale / bare (measured in this run), the number of
identical completions, and with ``--static`` the same for the static-KV-cache option.

With no ``--model`` it builds a randomly initialised Llama (about 5M parameters) with a
byte-level BPE tokenizer trained on the questions (no download). ``--shape qwen2.5-1.5b``
builds random weights of the Qwen2.5-1.5B shape instead (for a GPU; its tokenizer is the
same small BPE, so the vocabulary is small but the layers are full size).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from mathscale.eval.hf_generate import HFGenerator
from mathscale.templates import STOP_STRINGS, TEMPLATES, format_prompt

DEFAULT_DATA = Path("/work/shared/data/benchmarks/gsm8k_test.jsonl")
SHAPES = {
    "tiny": dict(hidden_size=256, intermediate_size=688, num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=4),
    "qwen2.5-1.5b": dict(hidden_size=1536, intermediate_size=8960, num_hidden_layers=28, num_attention_heads=12,
                         num_key_value_heads=2),  # fmt: skip
}


def build_random_model(folder: Path, corpus: list[str], shape: str = "tiny", seed: int = 0,
                       tokenizer_dir: str | None = None, vocab: int = 0, dtype: str = "float32") -> Path:  # fmt: skip
    """Random weights of ``shape`` with a tokenizer: ``tokenizer_dir``'s, or a small BPE trained on ``corpus``.

    ``vocab`` sets the model's vocabulary size (0: the tokenizer's); ids beyond the
    tokenizer's decode to nothing, which is harmless for timing.
    """
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import (AutoTokenizer, LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast, Qwen2Config,
                              Qwen2ForCausalLM)  # fmt: skip

    if tokenizer_dir:
        tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
    else:
        bpe = Tokenizer(models.BPE())
        bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        bpe.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(vocab_size=2000, special_tokens=["<pad>", "</s>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
        bpe.train_from_iterator(corpus, trainer)
        tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token="</s>", pad_token="<pad>")
    tokenizer.save_pretrained(folder)
    torch.manual_seed(seed)
    common = dict(vocab_size=max(vocab, len(tokenizer)), max_position_embeddings=4096, eos_token_id=tokenizer.eos_token_id,
                  pad_token_id=tokenizer.pad_token_id, **SHAPES[shape])  # fmt: skip
    if shape == "tiny":
        model = LlamaForCausalLM(LlamaConfig(**common))
    else:
        model = Qwen2ForCausalLM(Qwen2Config(**common, tie_word_embeddings=True))
    model.to(getattr(torch, dtype)).save_pretrained(folder)
    return folder


def bare_generate(generator: HFGenerator, prompts: list[str], max_new_tokens: int, batch_size: int) -> list[str]:
    """What one writes without a backend: file order, pad, generate, decode."""
    import torch

    tok, model = generator.tokenizer, generator.model
    out = []
    for start in range(0, len(prompts), batch_size):
        enc = tok(prompts[start : start + batch_size], return_tensors="pt", padding=True).to(generator.device)
        with torch.inference_mode():
            gen = model.generate(**enc, do_sample=False, max_new_tokens=max_new_tokens, pad_token_id=tok.pad_token_id)
        out += tok.batch_decode(gen[:, enc["input_ids"].shape[1] :], skip_special_tokens=True)
    return out


def _timed(fn, sync) -> tuple[list[str], float]:
    sync()
    started = time.perf_counter()
    result = fn()
    sync()
    return result, time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="model folder (default: random weights built here)")
    parser.add_argument("--shape", choices=sorted(SHAPES), default="tiny", help="shape of the random model")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--n", type=int, default=32)
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--dtype", default="auto", help="weights when running (the random model is saved in this dtype)")
    parser.add_argument("--tokenizer", help="tokenizer folder for the random model (default: a small BPE trained here)")
    parser.add_argument("--vocab", type=int, default=0, help="vocabulary size of the random model (default: the tokenizer's)")
    parser.add_argument("--warmup-tokens", type=int, default=0, help="new tokens in the warm-up run (default: all; "
                        "the static-cache run always warms up in full, as it compiles per shape)")
    parser.add_argument("--static", action="store_true", help="also time the static-cache (torch.compile) option")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: torch's); 1 is steadier on a shared machine")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each, interleaved (the best counts), after one warm-up run")
    args = parser.parse_args(argv)

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    sync = torch.cuda.synchronize if torch.cuda.is_available() else (lambda: None)
    rows = [json.loads(line) for line in args.data.read_text(encoding="utf-8").splitlines()[: args.n]]
    prompts = [format_prompt("alpaca", r["question"]) for r in rows]
    stop = STOP_STRINGS["alpaca"]
    with tempfile.TemporaryDirectory() as tmp:
        corpus = [r["question"] for r in rows] + [TEMPLATES["alpaca"]]
        saved = "float32" if args.dtype == "auto" else args.dtype
        model = args.model or str(build_random_model(Path(tmp), corpus, args.shape, tokenizer_dir=args.tokenizer,
                                                     vocab=args.vocab, dtype=saved))  # fmt: skip
        generator = HFGenerator.load(model, args.dtype)
        print(f"{len(prompts)} GSM8K prompts, batch {args.batch_size}, max_new_tokens {args.max_new_tokens}, "
              f"model {args.model or 'random ' + args.shape}, dtype {next(generator.model.parameters()).dtype}, "
              f"{generator.device}, torch threads {torch.get_num_threads()}")  # fmt: skip
        def runner(kind: str, tokens: int):
            if kind == "bare":
                return lambda: bare_generate(generator, prompts, tokens, args.batch_size)
            return lambda: generator.generate(prompts, tokens, stop, args.batch_size, static_cache=kind == "static")

        kinds = {"bare generate": "bare", "mathscale hf": "ours"} | ({"mathscale hf static": "static"} if args.static else {})
        runs = {name: runner(kind, args.max_new_tokens) for name, kind in kinds.items()}
        warm = args.warmup_tokens or args.max_new_tokens
        rates, outputs, best = {}, {}, {}
        # The static-cache run goes last (its warm-up compiles), so a time limit cuts it first.
        for group in ([n for n in runs if kinds[n] != "static"], [n for n in runs if kinds[n] == "static"]):
            for name in group:
                try:
                    _timed(runner(kinds[name], args.max_new_tokens if kinds[name] == "static" else warm), sync)  # warm-up
                except Exception as exc:  # noqa: BLE001 - report and go on with the others
                    print(f"{name:>20}: failed ({type(exc).__name__}: {str(exc)[:300]})", flush=True)
                    group.remove(name)
                    del runs[name]
            for round_ in range(args.repeat):  # interleaved, so a noisy neighbour hits each alike
                for name in list(group):
                    try:
                        outputs[name], seconds = _timed(runs[name], sync)
                    except Exception as exc:  # noqa: BLE001
                        print(f"{name:>20}: failed ({type(exc).__name__}: {str(exc)[:300]})", flush=True)
                        group.remove(name)
                        del runs[name]
                        continue
                    best[name] = min(best.get(name, seconds), seconds)
                    print(f"  run {round_ + 1} {name}: {seconds:.2f} s ({len(prompts) / seconds:.2f} items/s)", flush=True)
        for name in runs:
            rates[name] = len(prompts) / best[name]
            print(f"{name:>20}: {best[name]:8.2f} s, {rates[name]:8.2f} items/s (best of {args.repeat})")
    from mathscale.templates import cut_at_stop

    bare = [cut_at_stop(t, stop) for t in outputs.get("bare generate", [])]
    for name in [k for k in rates if k != "bare generate"]:
        if "bare generate" in rates:
            same = sum(a == b for a, b in zip(bare, outputs[name]))
            print(f"{name} / bare generate: {rates[name] / rates['bare generate']:.2f}x; identical completions {same}/{len(prompts)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
