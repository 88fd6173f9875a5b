"""``TrainConfig``: every setting of ``mathscale train``, defaults spelled out in configs/train.yaml.

The command-line flags (--data, --model, --out, --deepspeed, --lora, --num-processes,
--num-machines, --hostfile, --resume, --auto-batch-size, --dry-run) set the matching fields;
``key=value`` overrides set any field. The whole config is written to
``<out>/mathscale_train.yaml`` before launching, and each training process reads it back
from there, so what ran is what was saved.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from mathscale.keys import in_key, not_in_key
from mathscale.templates import TemplateName

# What ``deepspeed`` may say: a preset's name, or auto / none.
DeepSpeedSetting = Literal["auto", "none", "zero2", "zero3", "zero3_offload"]


@dataclass
class LoraSettings:
    r: int = in_key(16, ge=1)  # rank of the low-rank update
    alpha: int = in_key(32, ge=1)  # scaling numerator (lora_alpha)
    dropout: float = in_key(0.05, ge=0, lt=1)
    target_modules: list[str] = in_key(
        factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    )
    merge: bool = in_key(False)  # also save the base model with the adapter merged in (<out>/merged)


@dataclass
class LaunchSettings:
    launcher: Literal["auto", "accelerate", "torchrun", "deepspeed"] = not_in_key("auto")  # auto: torchrun on CPU, accelerate on GPU
    device: Literal["auto", "cpu", "cuda"] = in_key("auto")  # auto: cuda when torch sees a GPU
    num_machines: int = in_key(1, ge=1)  # nodes; with >1 give hostfile or main_address
    machine_rank: int = not_in_key(0, ge=0)  # this node's rank (multi-node launches run the command on every node)
    main_address: str = not_in_key("")  # address of rank 0 for multi-node
    main_port: int = not_in_key(29500, ge=1, le=65535)
    hostfile: str = not_in_key("")  # DeepSpeed-style hostfile ("host slots=N" per line) for multi-node
    # an accelerate YAML to pass as --config_file; empty: the preset's, mathscale/train/presets/accelerate/<deepspeed>.yaml
    accelerate_config: str = in_key("")


@dataclass
class TrainConfig:
    data: str = in_key("")  # samples JSONL (qa/1) or a folder saved by datasets.Dataset.save_to_disk
    model: str = in_key("")  # a local HF model folder, a hub id (org/name[@revision]), or a named model (smollm2-135m)
    out: str = in_key("")  # output folder: checkpoints, the final model, tokenizer, template, this config
    template: TemplateName = in_key("alpaca")  # the prompt format (mathscale.templates); eval must use the same
    max_length: int = in_key(1024, ge=8)  # tokens per example; longer examples are cut (the count is reported)
    packing: bool = in_key(True)  # padding-free: a micro-batch is one row, position_ids restart per example
    # auto: on a GPU flash_attention_2 when flash-attn is installed, else flex_attention (a block-sparse
    # document mask built from position_ids: linear in the packed row); on CPU the model's default
    # (sdpa). sdpa/eager on a GPU attend over the whole packed row with a dense mask (quadratic).
    attn_implementation: str = in_key("auto")
    # Micro-batches by tokens (packing only): each packed row takes examples up to this many tokens,
    # per_device_batch_size is then unused. -1 (auto): 16384 on a GPU, per_device_batch_size on CPU;
    # 0: always per_device_batch_size examples. --auto-batch-size searches this budget when it is set.
    max_tokens_per_batch: int = in_key(-1)
    # The loss without the fp32 logits of the whole row (16K tokens x vocabulary). liger: Liger's Triton
    # kernels (fused linear + cross-entropy, and its RMSNorm, RoPE, SwiGLU); chunked: our own chunked linear
    # + cross-entropy (mathscale.train.loss, plain PyTorch); none: the model's own loss. auto: on a GPU
    # with micro-batches of 8K+ tokens, liger when liger-kernel is installed, else chunked; otherwise
    # (smaller rows, CPU, ZeRO-3) none.
    fused_loss: Literal["auto", "liger", "chunked", "none"] = in_key("auto")
    # a preset in mathscale/train/presets/deepspeed/, or none; auto: none when the run has one process
    # in all (ZeRO has nothing to shard over and costs fp32 master weights and buffers), zero2 with several
    deepspeed: DeepSpeedSetting = in_key("auto")
    deepspeed_config: str = in_key("")  # a DeepSpeed JSON file instead of the preset
    num_processes: int = in_key(0, ge=0)  # processes per node; 0: one per GPU, or 2 on CPU (in the key: it sets the global batch)
    lora: bool = in_key(False)
    lora_settings: LoraSettings = in_key(factory=LoraSettings)
    epochs: float = in_key(3.0, gt=0)
    max_steps: int = in_key(-1)  # >0 overrides epochs
    per_device_batch_size: int = in_key(4, ge=1)  # examples per process per micro-batch
    gradient_accumulation_steps: int = in_key(1, ge=1)
    learning_rate: float = in_key(2e-5, gt=0)
    lr_scheduler: str = in_key("cosine")
    warmup_ratio: float = in_key(0.03, ge=0, le=1)
    weight_decay: float = in_key(0.0, ge=0)
    max_grad_norm: float = in_key(1.0, ge=0)
    # Memory for speed: recompute each layer's activations in the backward instead of keeping
    # them. ~30% more compute per step, activation memory from O(layers) to O(1) layers, which
    # buys a larger micro-batch (often the better trade on a GPU that is short of memory).
    gradient_checkpointing: bool = not_in_key(False)
    # bf16: half the memory and full tensor-core speed, same range as fp32, no loss scaling (A100,
    # H100, H200). fp16: for GPUs without bf16 (V100, T4); needs loss scaling and can overflow.
    # fp32: exact but slowest; what CPUs run. DeepSpeed keeps fp32 master weights either way.
    precision: Literal["auto", "bf16", "fp16", "fp32"] = in_key("auto")  # auto: bf16 on GPU, fp32 on CPU
    # Optimizer for the Trainer (DeepSpeed wraps it): adamw_torch_fused updates all parameters in
    # a few kernels instead of one per tensor (GPU only); the ZeRO stage and its CPU offload
    # (deepspeed=zero3_offload) trade step time for memory: zero2 shards optimizer states and
    # gradients, zero3 also the weights (gathered per layer), offload moves states to host memory.
    optimizer: str = in_key("auto")  # auto: adamw_torch_fused on GPU, adamw_torch on CPU; or any Trainer optim name
    # Keeping the device busy (issue 8). Loader workers collate the next batches while the step
    # runs; pinned host memory makes the copy to the GPU asynchronous; prefetch is per worker.
    dataloader_num_workers: int = not_in_key(2, ge=0)  # 0: batches are built in the training process, between steps
    dataloader_prefetch_factor: int = not_in_key(2, ge=1)  # batches each worker prepares ahead
    pin_memory: bool = not_in_key(True)  # page-locked batches (GPU only; ignored on CPU)
    async_checkpoint: bool = not_in_key(True)  # write checkpoints in a background thread (not under DeepSpeed or with >1 process)
    auto_batch_size: bool = in_key(False)  # find the largest micro-batch that fits; accumulation keeps the global batch
    memory_budget_bytes: int = in_key(0, ge=0)  # >0: simulated device memory for auto_batch_size (CPU, tests); 0: the GPU's
    seed: int = in_key(42)
    logging_steps: int = not_in_key(10, ge=1)
    save_steps: int = not_in_key(500, ge=1)  # checkpoint every N optimizer steps
    # The final save is the model (or adapter), tokenizer and template. A full checkpoint (optimizer
    # state: 12 bytes per parameter) at the last step only when asked, e.g. to continue with more steps.
    save_final_checkpoint: bool = not_in_key(False)
    save_total_limit: int = not_in_key(2)
    resume: bool = not_in_key(False)  # continue from the last checkpoint in <out>
    dry_run: bool = not_in_key(False)  # check every input and print the launch command, but start nothing
    limit: int = in_key(0, ge=0)  # use only the first N samples (0: all)
    report_to: str = not_in_key("none")  # Trainer report_to (none, tensorboard, wandb)
    launch: LaunchSettings = in_key(factory=LaunchSettings)
