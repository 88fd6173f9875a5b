"""Why a training run keeps its accelerator idle, from its step-time breakdown.

The causes are those of the ICSE 2024 study of 400 low-GPU-utilisation jobs ("An Empirical
Study on Low GPU Utilization of Deep Learning Jobs"): data operations on the training path,
a batch too small for the device, blocking checkpoints, host-to-device copies from pageable
memory, and more processes than devices. :func:`diagnose` is a pure function of a
breakdown (:mod:`mathscale.train.timing`) and the run's setting; every finding names the
setting that fixes it.
"""

from __future__ import annotations

import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from mathscale.io import atomic_write_json
from mathscale.train.artifacts import DIAGNOSIS_FILE

log = logging.getLogger(__name__)

DATA_WAIT_SHARE = 0.10  # more of the step than this spent waiting for batches is a data stall
CHECKPOINT_SHARE = 0.05
LOW_UTILIZATION_PCT = 70.0
MEMORY_ROOM = 0.5  # peak allocation below half the device: room for a larger micro-batch
HOST_GAP_SHARE = 0.05  # more of the device's time than this idle between steps, outside data waits
SMALL_STEP_PARAMS = 100_000_000  # models at least this large ...
SMALL_STEP_TOKENS = 8192  # ... keep a GPU busy only with at least this many tokens per micro-batch
DENSE_MASK_ATTENTION = ("sdpa", "eager")  # build a dense (tokens x tokens) mask over a packed row


@dataclass(frozen=True)
class Finding:
    cause: str  # short name: data_stall, small_batch, few_tokens_per_step, quadratic_attention, host_gaps,
    # checkpoint_stall, pageable_copies, oversubscribed
    evidence: str
    fix: str  # the setting to change, as key=value or a flag

    def __str__(self) -> str:
        return f"{self.cause}: {self.evidence} -> {self.fix}"


@dataclass(frozen=True)
class RunSetting:
    """What the diagnosis needs to know about the run besides its timings."""

    device: str  # cuda or cpu
    processes_per_node: int
    devices_per_node: int  # GPUs, or CPU cores
    async_checkpoint: bool
    deepspeed: bool
    packing: bool = True


def diagnose(report: dict[str, Any], setting: RunSetting) -> list[Finding]:
    """The findings that apply to one breakdown report (an interval or the whole run)."""
    found: list[Finding] = []
    share = report["share"]
    workers = report.get("dataloader_num_workers", 0)
    batch = report.get("per_device_batch_size", 1)
    accum = report.get("gradient_accumulation_steps", 1)
    if share["data_wait"] > DATA_WAIT_SHARE:
        more = max(2, 2 * workers)
        found.append(Finding(
            "data_stall",
            f"{100 * share['data_wait']:.0f}% of step time waiting for batches with {workers} loader workers",
            f"dataloader_num_workers={more} (tokenisation is cached before training; a slow collator or "
            "storage is the rest)",
        ))  # fmt: skip
    gpu = report.get("gpu", {})
    if setting.device == "cuda" and gpu:
        util = gpu.get("utilization_pct")
        room = gpu.get("max_allocated_gb", 0.0) < MEMORY_ROOM * gpu.get("memory_total_gb", 0.0)
        if room and (util is None or util < LOW_UTILIZATION_PCT):
            seen = f"GPU utilisation {util:.0f}%" if util is not None else "utilisation unknown (no NVML)"
            fix = (f"per_device_batch_size={2 * batch} gradient_accumulation_steps={max(1, accum // 2)} "
                   "or --auto-batch-size")  # fmt: skip
            found.append(Finding(
                "small_batch",
                f"{seen} with {gpu['max_allocated_gb']:.1f} of {gpu['memory_total_gb']:.1f} GiB at peak",
                fix,
            ))  # fmt: skip
        params = report.get("params", 0)
        per_micro = report.get("tokens_per_step", 0.0) / max(1, accum)
        if params >= SMALL_STEP_PARAMS and 0 < per_micro < SMALL_STEP_TOKENS:
            found.append(Finding(
                "few_tokens_per_step",
                f"{per_micro:.0f} tokens per micro-batch for a {params / 1e9:.2f}B-parameter model "
                f"(MFU {100 * report.get('mfu', 0.0):.0f}%): kernel launches and the optimizer step outweigh the math",
                f"max_tokens_per_batch={2 * SMALL_STEP_TOKENS} (or --auto-batch-size)",
            ))  # fmt: skip
        attention = report.get("attention", "")
        if setting.packing and attention in DENSE_MASK_ATTENTION:
            found.append(Finding(
                "quadratic_attention",
                f"packed rows with attn_implementation={attention}: a dense mask over the whole row, "
                "memory and time quadratic in tokens per micro-batch",
                "attn_implementation=auto (flex_attention, or flash_attention_2 when flash-attn is installed)",
            ))  # fmt: skip
        if report.get("clock") == "device" and share.get("other", 0.0) > HOST_GAP_SHARE:
            found.append(Finding(
                "host_gaps",
                f"the GPU sat idle {100 * share['other']:.0f}% of the time between steps waiting for the host "
                "(logging, callbacks, loss read-back)",
                f"logging_steps larger (now every {report.get('logging_steps', '?')} steps); fewer callbacks",
            ))  # fmt: skip
        if not report.get("dataloader_pin_memory", True):
            found.append(Finding("pageable_copies", "batches are copied to the GPU from pageable host memory",
                                 "dataloader_pin_memory=true"))  # fmt: skip
    if share["checkpoint"] > CHECKPOINT_SHARE:
        if setting.deepspeed:
            fix = "save_steps larger (DeepSpeed's checkpoint is collective and written synchronously)"
        elif not setting.async_checkpoint:
            fix = "async_checkpoint=true"
        else:
            fix = "save_steps larger (only the copy to host memory blocks; disk writes are already asynchronous)"
        found.append(Finding("checkpoint_stall", f"{100 * share['checkpoint']:.0f}% of step time saving checkpoints",
                             fix))  # fmt: skip
    if setting.processes_per_node > setting.devices_per_node:
        what = "GPUs" if setting.device == "cuda" else "CPU cores"
        found.append(Finding(
            "oversubscribed",
            f"{setting.processes_per_node} training processes on {setting.devices_per_node} {what}",
            f"--num-processes {setting.devices_per_node}",
        ))  # fmt: skip
    return found


def report_findings(findings: list[Finding], out: Path, step: int, final: bool, history: list[dict]) -> None:
    """Print the findings and (re)write ``<out>/train_diagnosis.json`` with every report so far."""
    history.append({"step": step, "final": final, "findings": [asdict(f) for f in findings]})
    atomic_write_json(Path(out) / DIAGNOSIS_FILE, {"reports": history})
    when = "whole run" if final else f"first {step} steps"
    if not findings:
        print(f"diagnosis ({when}): no cause of idle accelerator time found", flush=True)
        return
    print(f"diagnosis ({when}):", flush=True)
    for finding in findings:
        print(f"  - {finding}", flush=True)


def make_diagnoser(out: Path, setting: RunSetting, is_main: bool, after_intervals: int = 2):
    """The ``on_report`` hook for the timing callback: diagnose after ``after_intervals`` and at the end."""
    history: list[dict] = []
    seen = {"intervals": 0}

    def on_report(report: dict[str, Any], final: bool) -> None:
        if not is_main:
            return
        if not final:
            seen["intervals"] += 1
            if seen["intervals"] != after_intervals:
                return
        report_findings(diagnose(report, setting), out, report.get("step", report.get("global_step", 0)), final,
                        history)  # fmt: skip

    return on_report


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
