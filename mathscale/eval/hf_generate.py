"""Greedy batched generation with transformers, written for throughput (the ``hf`` eval backend).

What makes it at least as fast as a plain ``model.generate`` loop on the same prompts:

- prompts are sorted by token length (longest first, so an out-of-memory shows at once) and
  batched, so a batch carries few pad tokens;
- the decoding loop does no per-item work between steps and never waits for the GPU except
  every ``check_every`` steps; then one copy to the host tells which rows hit EOS, and stop
  strings are looked for in the decoded *tail* of each unfinished row only (never the whole
  batch), and finished rows leave the batch (the KV cache is cut to the rows still running);
- the prompt pass keeps only the last position's logits.

``static_cache=True`` instead runs ``model.generate`` with a static KV cache, which
transformers compiles with ``torch.compile``: it pays on a GPU for long generations with
a fixed batch; it costs a compile per batch shape and usually does not pay on a CPU.

Greedy decoding: a row's text does not depend on how the batch was made up, up to the
numerics of padded batched kernels. ``on_result(index, text)`` is called as soon as each
completion is final (for per-item saving).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mathscale.templates import cut_at_stop

OnResult = Callable[[int, str], None]


@dataclass
class HFGenerator:
    """A loaded model and tokenizer; :meth:`generate` runs any number of prompts through them."""

    model: object
    tokenizer: object
    device: str
    check_every: int = 16  # decoding steps between two looks at EOS and stop strings

    @classmethod
    def load(cls, model_name: str, dtype: str = "auto", device: str | None = None) -> HFGenerator:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        torch_dtype = "auto" if dtype == "auto" else getattr(torch, dtype)
        try:
            tokenizer = AutoTokenizer.from_pretrained(model_name)
            model = AutoModelForCausalLM.from_pretrained(model_name, dtype=torch_dtype)
        except Exception as exc:  # noqa: BLE001 - safetensors, torch and transformers each raise their own kinds
            from mathscale.errors import MathscaleError

            text = " ".join(str(exc).split())[:240]
            raise MathscaleError(f"{model_name}: cannot load the model ({type(exc).__name__}: {text}); a truncated or "
                                 "corrupt weights file (an interrupted copy or download) reads like this: copy, "
                                 "download or train it again") from None  # fmt: skip
        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        model.to(device).eval()
        tokenizer.padding_side = "left"
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        return cls(model, tokenizer, device)

    def eos_ids(self) -> list[int]:
        ids = self.model.generation_config.eos_token_id
        if ids is None:
            ids = self.tokenizer.eos_token_id
        return [ids] if isinstance(ids, int) else list(ids or [])

    def generate(self, texts: list[str], max_new_tokens: int, stop: list[str], batch_size: int,
                 static_cache: bool = False, on_result: OnResult | None = None) -> list[str]:  # fmt: skip
        """Completions of ``texts`` (already templated), in their order; cut at the first stop string."""
        encoded = self.tokenizer(texts, add_special_tokens=True)["input_ids"]
        order = sorted(range(len(texts)), key=lambda i: -len(encoded[i]))
        outputs = [""] * len(texts)
        batch_size = max(1, batch_size)
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            run = self._generate_static if static_cache else self._generate_batch
            for i, text in zip(chunk, run([encoded[i] for i in chunk], max_new_tokens, stop)):
                outputs[i] = cut_at_stop(text, stop)
                if on_result is not None:
                    on_result(i, outputs[i])
        return outputs

    def _pad(self, ids: list[list[int]]):
        import torch

        width = max(len(x) for x in ids)
        pad = self.tokenizer.pad_token_id
        input_ids = torch.tensor([[pad] * (width - len(x)) + x for x in ids], device=self.device)
        mask = torch.tensor([[0] * (width - len(x)) + [1] * len(x) for x in ids], device=self.device)
        return input_ids, mask

    def _generate_batch(self, ids: list[list[int]], max_new_tokens: int, stop: list[str]) -> list[str]:
        import torch
        from transformers import DynamicCache

        input_ids, mask = self._pad(ids)
        rows, width = input_ids.shape
        eos = torch.tensor(self.eos_ids() or [-1], device=self.device)
        # Room for the whole generation: later steps take a slice, nothing is reallocated.
        full_mask = torch.cat([mask, torch.ones(rows, max_new_tokens, dtype=mask.dtype, device=self.device)], dim=1)
        tokens = torch.zeros(rows, max_new_tokens, dtype=torch.long, device=self.device)
        alive = list(range(rows))  # original row of each row still in the batch
        lengths = [max_new_tokens] * rows  # generated tokens to keep, per original row
        tail = max((len(s) for s in stop), default=0) + self.check_every + 2  # tokens to decode for a stop check
        cache = DynamicCache()
        position = (mask.cumsum(-1) - 1).clamp(min=0)
        with torch.inference_mode():
            out = self.model(input_ids=input_ids, attention_mask=mask, position_ids=position,
                             past_key_values=cache, use_cache=True, logits_to_keep=1)  # fmt: skip
            position = position[:, -1:]
            step_rows = torch.arange(rows, device=self.device)
            for step in range(max_new_tokens):
                next_token = out.logits[:, -1, :].argmax(dim=-1)
                tokens[step_rows, step] = next_token
                if step + 1 == max_new_tokens:
                    break
                if (step + 1) % self.check_every == 0:
                    keep = self._still_running(tokens, step + 1, alive, step_rows, eos, stop, tail, lengths)
                    if not keep:
                        break
                    if len(keep) < len(alive):
                        index = torch.tensor(keep, device=self.device)
                        cache.batch_select_indices(index)
                        full_mask, position, next_token = full_mask[index], position[index], next_token[index]
                        step_rows = step_rows[index]
                        alive = [alive[k] for k in keep]
                position = position + 1
                out = self.model(input_ids=next_token[:, None], attention_mask=full_mask[:, : width + step + 1],
                                 position_ids=position, past_key_values=cache, use_cache=True)  # fmt: skip
        return self._decode(tokens, lengths, eos)

    def _still_running(self, tokens, done_steps, alive, step_rows, eos, stop, tail, lengths) -> list[int]:
        """Positions (in the current batch) of rows that hit neither EOS nor a stop string."""
        import torch

        recent = tokens[step_rows, max(0, done_steps - tail) : done_steps]
        window = recent[:, -self.check_every :]
        hit_eos = torch.isin(window, eos).any(dim=1).tolist()
        texts = self.tokenizer.batch_decode(recent.tolist(), skip_special_tokens=True) if stop else None
        keep = []
        for k, row in enumerate(alive):
            if hit_eos[k] or (texts is not None and any(s in texts[k] for s in stop)):
                lengths[row] = done_steps  # no need to look further: the text is cut at EOS/stop later
                continue
            keep.append(k)
        return keep

    def _decode(self, tokens, lengths: list[int], eos) -> list[str]:
        ids = tokens.tolist()
        eos_set = set(eos.tolist())
        rows = []
        for row, n in zip(ids, lengths):
            row = row[:n]
            cut = next((i for i, t in enumerate(row) if t in eos_set), len(row))
            rows.append(row[:cut])
        return self.tokenizer.batch_decode(rows, skip_special_tokens=True)

    def _generate_static(self, ids: list[list[int]], max_new_tokens: int, stop: list[str]) -> list[str]:
        import torch

        input_ids, mask = self._pad(ids)
        with torch.inference_mode():
            generated = self.model.generate(
                input_ids=input_ids, attention_mask=mask, do_sample=False, max_new_tokens=max_new_tokens,
                pad_token_id=self.tokenizer.pad_token_id, cache_implementation="static",
                stop_strings=stop or None, tokenizer=self.tokenizer,
            )  # fmt: skip
        new = generated[:, input_ids.shape[1] :]
        return self.tokenizer.batch_decode(new, skip_special_tokens=True)
