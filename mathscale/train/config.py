"""``TrainConfig``: every setting of ``mathscale train``, defaults spelled out in configs/train.yaml.

The command-line flags (--data, --model, --out, --deepspeed, --lora, --num-processes,
--resume) set the matching fields; ``key=value`` overrides set any field. The whole config
is written to ``<out>/mathscale_train.yaml`` before launching, and each training process
reads it back from there, so what ran is what was saved.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

DEEPSPEED_PRESETS = ("zero2", "zero3", "zero3_offload")


@dataclass
class LoraSettings:
    r: int = 16  # rank of the low-rank update
    alpha: int = 32  # scaling numerator (lora_alpha)
    dropout: float = 0.05
    target_modules: list[str] = field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    )
    merge: bool = False  # also save the base model with the adapter merged in (<out>/merged)


@dataclass
class LaunchSettings:
    launcher: Literal["auto", "accelerate", "torchrun", "deepspeed"] = "auto"  # auto: torchrun on CPU, accelerate on GPU
    device: Literal["auto", "cpu", "cuda"] = "auto"  # auto: cuda when torch sees a GPU
    num_machines: int = 1  # nodes; with >1 give hostfile or main_address
    machine_rank: int = 0  # this node's rank (multi-node launches run the command on every node)
    main_address: str = ""  # address of rank 0 for multi-node
    main_port: int = 29500
    hostfile: str = ""  # DeepSpeed-style hostfile ("host slots=N" per line) for multi-node
    accelerate_config: str = ""  # an accelerate YAML to pass as --config_file (default: configs/accelerate/<preset>.yaml)


@dataclass
class TrainConfig:
    data: str = ""  # samples JSONL (qa/1) or a folder saved by datasets.Dataset.save_to_disk
    model: str = ""  # a local HF model folder, a hub id (org/name[@revision]), or a named model (smollm2-135m)
    out: str = ""  # output folder: checkpoints, the final model, tokenizer, template, this config
    template: Literal["alpaca", "alpaca_force_ans", "chat"] = "alpaca"  # the prompt format; eval must use the same
    max_length: int = 1024  # tokens per example; longer examples are cut (the count is reported)
    packing: bool = True  # padding-free: a micro-batch is one row, position_ids restart per example
    attn_implementation: str = "auto"  # auto: flash_attention_2 on GPU when installed, else the model's default (sdpa)
    deepspeed: Literal["none", "zero2", "zero3", "zero3_offload"] = "zero2"  # preset in configs/deepspeed/
    deepspeed_config: str = ""  # a DeepSpeed JSON file instead of the preset
    num_processes: int = 0  # processes per node; 0: one per GPU, or 2 on CPU
    lora: bool = False
    lora_settings: LoraSettings = field(default_factory=LoraSettings)
    epochs: float = 3.0
    max_steps: int = -1  # >0 overrides epochs
    per_device_batch_size: int = 4  # examples per process per micro-batch
    gradient_accumulation_steps: int = 1
    learning_rate: float = 2e-5
    lr_scheduler: str = "cosine"
    warmup_ratio: float = 0.03
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    # Memory for speed: recompute each layer's activations in the backward instead of keeping
    # them. ~30% more compute per step, activation memory from O(layers) to O(1) layers, which
    # buys a larger micro-batch (often the better trade on a GPU that is short of memory).
    gradient_checkpointing: bool = False
    # bf16: half the memory and full tensor-core speed, same range as fp32, no loss scaling (A100,
    # H100, H200). fp16: for GPUs without bf16 (V100, T4); needs loss scaling and can overflow.
    # fp32: exact but slowest; what CPUs run. DeepSpeed keeps fp32 master weights either way.
    precision: Literal["auto", "bf16", "fp16", "fp32"] = "auto"  # auto: bf16 on GPU, fp32 on CPU
    # Optimizer for the Trainer (DeepSpeed wraps it): adamw_torch_fused updates all parameters in
    # a few kernels instead of one per tensor (GPU only); the ZeRO stage and its CPU offload
    # (deepspeed=zero3_offload) trade step time for memory: zero2 shards optimizer states and
    # gradients, zero3 also the weights (gathered per layer), offload moves states to host memory.
    optimizer: str = "auto"  # auto: adamw_torch_fused on GPU, adamw_torch on CPU; or any Trainer optim name
    # Keeping the device busy (issue 8). Loader workers collate the next batches while the step
    # runs; pinned host memory makes the copy to the GPU asynchronous; prefetch is per worker.
    dataloader_num_workers: int = 2  # 0: batches are built in the training process, between steps
    dataloader_prefetch_factor: int = 2  # batches each worker prepares ahead
    pin_memory: bool = True  # page-locked batches (GPU only; ignored on CPU)
    async_checkpoint: bool = True  # write checkpoints in a background thread (not under DeepSpeed or with >1 process)
    auto_batch_size: bool = False  # find the largest micro-batch that fits; accumulation keeps the global batch
    memory_budget_bytes: int = 0  # >0: simulated device memory for auto_batch_size (CPU, tests); 0: the GPU's
    seed: int = 42
    logging_steps: int = 10
    save_steps: int = 500  # checkpoint every N optimizer steps (and at the end)
    save_total_limit: int = 2
    resume: bool = False  # continue from the last checkpoint in <out>
    limit: int = 0  # use only the first N samples (0: all)
    report_to: str = "none"  # Trainer report_to (none, tensorboard, wandb)
    launch: LaunchSettings = field(default_factory=LaunchSettings)
