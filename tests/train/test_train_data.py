"""Training data: templates shared with eval, response-only labels, packing, padding figures."""

from __future__ import annotations

import json

import pytest

from mathscale.errors import DataError, MathscaleError
from mathscale.templates import format_prompt, prompt_and_response, with_final_answer
from mathscale.train.data import IGNORE, Example, load_examples, padding_stats, tokenize_example
from tests.support.tiny import arithmetic_samples, build_tokenizer


@pytest.fixture(scope="module")
def tokenizer():
    return build_tokenizer()


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_alpaca_strings_are_the_official_ones():
    head = (
        "Below is an instruction that describes a task. Write a response that appropriately completes "
        "the request.\n\n### Instruction:\nQ"
    )
    assert format_prompt("alpaca", "Q") == head + "\n\n### Response:"
    assert format_prompt("alpaca_force_ans", "Q") == (
        head + "\n\nTry to conclude your response with 'The answer is ...'.\n### Response:"
    )


def eval_format_prompt():
    """The prompt formatting ``mathscale eval`` uses, wherever evaluation takes it from."""
    import importlib

    for module in ("mathscale.eval.command", "mathscale.eval.templates"):
        try:
            return importlib.import_module(module).format_prompt
        except (ImportError, AttributeError):
            continue
    pytest.skip("evaluation has no prompt formatting yet")


@pytest.mark.parametrize("template", ["alpaca", "alpaca_force_ans"])
def test_training_prompt_is_the_eval_prompt(template, tokenizer):
    eval_prompt = eval_format_prompt()
    question = "What is 2 + 3?"
    prompt, response = prompt_and_response(template, question, "2 + 3 = 5.\nThe answer is 5")
    assert prompt == eval_prompt(template, question)
    # and the tokens the model is trained on start with exactly the tokens eval sends
    ids = tokenize_example(Example(question, "2 + 3 = 5."), tokenizer, template, 512)["input_ids"]
    sent = tokenizer(eval_prompt(template, question))["input_ids"]
    assert ids[: len(sent)] == sent


def test_chat_template_uses_the_tokenizers_own(tokenizer):
    prompt, response = prompt_and_response("chat", "What is 2 + 3?", "It is 5.", tokenizer)
    assert prompt == tokenizer.apply_chat_template(
        [{"role": "user", "content": "What is 2 + 3?"}], tokenize=False, add_generation_prompt=True
    )
    assert response.startswith("It is 5.") and "<|im_end|>" in response


@pytest.mark.parametrize(
    ("solution", "answer", "expected"),
    [
        ("2 + 3 = 5.", "5", "2 + 3 = 5.\nThe answer is 5"),
        ("So the answer is 5.", "5", "So the answer is 5."),
        ("Hence $\\boxed{5}$.", "5", "Hence $\\boxed{5}$."),
        ("2 + 3 = 5.  ", "", "2 + 3 = 5."),
    ],
)
def test_response_ends_with_the_answer(solution, answer, expected):
    assert with_final_answer(solution, answer) == expected


def test_labels_cover_the_response_only(tokenizer):
    example = Example("What is 2 + 3?", "2 + 3 = 5.\nThe answer is 5")
    row = tokenize_example(example, tokenizer, "alpaca", 512)
    n_prompt = len(tokenizer(format_prompt("alpaca", example.question))["input_ids"])
    assert row["labels"][:n_prompt] == [IGNORE] * n_prompt
    assert row["labels"][n_prompt:] == row["input_ids"][n_prompt:]
    assert row["input_ids"][-1] == tokenizer.eos_token_id
    assert tokenizer.decode(row["labels"][n_prompt:-1]) == " 2 + 3 = 5.\nThe answer is 5"


def test_cut_to_max_length(tokenizer):
    row = tokenize_example(Example("q " * 50, "a " * 50), tokenizer, "alpaca", 16)
    assert len(row["input_ids"]) == len(row["labels"]) == 16


def test_packing_keeps_examples_apart(tokenizer):
    """The flattened batch restarts position_ids per example and never labels a boundary token."""
    from mathscale.train.data import make_collator

    rows = [tokenize_example(Example(f"What is {i} + 1?", f"{i + 1}"), tokenizer, "alpaca", 512) for i in range(3)]
    batch = make_collator(tokenizer, packing=True)(rows)
    lengths = [len(r["input_ids"]) for r in rows]
    assert batch["input_ids"].shape == (1, sum(lengths))
    starts = [sum(lengths[:i]) for i in range(3)]
    assert [int(batch["position_ids"][0, s]) for s in starts] == [0, 0, 0]
    assert all(int(batch["labels"][0, s]) == IGNORE for s in starts)
    assert "attention_mask" not in batch or batch["attention_mask"] is None


def test_packed_forward_equals_separate_forwards(tokenizer, tmp_path):
    """No attention across packed examples: per-example logits match unpacked runs.

    With the model as training loads it: a KV cache in the forward pass would silently turn
    the block-diagonal mask off.
    """
    import torch

    from mathscale.train.config import TrainConfig
    from mathscale.train.data import make_collator
    from mathscale.train.sft import load_model
    from tests.support.tiny import build_tiny_model

    model = load_model(build_tiny_model(tmp_path / "tiny"), TrainConfig(), cuda=False).eval()
    rows = [tokenize_example(Example(f"What is {i} * 7?", f"{i * 7}"), tokenizer, "alpaca", 512) for i in range(3)]
    batch = make_collator(tokenizer, packing=True)(rows)
    with torch.no_grad():
        packed = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"]).logits[0]
        start = 0
        for row in rows:
            alone = model(input_ids=torch.tensor([row["input_ids"]])).logits[0]
            assert torch.allclose(packed[start : start + len(row["input_ids"])], alone, atol=1e-4)
            start += len(row["input_ids"])


def test_padding_stats():
    assert padding_stats([2, 4, 3, 3], 2, packing=False).padded_tokens == 8 + 6
    assert padding_stats([2, 4, 3, 3], 2, packing=True).efficiency == 1.0
    assert padding_stats([2, 4], 2, packing=False).efficiency == pytest.approx(0.75)


def test_load_examples_jsonl_and_dataset(tmp_path):
    import datasets

    rows = arithmetic_samples(5)
    path = write_jsonl(tmp_path / "s.jsonl", rows)
    examples = load_examples(path)
    assert len(examples) == 5 and examples[0].response.endswith(f"The answer is {rows[0]['answer']}")
    datasets.Dataset.from_list(rows).save_to_disk(str(tmp_path / "ds"))
    assert load_examples(tmp_path / "ds") == examples
    assert len(load_examples(path, limit=2)) == 2


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([], "holds no samples"),
        ([{"question": "q"}], r"s\.jsonl:1: no 'solution' field"),
        ([{"question": "q", "solution": "s"}, {"solution": "s"}], r"s\.jsonl:2: no 'question' field"),
        ([{"question": "  ", "solution": "s"}], "empty or non-text 'question'"),
        ([{"question": "q", "solution": "s", "answer": [1]}], "'answer' must be text"),
    ],
)
def test_bad_samples(tmp_path, rows, message):
    path = write_jsonl(tmp_path / "s.jsonl", rows)
    with pytest.raises(DataError, match=message):
        load_examples(path)


def test_missing_data(tmp_path):
    with pytest.raises(MathscaleError, match="no such file"):
        load_examples(tmp_path / "nope.jsonl")
    (tmp_path / "folder").mkdir()
    with pytest.raises(MathscaleError, match="not a saved datasets.Dataset"):
        load_examples(tmp_path / "folder")


def test_tokenized_dataset_is_cached(tmp_path, tokenizer):
    from mathscale.train.data import tokenized_dataset

    tok_dir = tmp_path / "tok"
    tokenizer.save_pretrained(tok_dir)
    data = write_jsonl(tmp_path / "s.jsonl", arithmetic_samples(6))
    first = tokenized_dataset(data, 0, tokenizer, tok_dir, "alpaca", 256, tmp_path / "out")
    (folder,) = (tmp_path / "out").glob("tokenized-*")
    again = tokenized_dataset(data, 0, tokenizer, tok_dir, "alpaca", 256, tmp_path / "out")
    assert again["input_ids"] == first["input_ids"] and len(first) == 6
    assert len(list((tmp_path / "out").glob("tokenized-*"))) == 1
    tokenized_dataset(data, 0, tokenizer, tok_dir, "alpaca_force_ans", 256, tmp_path / "out")
    assert len(list((tmp_path / "out").glob("tokenized-*"))) == 2  # another template, another key
