"""``TrainConfig``: every setting of ``mathscale train`` (``mathscale train --print-config`` lists them).

The command-line flags (--data, --model, --out, --deepspeed, --lora, --num-processes,
--num-machines, --hostfile, --resume, --auto-batch-size, --dry-run) set the matching fields;
``key=value`` overrides set any field. The whole config is written to
``<out>/mathscale_train.yaml`` before launching, and each training process reads it back
from there, so what ran is what was saved.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from mathscale.keys import in_key, not_in_key
from mathscale.templates import TemplateName

# What ``deepspeed`` may say: a preset's name, or auto / none.
DeepSpeedSetting = Literal["auto", "none", "zero2", "zero3", "zero3_offload"]


@dataclass
class LoraSettings:
    r: int = in_key(16, ge=1, help="rank of the low-rank update")
    alpha: int = in_key(32, ge=1, help="scaling numerator (lora_alpha)")
    dropout: float = in_key(0.05, ge=0, lt=1)
    target_modules: list[str] = in_key(
        factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    )
    merge: bool = in_key(False, help="also save the base model with the adapter merged in (<out>/merged)")


@dataclass
class LaunchSettings:
    launcher: Literal["auto", "accelerate", "torchrun", "deepspeed"] = not_in_key(
        "auto",
        help="auto: torchrun on CPU, accelerate on GPU",
    )
    device: Literal["auto", "cpu", "cuda"] = in_key("auto", help="auto: cuda when torch sees a GPU")
    num_machines: int = in_key(1, ge=1, help="nodes (with --hostfile or launch.main_address)")
    machine_rank: int = not_in_key(0, ge=0, help="this node's rank (multi-node launches run the command on every node)")
    main_address: str = not_in_key("", help="address of rank 0 for multi-node")
    main_port: int = not_in_key(29500, ge=1, le=65535)
    hostfile: str = not_in_key("", help="DeepSpeed hostfile for multi-node ('host slots=N' lines)")
    # an accelerate YAML to pass as --config_file; empty: the preset's, mathscale/train/presets/accelerate/<deepspeed>.yaml
    accelerate_config: str = in_key("", help="empty: the preset's, mathscale/train/presets/accelerate/<deepspeed>.yaml")


@dataclass
class TrainConfig:
    data: str = in_key("", help="samples JSONL (qa/1) or a saved datasets.Dataset folder")
    model: str = in_key(
        "",
        help="a model folder, a Hugging Face hub id (org/name[@revision]) or a named model (smollm2-135m)",
    )
    out: str = in_key("", help="output folder: checkpoints, final model, tokenizer, template, config")
    template: TemplateName = in_key("alpaca", help="the prompt format (mathscale.templates); eval must use the same")
    max_length: int = in_key(1024, ge=8, help="tokens per example; longer examples are cut (the count is reported)")
    packing: bool = in_key(True, help="padding-free: a micro-batch is one row, position_ids restart per example")
    # auto: on a GPU flash_attention_2 when flash-attn is installed, else flex_attention (a block-sparse
    # document mask built from position_ids: linear in the packed row); on CPU the model's default
    # (sdpa). sdpa/eager on a GPU attend over the whole packed row with a dense mask (quadratic).
    attn_implementation: str = in_key(
        "auto",
        help="auto: GPU flash_attention_2 if installed, else flex_attention (linear in packed rows); CPU sdpa",
    )
    # Micro-batches by tokens (packing only): each packed row takes examples up to this many tokens,
    # per_device_batch_size is then unused. -1 (auto): 16384 on a GPU, per_device_batch_size on CPU;
    # 0: always per_device_batch_size examples. --auto-batch-size searches this budget when it is set.
    max_tokens_per_batch: int = in_key(
        -1,
        help="tokens per packed micro-batch; -1: 16384 on GPU, per_device_batch_size on CPU; 0: examples",
    )
    # The loss without the fp32 logits of the whole row (16K tokens x vocabulary). liger: Liger's Triton
    # kernels (fused linear + cross-entropy, and its RMSNorm, RoPE, SwiGLU); chunked: our own chunked linear
    # + cross-entropy (mathscale.train.loss, plain PyTorch); none: the model's own loss. auto: on a GPU
    # with micro-batches of 8K+ tokens, liger when liger-kernel is installed, else chunked; otherwise
    # (smaller rows, CPU, ZeRO-3) none.
    fused_loss: Literal["auto", "liger", "chunked", "none"] = in_key(
        "auto",
        help="loss without whole-row fp32 logits; auto: GPU rows of 8K+ tokens liger (or chunked), else none",
    )
    # a preset in mathscale/train/presets/deepspeed/, or none; auto: none when the run has one process
    # in all (ZeRO has nothing to shard over and costs fp32 master weights and buffers), zero2 with several
    deepspeed: DeepSpeedSetting = in_key(
        "auto",
        help="DeepSpeed preset (shipped in mathscale/train/presets/); auto: none for a single process in all, zero2 for several",
    )
    deepspeed_config: str = in_key("", help="a DeepSpeed JSON file instead of the preset")
    num_processes: int = in_key(0, ge=0, help="processes per node; 0: one per GPU, 2 on CPU")
    lora: bool = in_key(False, help="train a LoRA adapter instead of all weights")
    lora_settings: LoraSettings = in_key(factory=LoraSettings)
    epochs: float = in_key(3.0, gt=0, passes_as="num_train_epochs")
    max_steps: int = in_key(-1, passes_as="max_steps", help=">0 overrides epochs")
    per_device_batch_size: int = in_key(4, ge=1, help="examples per process per micro-batch")
    gradient_accumulation_steps: int = in_key(1, ge=1, passes_as="gradient_accumulation_steps")
    learning_rate: float = in_key(2e-5, gt=0, passes_as="learning_rate")
    lr_scheduler: str = in_key("cosine", passes_as="lr_scheduler_type", help="a Trainer lr_scheduler_type")
    # transformers 5 reads a warmup_steps below 1 as a fraction of the steps (warmup_ratio is deprecated)
    warmup_ratio: float = in_key(0.03, ge=0, lt=1, passes_as="warmup_steps", help="share of the steps spent warming up")
    weight_decay: float = in_key(0.0, ge=0, passes_as="weight_decay")
    max_grad_norm: float = in_key(1.0, ge=0, passes_as="max_grad_norm")
    # Memory for speed: recompute each layer's activations in the backward instead of keeping
    # them. ~30% more compute per step, activation memory from O(layers) to O(1) layers, which
    # buys a larger micro-batch (often the better trade on a GPU that is short of memory).
    gradient_checkpointing: bool = not_in_key(
        False,
        help="recompute activations in backward: ~30% more compute, room for larger batches",
    )
    # bf16: half the memory and full tensor-core speed, same range as fp32, no loss scaling (A100,
    # H100, H200). fp16: for GPUs without bf16 (V100, T4); needs loss scaling and can overflow.
    # fp32: exact but slowest; what CPUs run. DeepSpeed keeps fp32 master weights either way.
    precision: Literal["auto", "bf16", "fp16", "fp32"] = in_key("auto", help="auto: bf16 on GPU, fp32 on CPU")
    # Optimizer for the Trainer (DeepSpeed wraps it): adamw_torch_fused updates all parameters in
    # a few kernels instead of one per tensor (GPU only); the ZeRO stage and its CPU offload
    # (deepspeed=zero3_offload) trade step time for memory: zero2 shards optimizer states and
    # gradients, zero3 also the weights (gathered per layer), offload moves states to host memory.
    optimizer: str = in_key(
        "auto",
        help="auto: adamw_torch_fused on GPU, adamw_torch on CPU; or any Trainer optim name",
    )
    # Keeping the device busy (issue 8). Loader workers collate the next batches while the step
    # runs; pinned host memory makes the copy to the GPU asynchronous; prefetch is per worker.
    dataloader_num_workers: int = not_in_key(
        2, ge=0,
        help="0: batches are built in the training process, between steps",
    )
    dataloader_prefetch_factor: int = not_in_key(2, ge=1, help="batches each worker prepares ahead")
    pin_memory: bool = not_in_key(True, help="page-locked batches (GPU only; ignored on CPU)")
    async_checkpoint: bool = not_in_key(
        True,
        help="write checkpoints in a background thread (not under DeepSpeed or with >1 process)",
    )
    auto_batch_size: bool = in_key(
        False,
        help="find the largest micro-batch that fits; gradient accumulation keeps the global batch",
    )
    memory_budget_bytes: int = in_key(
        0, ge=0,
        help=">0: simulated device memory for auto_batch_size (CPU, tests); 0: the GPU's",
    )
    seed: int = in_key(42, passes_as="seed", help="the Trainer's seed; the data order's too (data_seed)")
    logging_steps: int = not_in_key(10, ge=1, passes_as="logging_steps")
    save_steps: int = not_in_key(500, ge=1, passes_as="save_steps", help="checkpoint every N optimizer steps")
    # The final save is the model (or adapter), tokenizer and template. A full checkpoint (optimizer
    # state: 12 bytes per parameter) at the last step only when asked, e.g. to continue with more steps.
    save_final_checkpoint: bool = not_in_key(
        False,
        help="also a full checkpoint (optimizer state) at the last step; the model is always saved",
    )
    save_total_limit: int = not_in_key(2, passes_as="save_total_limit", help="checkpoints kept in <out>, the newest")
    resume: bool = not_in_key(False, help="continue from the last checkpoint in --out")
    dry_run: bool = not_in_key(False, help="check the inputs, print the launch command, and stop")
    limit: int = in_key(0, ge=0, help="use only the first N samples (0: all)")
    report_to: str = not_in_key("none", passes_as="report_to", help="Trainer report_to (none, tensorboard, wandb)")
    launch: LaunchSettings = in_key(factory=LaunchSettings)
    # Any other transformers.TrainingArguments, passed as they are (checked against its fields before
    # launch); not the ones the fields above set: a setting has one home.
    trainer: dict[str, Any] = in_key(
        factory=dict,
        help="more TrainingArguments as they are, e.g. {adam_beta2: 0.95, lr_scheduler_kwargs: {min_lr: 1.0e-6}}",
    )
