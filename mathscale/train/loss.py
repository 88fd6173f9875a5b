"""The causal-LM loss without the logits: linear head + cross-entropy, chunk by chunk.

A packed row of 16K tokens and a 49K-152K vocabulary makes fp32 logits of 3-10 GB, plus
their gradient, when the model computes its loss the ordinary way. :func:`chunked_lm_loss`
runs the decoder, then the head and the cross-entropy over a few thousand tokens at a time,
and computes each chunk's gradients (for the hidden states and the head's weight) in the same
pass, so no more than one chunk of logits exists at any moment and nothing is recomputed in
the backward. It is the same idea as Liger's fused linear cross-entropy (``fused_loss=liger``,
Triton, GPU only), in plain PyTorch, so it also runs on CPU and on GPUs without Triton.

The loss is the one transformers computes: labels shifted left by one, -100 ignored, summed
and divided by ``num_items_in_batch`` when the Trainer gives it (the label tokens of the whole
accumulated step), else the mean over this batch's label tokens.
"""

from __future__ import annotations

from typing import Any

IGNORE = -100
CHUNK_TOKENS = 2048  # rows of logits per chunk: 2048 x 152K vocabulary x 4 bytes = 1.2 GB at most


def _linear_cross_entropy():
    import torch

    class LinearCrossEntropy(torch.autograd.Function):
        """sum over tokens of CE(hidden @ weight.T, target) / denom; gradients computed in forward."""

        @staticmethod
        def forward(ctx, hidden, weight, targets, denom, chunk):
            grad_hidden = torch.empty_like(hidden)
            grad_weight = torch.zeros(weight.shape, dtype=torch.float32, device=weight.device)
            total = torch.zeros((), dtype=torch.float32, device=hidden.device)
            for start in range(0, hidden.shape[0], chunk):
                h = hidden[start : start + chunk]
                t = targets[start : start + chunk]
                logits = (h @ weight.t()).float()
                valid = t != IGNORE
                safe = torch.where(valid, t, torch.zeros_like(t))
                lse = torch.logsumexp(logits, dim=-1)
                picked = logits.gather(1, safe[:, None]).squeeze(1)
                total += ((lse - picked) * valid).sum()
                grad = torch.exp(logits - lse[:, None])  # softmax
                grad[torch.arange(len(t), device=grad.device), safe] -= 1.0
                grad *= (valid.to(grad.dtype) / denom)[:, None]
                grad_hidden[start : start + chunk] = (grad.to(weight.dtype) @ weight).to(hidden.dtype)
                grad_weight += grad.t() @ h.float()
            ctx.save_for_backward(grad_hidden, grad_weight.to(weight.dtype))
            return total / denom

        @staticmethod
        def backward(ctx, grad_output):
            grad_hidden, grad_weight = ctx.saved_tensors
            return grad_hidden * grad_output.to(grad_hidden.dtype), grad_weight * grad_output.to(grad_weight.dtype), \
                None, None, None  # fmt: skip

    return LinearCrossEntropy


def linear_cross_entropy(hidden, weight, targets, denom, chunk: int = CHUNK_TOKENS):
    """Cross-entropy of ``hidden @ weight.T`` against ``targets`` (-100 ignored), summed, over ``denom``.

    ``hidden`` is (tokens, hidden), ``weight`` the head's (vocabulary, hidden) matrix; ``denom`` a
    number or a 0-d tensor (left on the device: no synchronisation).
    """
    return _linear_cross_entropy().apply(hidden, weight, targets, denom, chunk)


def base_causal_lm(model: Any) -> Any:
    """The ``*ForCausalLM`` module inside accelerate/DeepSpeed and peft wrappers."""
    inner = getattr(model, "module", model)
    if hasattr(inner, "get_base_model"):  # peft: the base model with the LoRA layers injected
        inner = inner.get_base_model()
    return inner


def chunked_lm_loss(model: Any, inputs: dict, num_items_in_batch=None, chunk: int = CHUNK_TOKENS):
    """The causal-LM loss of ``inputs`` (with ``labels``), never materialising the whole logits."""
    import torch

    lm = base_causal_lm(model)
    labels = inputs["labels"]
    features = {k: v for k, v in inputs.items() if k != "labels"}
    hidden = lm.get_decoder()(**features).last_hidden_state
    targets = torch.cat([labels[:, 1:], torch.full_like(labels[:, :1], IGNORE)], dim=1)
    if num_items_in_batch is None:
        denom = (targets != IGNORE).sum().clamp(min=1)
    else:
        denom = num_items_in_batch
    weight = lm.get_output_embeddings().weight
    return linear_cross_entropy(hidden.reshape(-1, hidden.shape[-1]), weight, targets.reshape(-1), denom, chunk)
