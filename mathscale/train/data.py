"""Training examples: samples -> (prompt, response) text -> token ids with response-only labels.

- :func:`load_examples` reads our samples JSONL (``qa/1``, or any lines with ``question``
  and ``solution``) or a folder written by ``datasets.Dataset.save_to_disk``, and fails
  with ``file:line`` on a sample without a question or solution;
- :func:`tokenize_example` renders the prompt with the template evaluation uses
  (:mod:`mathscale.templates`) and masks it out of the labels (-100), so the loss is on the
  response only;
- :func:`padding_stats` says how much of a batch is padding, with and without packing.
  With packing (padding-free) a micro-batch is one row of concatenated examples whose
  ``position_ids`` restart at 0 for each example; transformers turns that into a
  block-diagonal mask, so no example attends to another.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mathscale.errors import DataError, MathscaleError
from mathscale.io import read_jsonl
from mathscale.templates import prompt_and_response, with_final_answer

log = logging.getLogger(__name__)

IGNORE = -100  # label of tokens that carry no loss


@dataclass(frozen=True)
class Example:
    """One training sample, as text: the question, and the response the model should write."""

    question: str
    response: str  # the solution, ending with "The answer is ..." when it did not already


def _example(obj: Any, where: str) -> Example:
    if not isinstance(obj, dict):
        raise DataError(f"{where}: expected a JSON object, got {type(obj).__name__}")
    for key in ("question", "solution"):
        value = obj.get(key)
        if not isinstance(value, str) or not value.strip():
            what = "no" if value is None else "an empty or non-text"
            raise DataError(f"{where}: {what} {key!r} field (training needs 'question' and 'solution' on every sample)")
    answer = obj.get("answer")
    if isinstance(answer, (int, float)) and not isinstance(answer, bool):
        answer = str(answer)
    if answer is not None and not isinstance(answer, str):
        raise DataError(f"{where}: field 'answer' must be text or a number, got {type(answer).__name__}")
    return Example(obj["question"].strip(), with_final_answer(obj["solution"], answer or ""))


def load_examples(path: str | Path, limit: int = 0) -> list[Example]:
    """The examples in a samples JSONL or a saved ``datasets`` folder; an empty source is an error."""
    path = Path(path)
    if not path.exists():
        raise MathscaleError(f"{path}: no such file or folder (option --data)")
    examples: list[Example] = []
    if path.is_dir():
        if not (path / "dataset_info.json").exists() and not (path / "state.json").exists():
            raise MathscaleError(f"{path}: a folder but not a saved datasets.Dataset (no dataset_info.json)")
        import datasets

        loaded = datasets.load_from_disk(str(path))
        if isinstance(loaded, datasets.DatasetDict):
            if "train" not in loaded:
                raise MathscaleError(f"{path}: a DatasetDict without a 'train' split")
            loaded = loaded["train"]
        for i, row in enumerate(loaded):
            examples.append(_example(row, f"{path}[{i}]"))
            if limit and len(examples) >= limit:
                break
    else:
        for where, obj in read_jsonl(path):
            examples.append(_example(obj, where))
            if limit and len(examples) >= limit:
                break
    if not examples:
        raise DataError(f"{path}: holds no samples; nothing to train on")
    return examples


def tokenize_example(example: Example, tokenizer: Any, template: str, max_length: int) -> dict[str, list[int]]:
    """``input_ids`` and ``labels`` (prompt tokens labelled -100), cut to ``max_length``.

    The prompt is tokenised on its own, exactly as evaluation will send it; the response
    follows, then the end-of-sequence token, which teaches the model to stop.
    """
    prompt, response = prompt_and_response(template, example.question, example.response, tokenizer)
    chat = template == "chat"
    prompt_ids = tokenizer(prompt, add_special_tokens=not chat)["input_ids"]
    response_ids = tokenizer(response, add_special_tokens=False)["input_ids"]
    if not chat and tokenizer.eos_token_id is not None:
        response_ids = response_ids + [tokenizer.eos_token_id]
    input_ids = (prompt_ids + response_ids)[:max_length]
    labels = ([IGNORE] * len(prompt_ids) + response_ids)[:max_length]
    return {"input_ids": input_ids, "labels": labels}


def build_dataset(examples: Sequence[Example], tokenizer: Any, template: str, max_length: int):
    """A ``datasets.Dataset`` of token ids; examples whose response is cut away entirely are dropped."""
    import datasets

    rows = [tokenize_example(e, tokenizer, template, max_length) for e in examples]
    kept = [r for r in rows if any(label != IGNORE for label in r["labels"])]
    cut = sum(1 for e, r in zip(examples, rows) if len(r["input_ids"]) == max_length)
    if cut:
        log.warning("%d of %d examples were cut to max_length=%d tokens", cut, len(rows), max_length)
    if not kept:
        raise MathscaleError(f"every example's prompt is longer than max_length={max_length}; raise max_length")
    if len(kept) < len(rows):
        log.warning("dropped %d examples whose prompt fills max_length", len(rows) - len(kept))
    return datasets.Dataset.from_list(kept)


def _fingerprint(path: Path) -> list:
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    return [[str(f), f.stat().st_size, f.stat().st_mtime_ns] for f in files]


def tokenized_dataset(
    data: str | Path, limit: int, tokenizer: Any, tokenizer_dir: Path, template: str, max_length: int, cache: Path
):
    """:func:`build_dataset`, saved under ``cache/tokenized-<key>`` and loaded from there next time.

    The key covers the data files (size, mtime), the tokenizer files, the template,
    ``max_length`` and ``limit``. Call it on the main process first (the others then load),
    so a large dataset is tokenised once per run and once for every resume.
    """
    import datasets

    digest = hashlib.sha256()
    tokenizer_files = [p for p in sorted(Path(tokenizer_dir).glob("*")) if p.suffix in (".json", ".jinja", ".model")]
    for f in tokenizer_files:
        if f.name.startswith("tokenizer") or f.name.startswith("chat_template") or f.name == "special_tokens_map.json":
            digest.update(f.name.encode() + f.read_bytes())
    key = json.dumps([_fingerprint(Path(data).resolve()), template, max_length, limit, digest.hexdigest()])
    folder = Path(cache) / f"tokenized-{hashlib.sha256(key.encode()).hexdigest()[:16]}"
    if not (folder / "dataset_info.json").exists():
        dataset = build_dataset(load_examples(data, limit), tokenizer, template, max_length)
        tmp = folder.with_name(f"{folder.name}.tmp{os.getpid()}")
        dataset.save_to_disk(str(tmp))
        try:
            tmp.rename(folder)
        except OSError:  # another node wrote it first (shared file system)
            shutil.rmtree(tmp, ignore_errors=True)
    return datasets.load_from_disk(str(folder))


@dataclass(frozen=True)
class PaddingStats:
    real_tokens: int
    padded_tokens: int  # tokens the model computes on, padding included

    @property
    def efficiency(self) -> float:
        return self.real_tokens / self.padded_tokens if self.padded_tokens else 1.0

def padding_stats(lengths: Sequence[int], batch_size: int, packing: bool) -> PaddingStats:
    """Tokens computed with batches of ``batch_size`` consecutive examples.

    Without packing each batch is padded to its longest example; padding-free packing
    concatenates the batch into one row, so every computed token is real.
    """
    real = sum(lengths)
    if packing:
        return PaddingStats(real, real)
    padded = 0
    for start in range(0, len(lengths), batch_size):
        batch = lengths[start : start + batch_size]
        padded += len(batch) * max(batch)
    return PaddingStats(real, padded)


def make_collator(tokenizer: Any, packing: bool):
    """Padding-free flattening collator when packing, else pad each batch to its longest example."""
    from transformers import DataCollatorForSeq2Seq, DataCollatorWithFlattening

    if packing:
        return DataCollatorWithFlattening(return_position_ids=True, separator_id=IGNORE)
    return DataCollatorForSeq2Seq(tokenizer, padding=True, label_pad_token_id=IGNORE, pad_to_multiple_of=None)


def describe_lengths(lengths: Sequence[int]) -> str:
    if not lengths:
        return "no examples"
    ordered = sorted(lengths)
    p50 = ordered[len(ordered) // 2]
    p95 = ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]
    return f"{len(lengths)} examples, {sum(lengths)} tokens, length median {p50}, p95 {p95}, max {ordered[-1]}"
