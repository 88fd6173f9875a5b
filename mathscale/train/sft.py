"""The entry point every training process runs: ``python -m mathscale.train.sft CONFIG.yaml``.

The launcher (:mod:`mathscale.train.launch`) starts one of these per device. It reads the
saved config, tokenises the samples with the evaluation template, and hands everything to
the transformers ``Trainer`` (DeepSpeed through its ``deepspeed=`` argument, LoRA through
peft); there is no hand-written training loop. On CPU the process group is forced onto
gloo before the Trainer builds its accelerator.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any

from mathscale.config import load_config
from mathscale.io import atomic_write_json
from mathscale.train.async_ckpt import async_supported, make_trainer_class
from mathscale.train.config import TrainConfig
from mathscale.train.data import describe_lengths, make_collator, padding_stats, tokenized_dataset
from mathscale.train.launch import DS_CONFIG_NAME
from mathscale.models import model_folder
from mathscale.train.save import save_final

log = logging.getLogger(__name__)

METRICS_FILE = "train_metrics.json"


def _precision(cfg: TrainConfig, cuda: bool) -> dict[str, bool]:
    precision = cfg.precision if cfg.precision != "auto" else ("bf16" if cuda else "fp32")
    return {"bf16": precision == "bf16", "fp16": precision == "fp16"}


def _setup_cpu_distributed(deepspeed: bool) -> None:
    """gloo for CPU processes: the Trainer would otherwise ask for a backend CPUs lack."""
    if deepspeed:
        os.environ.setdefault("ACCELERATE_USE_DEEPSPEED", "true")
    from accelerate import PartialState

    PartialState(backend="gloo")


def training_arguments(cfg: TrainConfig, cuda: bool, ds_config: str | None):
    from transformers import TrainingArguments

    extra: dict[str, Any] = {}
    # transformers 5 renamed gradient_checkpointing to activation_checkpointing
    fields = TrainingArguments.__dataclass_fields__
    extra["activation_checkpointing" if "activation_checkpointing" in fields else "gradient_checkpointing"] = (
        cfg.gradient_checkpointing
    )
    if not cuda:
        extra["accelerator_config"] = {"use_configured_state": True}
    workers = cfg.dataloader_num_workers
    if workers > 0:
        extra["dataloader_prefetch_factor"] = cfg.dataloader_prefetch_factor
        extra["dataloader_persistent_workers"] = True  # no new worker processes every epoch
    optim = cfg.optimizer if cfg.optimizer != "auto" else ("adamw_torch_fused" if cuda else "adamw_torch")
    return TrainingArguments(
        output_dir=cfg.out,
        per_device_train_batch_size=cfg.per_device_batch_size,
        gradient_accumulation_steps=cfg.gradient_accumulation_steps,
        learning_rate=cfg.learning_rate,
        num_train_epochs=cfg.epochs,
        max_steps=cfg.max_steps,
        lr_scheduler_type=cfg.lr_scheduler,
        warmup_steps=cfg.warmup_ratio,  # a float below 1 is a fraction of the steps
        weight_decay=cfg.weight_decay,
        max_grad_norm=cfg.max_grad_norm,
        logging_steps=cfg.logging_steps,
        save_strategy="steps",
        save_steps=cfg.save_steps,
        save_total_limit=cfg.save_total_limit,
        seed=cfg.seed,
        data_seed=cfg.seed,
        deepspeed=ds_config,
        report_to=cfg.report_to,
        remove_unused_columns=False,
        dataloader_num_workers=workers,
        dataloader_pin_memory=cfg.pin_memory and cuda,
        optim=optim,
        disable_tqdm=True,
        **_precision(cfg, cuda),
        **extra,
    )


def load_model(model_dir: Path, cfg: TrainConfig, cuda: bool):
    """The causal LM, wrapped with LoRA when asked. Call after TrainingArguments (ZeRO-3 init)."""
    import torch
    from transformers import AutoModelForCausalLM

    dtype = torch.bfloat16 if _precision(cfg, cuda)["bf16"] else torch.float32
    extra = {}
    attn = cfg.attn_implementation
    if attn == "auto" and cuda and importlib.util.find_spec("flash_attn") is not None:
        attn = "flash_attention_2"  # varlen kernels: packed rows cost no quadratic mask
    if attn != "auto":
        extra["attn_implementation"] = attn
    model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=dtype, **extra)
    # No KV cache in the forward pass: with one, transformers does not read packed sequences
    # from position_ids and every example would attend to the ones before it. (The Trainer
    # also sets it from TrainingArguments.use_cache, default False; this keeps it explicit.)
    model.config.use_cache = False
    if cfg.lora:
        from peft import LoraConfig, get_peft_model

        lora = cfg.lora_settings
        names = {n.rsplit(".", 1)[-1] for n, _ in model.named_modules()}
        targets = [t for t in lora.target_modules if t in names]
        if not targets:
            from mathscale.errors import MathscaleError

            raise MathscaleError(f"lora_settings.target_modules {lora.target_modules} name no module of this model")
        if cfg.gradient_checkpointing:
            model.enable_input_require_grads()
        model = get_peft_model(
            model,
            LoraConfig(task_type="CAUSAL_LM", r=lora.r, lora_alpha=lora.alpha, lora_dropout=lora.dropout,
                       target_modules=targets),  # fmt: skip
        )
    return model


def _auto_batch_size(cfg: TrainConfig, model, collator, dataset, cuda: bool, world_size: int) -> TrainConfig:
    """The config with the largest fitting micro-batch, the same on every rank, and the global batch kept."""
    import dataclasses

    import torch

    from mathscale.train.batch_search import search_batch_size, split_global_batch

    device = "cuda" if cuda else "cpu"
    if cuda:
        model.to(device)
    per_device = cfg.per_device_batch_size * cfg.gradient_accumulation_steps
    zero_shards = world_size if (cfg.deepspeed in ("zero2", "zero3") or cfg.deepspeed_config) else 1
    plan = search_batch_size(model, collator, dataset, per_device, device, cfg.memory_budget_bytes,
                             2 if _precision(cfg, cuda)["bf16"] else 4, zero_shards)  # fmt: skip
    largest = plan.largest_fitting
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        value = torch.tensor([largest], device=device)
        torch.distributed.all_reduce(value, op=torch.distributed.ReduceOp.MIN)  # every rank the same plan
        largest = int(value.item())
        plan = split_global_batch(per_device, largest)
    log.warning("auto batch size: micro-batch %d fits (of at most %d tried), so per_device_batch_size=%d with "
                "gradient_accumulation_steps=%d keeps %d examples per device per step",
                largest, per_device, plan.micro_batch, plan.accumulation, per_device)  # fmt: skip
    return dataclasses.replace(cfg, per_device_batch_size=plan.micro_batch, gradient_accumulation_steps=plan.accumulation)


def _timing_callback(cfg: TrainConfig, trainer, lengths: list[int], cuda: bool, deepspeed: bool):
    import torch

    from mathscale.train.diagnose import RunSetting, cpu_count, make_diagnoser
    from mathscale.train.timing import make_timing_callback

    args = trainer.args
    setting = RunSetting(
        device="cuda" if cuda else "cpu",
        processes_per_node=int(os.environ.get("LOCAL_WORLD_SIZE", "1")),
        devices_per_node=torch.cuda.device_count() if cuda else cpu_count(),
        async_checkpoint=cfg.async_checkpoint and async_supported(trainer),
        deepspeed=deepspeed,
    )
    n = max(1, len(lengths))
    return make_timing_callback(
        out=Path(cfg.out),
        samples_per_step=args.per_device_train_batch_size * args.gradient_accumulation_steps * args.world_size,
        mean_length=sum(lengths) / n,
        mean_length_sq=sum(x * x for x in lengths) / n,
        world_size=args.world_size,
        deepspeed=deepspeed,
        on_report=make_diagnoser(Path(cfg.out), setting, trainer.is_world_process_zero()),
        tensorboard="tensorboard" in (cfg.report_to or ""),
    )


def run(cfg: TrainConfig) -> dict[str, Any]:
    """Train as configured and save; returns the metrics rank 0 writes to ``<out>/train_metrics.json``."""
    import torch
    from transformers import AutoTokenizer
    from transformers.trainer_utils import get_last_checkpoint

    out = Path(cfg.out)
    cuda = torch.cuda.is_available() and cfg.launch.device != "cpu"
    ds_path = out / DS_CONFIG_NAME
    ds_config = str(ds_path) if ds_path.is_file() else None
    if not cuda:
        _setup_cpu_distributed(ds_config is not None)

    model_dir = model_folder(cfg.model)
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    args = training_arguments(cfg, cuda, ds_config)  # before the model: ZeRO-3 partitions at load
    with args.main_process_first(desc="tokenize"):
        dataset = tokenized_dataset(cfg.data, cfg.limit, tokenizer, model_dir, cfg.template, cfg.max_length, out)
    lengths = [len(ids) for ids in dataset["input_ids"]]
    packed = padding_stats(lengths, cfg.per_device_batch_size, packing=True)
    padded = padding_stats(lengths, cfg.per_device_batch_size, packing=False)

    model = load_model(model_dir, cfg, cuda)
    collator = make_collator(tokenizer, cfg.packing)
    if cfg.auto_batch_size:
        cfg = _auto_batch_size(cfg, model, collator, dataset, cuda, args.world_size)
        args = training_arguments(cfg, cuda, ds_config)  # DeepSpeed's batch sizes are filled in here
    trainer = make_trainer_class()(
        model=model,
        args=args,
        train_dataset=dataset,
        data_collator=collator,
        processing_class=tokenizer,
        async_checkpoint=cfg.async_checkpoint,
    )
    trainer.add_callback(_timing_callback(cfg, trainer, lengths, cuda, ds_config is not None))
    if trainer.is_world_process_zero():
        log.warning("data: %s", describe_lengths(lengths))
        log.warning(
            "padding efficiency: %.1f%% with packing=%s (padded batches of %d would be %.1f%%)",
            100 * (packed if cfg.packing else padded).efficiency, cfg.packing,
            cfg.per_device_batch_size, 100 * padded.efficiency,
        )  # fmt: skip
    resume = get_last_checkpoint(str(out)) if cfg.resume else None
    started = time.perf_counter()
    result = trainer.train(resume_from_checkpoint=resume)
    seconds = time.perf_counter() - started
    saved = save_final(trainer, out, cfg.template, lora=cfg.lora)
    metrics: dict[str, Any] = {}
    if trainer.is_world_process_zero():
        losses = [(e["step"], e["loss"]) for e in trainer.state.log_history if "loss" in e]
        metrics = {
            "resumed_from": resume,
            "global_step": trainer.state.global_step,
            "train_loss": result.training_loss,
            "losses": losses,
            "seconds": seconds,
            "tokens": sum(lengths),
            "padding_efficiency": (packed if cfg.packing else padded).efficiency,
            "padding_efficiency_unpacked": padded.efficiency,
            "saved_values": saved,
            "world_size": trainer.args.world_size,
            "per_device_batch_size": trainer.args.per_device_train_batch_size,
            "gradient_accumulation_steps": trainer.args.gradient_accumulation_steps,
            "deepspeed": cfg.deepspeed_config or cfg.deepspeed,
            "lora": cfg.lora,
        }
        atomic_write_json(out / METRICS_FILE, metrics)
    trainer.accelerator.wait_for_everyone()
    return metrics


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m mathscale.train.sft <out>/mathscale_train.yaml", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # DeepSpeed calls these on every ZeRO-3 gather; torch would warn thousands of times a run.
    warnings.filterwarnings("ignore", message=r"`torch\.distributed\.\w+` is deprecated", category=FutureWarning)
    from mathscale.errors import MathscaleError

    try:
        run(load_config(TrainConfig, argv[0]))
    except MathscaleError as exc:
        print(f"mathscale: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
