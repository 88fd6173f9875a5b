"""Checkpoints the step loop does not wait for: copy the state to host memory, write it in a thread.

The Trainer's own ``_save_checkpoint`` writes the model, optimizer, scheduler, RNG and trainer
state to ``checkpoint-N`` before the next step may start. Here the step loop only pays for a
copy of those states into CPU memory; a background thread writes them to
``checkpoint-N.partial`` and renames it to ``checkpoint-N`` when every file is there, so a
crash mid-write never leaves a checkpoint that ``--resume`` would pick up half-written. At
most one write is in flight: a save that comes while the previous one is still writing waits
for it (the timing breakdown shows that wait as checkpoint time). The files are the ones the
Trainer writes, so ``--resume`` loads them unchanged.

Used for single-process runs without DeepSpeed. Under DeepSpeed the engine's save is
collective (every rank writes its ZeRO shard inside the call) and is left synchronous; with
several processes the RNG files are per rank, so those runs save synchronously too.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import logging
import os
import shutil
import threading
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def to_cpu(value: Any) -> Any:
    """A deep copy of nested dicts/lists/tuples with every tensor copied into host memory."""
    import torch

    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", copy=True)
    if isinstance(value, dict):
        return {k: to_cpu(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(to_cpu(v) for v in value)
    return copy.deepcopy(value)


def async_supported(trainer: Any) -> bool:
    return trainer.is_deepspeed_enabled is False and trainer.args.world_size == 1 and not trainer.is_fsdp_enabled


def make_trainer_class():
    """``AsyncCheckpointTrainer``: a ``transformers.Trainer`` whose periodic checkpoints are asynchronous.

    It also counts the real tokens it trains on (``tokens_seen``), for throughput figures
    when batches are filled by a token budget and vary in examples, and with
    ``fused_loss="chunked"`` computes the loss without whole-row logits (mathscale.train.loss).
    """
    import torch
    from transformers import Trainer
    from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

    class AsyncCheckpointTrainer(Trainer):
        def __init__(self, *args, async_checkpoint: bool = True, fused_loss: str = "none", **kwargs):
            super().__init__(*args, **kwargs)
            self.async_checkpoint, self.fused_loss = async_checkpoint, fused_loss
            self._writer: threading.Thread | None = None
            self._write_error: BaseException | None = None
            self.checkpoint_wait_seconds = 0.0  # time saves spent waiting for the previous write
            self.tokens_seen = 0  # real tokens of the micro-batches trained on by this process

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            if self.fused_loss != "chunked" or return_outputs or "labels" not in inputs:
                return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
            from mathscale.train.loss import chunked_lm_loss

            loss = chunked_lm_loss(model, inputs, num_items_in_batch)
            # as Trainer.compute_loss does for a model that takes num_items_in_batch
            if self.args.average_tokens_across_devices and self.model_accepts_loss_kwargs and num_items_in_batch is not None:
                loss = loss * self.accelerator.num_processes
            return loss

        def training_step(self, model, inputs, *args, **kwargs):
            # Counted on the host tensors before they move to the device: no synchronisation.
            mask = inputs.get("attention_mask")
            ids = inputs["input_ids"]
            self.tokens_seen += int(mask.sum()) if mask is not None and not mask.is_cuda else int(ids.numel())
            return super().training_step(model, inputs, *args, **kwargs)

        def _save_checkpoint(self, model, trial):
            if not (self.async_checkpoint and async_supported(self)):
                return super()._save_checkpoint(model, trial)
            self.wait_for_checkpoint()
            self.store_flos()
            run_dir = Path(self._get_output_dir(trial=trial))
            final = run_dir / f"{PREFIX_CHECKPOINT_DIR}-{self.state.global_step}"
            unwrapped = self.accelerator.unwrap_model(self.model)
            snapshot = {
                "model": to_cpu(unwrapped.state_dict()),
                "optimizer": to_cpu(self.optimizer.state_dict()) if not self.args.save_only_model else None,
                "scheduler": to_cpu(self.lr_scheduler.state_dict()) if not self.args.save_only_model else None,
                "rng": _rng_state(torch),
                "trainer_state": json.dumps(dataclasses.asdict(self._exported_state()), indent=2, sort_keys=True) + "\n",
            }
            self._writer = threading.Thread(
                target=self._write, args=(unwrapped, snapshot, final, run_dir), name=f"checkpoint-{self.state.global_step}",
                daemon=False,
            )  # fmt: skip
            self._writer.start()

        def _exported_state(self):
            """The trainer state as ``_save_checkpoint`` would write it (with the stateful callbacks)."""
            from transformers.trainer_callback import ExportableState

            state = copy.deepcopy(self.state)
            for cb in [c for c in self.callback_handler.callbacks + [self.control] if isinstance(c, ExportableState)]:
                name = cb.__class__.__name__
                if isinstance(state.stateful_callbacks.get(name), list):
                    state.stateful_callbacks[name].append(cb.state())
                else:
                    state.stateful_callbacks[name] = cb.state()
            return state

        def _write(self, unwrapped, snapshot: dict, final: Path, run_dir: Path) -> None:
            from transformers.trainer_utils import rotate_checkpoints

            partial = final.with_name(final.name + ".partial")
            try:
                shutil.rmtree(partial, ignore_errors=True)
                unwrapped.save_pretrained(str(partial), state_dict=snapshot["model"])
                if self.processing_class is not None:
                    self.processing_class.save_pretrained(str(partial))
                torch.save(self.args, partial / "training_args.bin")
                if snapshot["optimizer"] is not None:
                    torch.save(snapshot["optimizer"], partial / "optimizer.pt")
                    torch.save(snapshot["scheduler"], partial / "scheduler.pt")
                torch.save(snapshot["rng"], partial / "rng_state.pth")
                (partial / "trainer_state.json").write_text(snapshot["trainer_state"], encoding="utf-8")
                if final.exists():
                    shutil.rmtree(final)
                os.replace(partial, final)
                rotate_checkpoints(output_dir=str(run_dir), save_total_limit=self.args.save_total_limit,
                                   best_model_checkpoint=self.state.best_model_checkpoint, use_mtime=False)  # fmt: skip
                log.info("wrote %s in the background", final)
            except BaseException as exc:  # surfaced on the training thread by wait_for_checkpoint
                self._write_error = exc

        def wait_for_checkpoint(self) -> None:
            """Block until the write in flight is on disk; re-raise its error here, on the training thread."""
            import time

            if self._writer is not None:
                started = time.perf_counter()
                self._writer.join()
                self.checkpoint_wait_seconds += time.perf_counter() - started
                self._writer = None
            if self._write_error is not None:
                error, self._write_error = self._write_error, None
                raise RuntimeError(f"asynchronous checkpoint write failed: {error}") from error

        def train(self, *args, **kwargs):
            try:
                return super().train(*args, **kwargs)
            finally:
                self.wait_for_checkpoint()

    return AsyncCheckpointTrainer


def _rng_state(torch) -> dict[str, Any]:
    """The RNG states in the layout ``Trainer._load_rng_state`` reads."""
    import random

    import numpy as np

    state = {"python": random.getstate(), "numpy": np.random.get_state(), "cpu": torch.random.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.random.get_rng_state()  # one process: the non-distributed layout
    return state
