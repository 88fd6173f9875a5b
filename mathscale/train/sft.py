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
from mathscale.train.config import TrainConfig
from mathscale.train.data import describe_lengths, make_collator, padding_stats, tokenized_dataset
from mathscale.train.launch import DS_CONFIG_NAME
from mathscale.train.models import resolve_train_model
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
        dataloader_num_workers=0,
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


def run(cfg: TrainConfig) -> dict[str, Any]:
    """Train as configured and save; returns the metrics rank 0 writes to ``<out>/train_metrics.json``."""
    import torch
    from transformers import AutoTokenizer, Trainer
    from transformers.trainer_utils import get_last_checkpoint

    out = Path(cfg.out)
    cuda = torch.cuda.is_available() and cfg.launch.device != "cpu"
    ds_path = out / DS_CONFIG_NAME
    ds_config = str(ds_path) if ds_path.is_file() else None
    if not cuda:
        _setup_cpu_distributed(ds_config is not None)

    model_dir = resolve_train_model(cfg.model)
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
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=dataset,
        data_collator=make_collator(tokenizer, cfg.packing),
        processing_class=tokenizer,
    )
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
