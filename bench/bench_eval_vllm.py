"""The ``vllm`` eval backend against vLLM's own offline loop and the ``hf`` backend, same prompts.

    python bench/bench_eval_vllm.py [--model DIR] [--n 32] [--max-new-tokens 64] [--dtype float32] [--repeat 3]

All three get the same alpaca prompts, tokenized once with the model's tokenizer:

- reference ("vllm own"): ``LLM.generate`` on the token ids, greedy, the alpaca stop strings;
- ``mathscale vllm``: :meth:`mathscale.eval.vllm_generate.VLLMGenerator.generate` on the same
  engine (it steps the engine itself so that each completion is saved as it finishes);
- ``hf``: :class:`mathscale.eval.hf_generate.HFGenerator`, batch 16, same dtype.

The two vLLM runs share one engine and are interleaved ``--repeat`` times after a warm-up
run of each; the best run of each counts. Printed: items/s and tokens/s, the ratio
mathscale / vllm own (the goal is >= 0.95), hf / vllm own, the engine and hf start-up
seconds, and how many completions agree. With no ``--model`` it builds a random 2-layer
Llama with head_dim 64 (``tests.support.tiny``, hidden 256): vLLM's CPU attention needs
head_dim >= 32. Run it as a script (vLLM starts its engine with ``spawn``).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # tests.support, the test doubles (benchmarks run as `python bench/<name>.py`)

DEFAULT_DATA = Path("/work/shared/data/benchmarks/gsm8k_test.jsonl")
FALLBACK = ["What is 2+2?", "Solve $2x+3=11$.", "A train goes 60 km in 1.5 hours. What is its speed?",
            "How many sides has a hexagon?"]  # fmt: skip


def questions(path: Path, n: int) -> list[str]:
    if not path.is_file():
        return [FALLBACK[i % len(FALLBACK)] + f" (case {i})" for i in range(n)]
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()[:n]]
    return [r["question"] for r in rows]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="HF model folder (default: a random head_dim-64 Llama built here)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="MWPBench-style JSONL of questions")
    parser.add_argument("--n", type=int, default=32)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--kv-cache-gb", type=float, default=0.5)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-hf", action="store_true", help="skip the hf backend")
    args = parser.parse_args(argv)

    from vllm import SamplingParams

    from mathscale.eval.hf_generate import HFGenerator
    from mathscale.eval.vllm_generate import shared_engine
    from mathscale.templates import STOP_STRINGS, format_prompt
    from tests.support.tiny import build_tiny_model

    model = Path(args.model) if args.model else build_tiny_model(Path(tempfile.mkdtemp()) / "tiny", hidden=256)
    texts = [format_prompt("alpaca", q) for q in questions(args.data, args.n)]
    stop = list(STOP_STRINGS["alpaca"])

    started = time.perf_counter()
    hf = HFGenerator.load(str(model), args.dtype)
    hf_start = time.perf_counter() - started
    ids = hf.tokenizer(texts, add_special_tokens=True)["input_ids"]
    engine = shared_engine(model, dtype=args.dtype, kv_cache_gb=args.kv_cache_gb,
                           max_model_len=max(map(len, ids)) + args.max_new_tokens)  # fmt: skip
    params = SamplingParams(temperature=0.0, max_tokens=args.max_new_tokens, stop=stop)
    decode = engine.engine.get_tokenizer().decode

    def own() -> list[str]:
        outs = engine.engine.generate([{"prompt_token_ids": x} for x in ids], params, use_tqdm=False)
        return [decode(list(o.outputs[0].token_ids), skip_special_tokens=True) for o in outs]

    def ours() -> list[str]:
        return engine.generate(ids, args.max_new_tokens, stop)

    best = {"vllm own": float("inf"), "mathscale vllm": float("inf")}
    texts_of: dict[str, list[str]] = {}
    for name, run in (("vllm own", own), ("mathscale vllm", ours)):
        run()  # warm-up
    for _ in range(args.repeat):
        for name, run in (("vllm own", own), ("mathscale vllm", ours)):
            t = time.perf_counter()
            texts_of[name] = run()
            best[name] = min(best[name], time.perf_counter() - t)
    if not args.no_hf:
        t = time.perf_counter()
        texts_of["hf"] = hf.generate(texts, args.max_new_tokens, stop, batch_size=16)
        best["hf"] = time.perf_counter() - t

    tokens = {name: sum(len(hf.tokenizer(x, add_special_tokens=False)["input_ids"]) for x in out)
              for name, out in texts_of.items()}  # fmt: skip
    print(f"model {model} dtype {args.dtype}; {args.n} prompts, up to {args.max_new_tokens} new tokens, alpaca stop strings")
    print(f"start-up: vLLM engine {engine.start_seconds:.1f} s, hf model {hf_start:.1f} s")
    for name, seconds in best.items():
        print(f"{name:15s} {seconds:7.2f} s  {args.n / seconds:7.2f} items/s  {tokens[name] / seconds:8.1f} tokens/s")
    print(f"mathscale vllm / vllm own: {best['vllm own'] / best['mathscale vllm']:.3f}x (items/s; goal >= 0.95)")
    if "hf" in best:
        print(f"hf / vllm own: {best['vllm own'] / best['hf']:.3f}x")
        same = sum(a == b for a, b in zip(texts_of["hf"], texts_of["mathscale vllm"]))
        print(f"completions equal to hf: {same} of {args.n}")
    same = sum(a == b for a, b in zip(texts_of["vllm own"], texts_of["mathscale vllm"]))
    print(f"completions equal to vllm own: {same} of {args.n}")
    engine.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
