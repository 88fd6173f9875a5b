"""The entry point every training process runs: ``python -m mathscale.train.sft CONFIG.yaml``.

The launcher (:mod:`mathscale.train.launch`) starts one of these per device. It reads the
saved config, tokenises the samples with the evaluation template, and hands everything to
the transformers ``Trainer`` (DeepSpeed through its ``deepspeed=`` argument, LoRA through
peft); there is no hand-written training loop. On CPU the process group is forced onto
gloo before the Trainer builds its accelerator.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib.util
import json
import logging
import os
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mathscale.config import load_config
from mathscale.errors import MathscaleError
from mathscale.keys import passed_as
from mathscale.io import atomic_write_json
from mathscale.train.artifacts import DS_CONFIG_NAME, METRICS_FILE
from mathscale.train.async_ckpt import async_supported, make_trainer_class
from mathscale.train.config import TrainConfig
from mathscale.train.data import describe_lengths, make_collator, padding_stats, tokenized_dataset
from mathscale.models.hub import model_folder
from mathscale.train.save import save_final

log = logging.getLogger(__name__)


def _precision(cfg: TrainConfig, cuda: bool) -> dict[str, bool]:
    precision = cfg.precision if cfg.precision != "auto" else ("bf16" if cuda else "fp32")
    return {"bf16": precision == "bf16", "fp16": precision == "fp16"}


def _setup_cpu_distributed(deepspeed: bool) -> None:
    """gloo for CPU processes: the Trainer would otherwise ask for a backend CPUs lack."""
    if deepspeed:
        os.environ.setdefault("ACCELERATE_USE_DEEPSPEED", "true")
    from accelerate import PartialState

    PartialState(backend="gloo")


# TrainingArguments that mathscale decides itself, from fields that are not passed as they are
DERIVED_ARGUMENTS = frozenset({
    "output_dir", "per_device_train_batch_size", "data_seed", "deepspeed", "remove_unused_columns",
    "dataloader_num_workers", "dataloader_pin_memory", "dataloader_prefetch_factor", "dataloader_persistent_workers",
    "optim", "disable_tqdm", "use_liger_kernel", "bf16", "fp16", "save_strategy", "accelerator_config",
    "gradient_checkpointing", "activation_checkpointing",
})  # fmt: skip


def _passing_fields(cfg: TrainConfig) -> dict[str, str]:
    """TrainingArguments name -> the TrainConfig field declared ``passes_as`` it."""
    return {passed_as(f): f.name for f in dataclasses.fields(cfg) if passed_as(f)}


def passed_arguments(cfg: TrainConfig) -> dict[str, Any]:
    """The TrainingArguments the config gives as they are: each field declared ``passes_as``, then ``trainer``."""
    return {arg: getattr(cfg, name) for arg, name in _passing_fields(cfg).items()} | cfg.trainer


def check_trainer_section(cfg: TrainConfig) -> None:
    """Refuse ``trainer:`` keys that TrainingArguments lacks, or that a field or mathscale already sets."""
    from transformers import TrainingArguments

    known = set(TrainingArguments.__dataclass_fields__)
    by_field = _passing_fields(cfg)
    for key in cfg.trainer:
        if key in by_field:
            raise MathscaleError(f"trainer.{key}: set it as {by_field[key]} (its own key), not in trainer:")
        if key in DERIVED_ARGUMENTS:
            raise MathscaleError(f"trainer.{key}: mathscale sets this TrainingArguments field itself from its "
                                 "own keys (see `mathscale train --print-config`); remove it from trainer:")  # fmt: skip
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            raise MathscaleError(f"trainer.{key}: transformers.TrainingArguments has no such field{hint}")


def training_arguments(cfg: TrainConfig, cuda: bool, ds_config: str | None, *, max_tokens: int = 0,
                       fused_loss: str = "none"):  # fmt: skip
    """The Trainer's arguments; with a token budget a micro-batch is one group (see batching)."""
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
        per_device_train_batch_size=1 if max_tokens else cfg.per_device_batch_size,
        save_strategy="steps",
        data_seed=cfg.seed,
        deepspeed=ds_config,
        remove_unused_columns=False,
        dataloader_num_workers=workers,
        dataloader_pin_memory=cfg.pin_memory and cuda,
        optim=optim,
        disable_tqdm=True,
        use_liger_kernel=fused_loss == "liger",  # Liger's default set: fused linear+CE, RMSNorm, RoPE, SwiGLU
        **_precision(cfg, cuda),
        **extra,
        **passed_arguments(cfg),
    )


def resolve_attention(requested: str, cuda: bool) -> str | None:
    """The attention implementation to load the model with (None: the model's default).

    On a GPU never the dense packed mask: flash-attention's varlen kernels when installed,
    else flex_attention, whose block mask transformers builds from the packed position_ids
    (documents never attend to each other, and blocks outside the diagonal are skipped).
    """
    if requested != "auto":
        return requested
    if not cuda:
        return None  # CPU: sdpa; flex_attention there compiles C++ kernels per shape
    if importlib.util.find_spec("flash_attn") is not None:
        return "flash_attention_2"
    return "flex_attention"


FUSED_LOSS_TOKENS = 8192  # auto fuses the loss from this many tokens per micro-batch on


def resolve_fused_loss(requested: str, cuda: bool, zero3: bool, tokens_per_micro_batch: float = FUSED_LOSS_TOKENS) -> str:
    """liger, chunked or none: which loss computation the run uses (see TrainConfig.fused_loss).

    auto fuses only where the logits are big: below ~8K tokens per micro-batch they take a few
    GB at most, and the Triton kernels' launches cost more host time than they save (measured on
    an H100, 1.4B model, 4.5K tokens per step, where the host sets the pace: Liger 19.5K tokens/s,
    chunked 20.3K, the model's own loss 22.7K). At 16K tokens per step the GPU sets the pace and
    Liger's full set (fused linear+cross-entropy, RMSNorm, RoPE, SwiGLU) gave 1.09x the plain
    Trainer's tokens/s at 41.8 GiB peak against the Trainer's 56.2 GiB.
    """
    if requested != "auto":
        if requested == "liger" and importlib.util.find_spec("liger_kernel") is None:
            raise MathscaleError("fused_loss=liger but liger-kernel is not installed (pip install liger-kernel)")
        if requested != "none" and zero3:
            raise MathscaleError(f"fused_loss={requested} reads the head's weight outside its module, which ZeRO-3 "
                                 "partitions; use fused_loss=none (or auto) with deepspeed=zero3")  # fmt: skip
        return requested
    if not cuda or zero3 or tokens_per_micro_batch < FUSED_LOSS_TOKENS:
        return "none"
    return "liger" if importlib.util.find_spec("liger_kernel") is not None else "chunked"


def load_model(model_dir: Path, cfg: TrainConfig, cuda: bool):
    """The causal LM, wrapped with LoRA when asked. Call after TrainingArguments (ZeRO-3 init)."""
    import torch
    from transformers import AutoModelForCausalLM

    dtype = torch.bfloat16 if _precision(cfg, cuda)["bf16"] else torch.float32
    extra = {}
    attn = resolve_attention(cfg.attn_implementation, cuda)
    if attn is not None:
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
            raise MathscaleError(f"lora_settings.target_modules {lora.target_modules} name no module of this model")
        if cfg.gradient_checkpointing:
            model.enable_input_require_grads()
        model = get_peft_model(
            model,
            LoraConfig(task_type="CAUSAL_LM", r=lora.r, lora_alpha=lora.alpha, lora_dropout=lora.dropout,
                       target_modules=targets),  # fmt: skip
        )
    return model


def _auto_batch_size(cfg: TrainConfig, model, collator, dataset, cuda: bool, world_size: int,
                     max_tokens: int) -> tuple[TrainConfig, int]:  # fmt: skip
    """The config with the largest fitting micro-batch, the same on every rank, and the global batch kept.

    With a token budget in force the search is over that budget (in steps of 1,024 tokens, up to
    the configured one) and the global batch is the budget's; otherwise over examples per micro-batch.
    Returns the new config and the token budget (0 when sizing by examples).
    """
    import dataclasses

    import torch

    from mathscale.train.batch_search import search_batch_size, search_token_budget, split_global_batch

    device = "cuda" if cuda else "cpu"
    if cuda:
        model.to(device)
    zero_shards = world_size if (cfg.deepspeed in ("zero2", "zero3") or cfg.deepspeed_config) else 1
    bytes_per_value = 2 if _precision(cfg, cuda)["bf16"] else 4

    def same_on_every_rank(value: int) -> int:
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            tensor = torch.tensor([value], device=device)
            torch.distributed.all_reduce(tensor, op=torch.distributed.ReduceOp.MIN)
            return int(tensor.item())
        return value

    if max_tokens:
        budget = same_on_every_rank(search_token_budget(model, collator, dataset, max_tokens, device,
                                                        cfg.memory_budget_bytes, bytes_per_value, zero_shards))  # fmt: skip
        log.warning("auto batch size: micro-batches of up to %d tokens fit (of at most %d tried)", budget, max_tokens)
        return dataclasses.replace(cfg, max_tokens_per_batch=budget), budget
    per_device = cfg.per_device_batch_size * cfg.gradient_accumulation_steps
    plan = search_batch_size(model, collator, dataset, per_device, device, cfg.memory_budget_bytes,
                             bytes_per_value, zero_shards)  # fmt: skip
    largest = same_on_every_rank(plan.largest_fitting)
    plan = split_global_batch(per_device, largest)
    log.warning("auto batch size: micro-batch %d fits (of at most %d tried), so per_device_batch_size=%d with "
                "gradient_accumulation_steps=%d keeps %d examples per device per step",
                largest, per_device, plan.micro_batch, plan.accumulation, per_device)  # fmt: skip
    replaced = dataclasses.replace(cfg, per_device_batch_size=plan.micro_batch, gradient_accumulation_steps=plan.accumulation)
    return replaced, 0


def _timing_callback(cfg: TrainConfig, trainer, lengths: list[int], cuda: bool, deepspeed: bool, attention: str):
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
        packing=cfg.packing,
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
        count_tokens=lambda: trainer.tokens_seen,
        attention=attention,
    )


def _final_checkpoint_callback(save_final_checkpoint: bool):
    """Drops the Trainer's automatic full checkpoint at the last step unless it is asked for.

    transformers saves a checkpoint (weights, optimizer and scheduler state) when training stops
    with save_strategy=steps; for a 1.4B model under ZeRO that is ~17 GB of optimizer state
    written after the last step, most of a short run's time. The final model is saved anyway.
    """
    from transformers import TrainerCallback

    class FinalCheckpoint(TrainerCallback):
        def on_step_end(self, args, state, control, **kw):
            last = state.global_step >= state.max_steps
            periodic = args.save_steps > 0 and state.global_step % args.save_steps == 0
            if last and not periodic and not save_final_checkpoint:
                control.should_save = False
            return control

    return FinalCheckpoint()


@dataclass
class Prepared:
    """A Trainer ready to train as configured, and what the run's report needs."""

    cfg: TrainConfig
    trainer: Any
    lengths: list[int]
    packed: Any  # PaddingStats with packing
    padded: Any  # PaddingStats without
    max_tokens: int  # the token budget per micro-batch in force (0: example counts)
    attention: str
    fused_loss: str


def prepare(cfg: TrainConfig) -> Prepared:
    """Tokenise (cached), load the model, size the batches and build the Trainer; no training yet."""
    import torch
    from transformers import AutoTokenizer

    from mathscale.train.batching import GroupCollator, TokenBatches, group_by_tokens, group_stats, resolve_max_tokens

    out = Path(cfg.out)
    cuda = torch.cuda.is_available() and cfg.launch.device != "cpu"
    ds_path = out / DS_CONFIG_NAME
    ds_config = str(ds_path) if ds_path.is_file() else None
    if not cuda:
        _setup_cpu_distributed(ds_config is not None)
    zero3 = ds_config is not None and json.loads(ds_path.read_text(encoding="utf-8")).get(
        "zero_optimization", {}).get("stage") == 3  # fmt: skip
    max_tokens = resolve_max_tokens(cfg.max_tokens_per_batch, cuda, cfg.packing)

    model_dir = model_folder(cfg.model)
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    args = training_arguments(cfg, cuda, ds_config, max_tokens=max_tokens)  # before the model: ZeRO-3 partitions at load
    with args.main_process_first(desc="tokenize"):
        dataset = tokenized_dataset(cfg.data, cfg.limit, tokenizer, model_dir, cfg.template, cfg.max_length, out)
    lengths = [len(ids) for ids in dataset["input_ids"]]
    per_micro = max_tokens or cfg.per_device_batch_size * sum(lengths) / max(1, len(lengths))
    fused_loss = resolve_fused_loss(cfg.fused_loss, cuda, zero3, per_micro)
    if fused_loss == "liger" and not args.use_liger_kernel:
        args = training_arguments(cfg, cuda, ds_config, max_tokens=max_tokens, fused_loss=fused_loss)
    packed = padding_stats(lengths, cfg.per_device_batch_size, packing=True)
    padded = padding_stats(lengths, cfg.per_device_batch_size, packing=False)

    model = load_model(model_dir, cfg, cuda)
    collator = make_collator(tokenizer, cfg.packing)
    if cfg.auto_batch_size:
        cfg, max_tokens = _auto_batch_size(cfg, model, collator, dataset, cuda, args.world_size, max_tokens)
        args = training_arguments(cfg, cuda, ds_config, max_tokens=max_tokens, fused_loss=fused_loss)
    train_data = dataset
    if max_tokens:
        groups = group_by_tokens(lengths, max_tokens, cfg.seed)
        train_data, collator = TokenBatches(dataset, groups), GroupCollator(collator)
        stats = group_stats(groups, lengths)
        log.warning("batches by tokens: %d micro-batches of up to %d tokens (mean %.0f tokens, %.1f examples)",
                    stats["groups"], max_tokens, stats["tokens_per_group"], stats["examples_per_group"])  # fmt: skip
    trainer = make_trainer_class()(
        model=model,
        args=args,
        train_dataset=train_data,
        data_collator=collator,
        processing_class=tokenizer,
        async_checkpoint=cfg.async_checkpoint,
        fused_loss=fused_loss,
    )
    attention = getattr(getattr(model, "config", None), "_attn_implementation", "") or ""
    trainer.add_callback(_timing_callback(cfg, trainer, lengths, cuda, ds_config is not None, attention))
    trainer.add_callback(_final_checkpoint_callback(cfg.save_final_checkpoint))
    return Prepared(cfg, trainer, lengths, packed, padded, max_tokens, attention, fused_loss)


def run(cfg: TrainConfig) -> dict[str, Any]:
    """Train as configured and save; returns the metrics rank 0 writes to ``<out>/train_metrics.json``."""
    from transformers.trainer_utils import get_last_checkpoint

    prepared = prepare(cfg)
    cfg, trainer, lengths = prepared.cfg, prepared.trainer, prepared.lengths
    packed, padded, out = prepared.packed, prepared.padded, Path(cfg.out)
    if trainer.is_world_process_zero():
        log.warning("data: %s", describe_lengths(lengths))
        log.warning("attention %s, loss %s", prepared.attention or "default", prepared.fused_loss)
        log.warning(
            "padding efficiency: %.1f%% with packing=%s (padded batches of %d would be %.1f%%)",
            100 * (packed if cfg.packing else padded).efficiency, cfg.packing,
            cfg.per_device_batch_size, 100 * padded.efficiency,
        )  # fmt: skip
    resume = get_last_checkpoint(str(out)) if cfg.resume else None
    started = time.perf_counter()
    result = trainer.train(resume_from_checkpoint=resume)
    seconds = time.perf_counter() - started
    started = time.perf_counter()
    saved = save_final(trainer, out, cfg.template, lora=cfg.lora)
    save_seconds = time.perf_counter() - started
    metrics: dict[str, Any] = {}
    if trainer.is_world_process_zero():
        losses = [(e["step"], e["loss"]) for e in trainer.state.log_history if "loss" in e]
        metrics = {
            "resumed_from": resume,
            "global_step": trainer.state.global_step,
            "train_loss": result.training_loss,
            "losses": losses,
            "seconds": seconds,
            "save_seconds": save_seconds,
            "tokens": sum(lengths),
            "tokens_trained": trainer.tokens_seen * trainer.args.world_size,
            "padding_efficiency": (packed if cfg.packing else padded).efficiency,
            "padding_efficiency_unpacked": padded.efficiency,
            "saved_values": saved,
            "world_size": trainer.args.world_size,
            "per_device_batch_size": trainer.args.per_device_train_batch_size,
            "max_tokens_per_batch": prepared.max_tokens,
            "gradient_accumulation_steps": trainer.args.gradient_accumulation_steps,
            "deepspeed": cfg.deepspeed_config or cfg.deepspeed,
            "attention": prepared.attention,
            "fused_loss": prepared.fused_loss,
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
    try:
        run(load_config(TrainConfig, argv[0]))
    except MathscaleError as exc:
        print(f"mathscale: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
