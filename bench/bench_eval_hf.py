"""Time the ``hf`` eval backend on a GSM8K slice: batched (left-padded, length-sorted) vs unbatched.

    python bench/bench_eval_hf.py [--model PATH] [--n 32] [--max-new-tokens 32] [--batch-size 16]

With no ``--model`` it builds a randomly initialised Llama (about 5M parameters) with a
byte-level BPE tokenizer trained on the questions, so the run needs no download; the
speed-up of batching is what it measures, and the completions of both runs must be equal.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from mathscale.eval.backends import GenerationSettings, generate_hf
from mathscale.templates import TEMPLATES, format_prompt

DEFAULT_DATA = Path("/work/shared/data/benchmarks/gsm8k_test.jsonl")


def build_random_llama(folder: Path, corpus: list[str], seed: int = 0) -> Path:
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=2000, special_tokens=["<pad>", "</s>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    bpe.train_from_iterator(corpus, trainer)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token="</s>", pad_token="<pad>")
    tokenizer.save_pretrained(folder)
    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=256, intermediate_size=688, num_hidden_layers=4,
                         num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=2048,
                         eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)  # fmt: skip
    LlamaForCausalLM(config).save_pretrained(folder)
    return folder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="model folder (default: a random tiny Llama built here)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--n", type=int, default=32)
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=16)
    args = parser.parse_args(argv)

    import torch

    rows = [json.loads(line) for line in args.data.read_text(encoding="utf-8").splitlines()[: args.n]]
    prompts = [format_prompt("alpaca", r["question"]) for r in rows]
    with tempfile.TemporaryDirectory() as tmp:
        model = args.model or str(build_random_llama(Path(tmp), [r["question"] for r in rows] + [TEMPLATES["alpaca"]]))
        print(f"{len(prompts)} GSM8K prompts, max_new_tokens {args.max_new_tokens}, model {args.model or 'random tiny Llama'}, "
              f"torch threads {torch.get_num_threads()}, {'cuda' if torch.cuda.is_available() else 'cpu'}")  # fmt: skip
        results = {}
        for batch_size in (1, args.batch_size):
            settings = GenerationSettings(model, chat=False, max_new_tokens=args.max_new_tokens, stop=[], batch_size=batch_size)
            started = time.perf_counter()
            results[batch_size] = generate_hf(prompts, settings)
            seconds = time.perf_counter() - started
            print(f"batch_size {batch_size:3d}: {seconds:7.2f} s, {len(prompts) / seconds:6.2f} items/s")
    same = sum(a == b for a, b in zip(results[1], results[args.batch_size]))
    print(f"identical completions batched vs unbatched: {same}/{len(prompts)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
