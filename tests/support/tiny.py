"""A tiny random model of the SmolLM2/Llama architecture, and arithmetic samples to train it on.

For tests and benchmarks that must run offline in seconds: the tokenizer is a byte-level
BPE trained here with the ``tokenizers`` library (no hub access needed), the model a
Llama config with hidden size 64 and random weights.

>>> folder = build_tiny_model("/tmp/tiny")   # doctest: +SKIP
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from mathscale.templates import TEMPLATES

CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def arithmetic_samples(n: int, seed: int = 0) -> list[dict[str, Any]]:
    """``qa/1`` records of two-number sums and products, easy for a tiny model to learn."""
    rng = random.Random(seed)
    samples = []
    for i in range(n):
        a, b = rng.randint(1, 99), rng.randint(1, 99)
        op, value = (("+", a + b), ("*", a * b))[i % 2]
        words = " ".join(rng.choice(["apples", "boxes", "coins", "pens"]) for _ in range(rng.randint(0, 12)))
        samples.append({
            "schema": "qa/1", "id": f"t{i}", "index": i, "topics": ["Arithmetic"], "knowledge_points": ["Sums"],
            "question": f"What is {a} {op} {b}? {words}".strip(),
            "solution": f"We compute {a} {op} {b} = {value}.",
            "answer": str(value), "model": "tiny", "prompt": "tiny/1",
        })  # fmt: skip
    return samples


def build_tokenizer(vocab_size: int = 400):
    """A byte-level BPE tokenizer with ``<s>``, ``</s>``, ``<pad>`` and a small chat template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    corpus = [t.format(instruction="") for t in TEMPLATES.values() if t] + [
        s["question"] + " " + s["solution"] + " The answer is " for s in arithmetic_samples(200)
    ]
    specials = ["<s>", "</s>", "<pad>", "<|im_start|>", "<|im_end|>"]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tok.train_from_iterator(corpus, trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>", chat_template=CHAT_TEMPLATE
    )
    return fast


def build_tiny_model(folder: str | Path, *, hidden: int = 64, layers: int = 2, seed: int = 0) -> Path:
    """Save a random Llama-architecture causal LM and its tokenizer to ``folder``."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    folder = Path(folder)
    tokenizer = build_tokenizer()
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        intermediate_size=hidden * 2,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
