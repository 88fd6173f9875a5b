"""Where a training step's time goes: a ``TrainerCallback`` that splits the wall clock.

The transformers Trainer calls its callbacks at fixed points of every optimizer step::

    [log] [evaluate] [save]  fetch batches  on_step_begin  forward+backward (x accumulation)
      clip  on_pre_optimizer_step  optimizer.step  on_optimizer_step  scheduler, zero_grad  on_step_end

so the time between two consecutive callbacks belongs to one phase: up to ``on_step_begin``
is waiting for data (the Trainer fetches all micro-batches of a step before it begins;
for the first step that is ``startup``, which includes starting the loader workers),
``on_step_begin`` -> ``on_pre_optimizer_step`` is forward and backward, and so on; the time
that ends in ``on_log``/``on_evaluate``/``on_save`` is logging, evaluation and checkpointing.
The phases tile the interval from ``on_train_begin`` to ``on_train_end`` exactly, and
whatever is not attributed to a named phase is ``other``, so the parts always sum to the
measured wall time.

On a GPU the boundaries do not synchronise the device (that would stall the host at every
callback and throw away the overlap of launching step k+1 while step k runs). Each mark
records a CUDA event in the stream instead, and the events are read only at report points
(every ``logging_steps``): the phases are then *device* time between consecutive events,
which tile the device's timeline. A gap between one step's end and the next step's begin
is time the device sat idle waiting for the host (data, logging, callbacks): it shows as
``data_wait`` (or ``other``). The host's own clock is kept beside it (``host_seconds``),
and the callback measures itself: ``timing_overhead_seconds`` is the host time spent in
its marks and reports (including the one synchronisation per report).

Under DeepSpeed the engine steps the optimizer inside ``backward``, so ``optimizer`` is then
part of ``forward_backward`` (the report says so), and gradient communication is inside it too.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mathscale.io import atomic_write_json
from mathscale.train.artifacts import BREAKDOWN_FILE

log = logging.getLogger(__name__)

PHASES = ("startup", "data_wait", "forward_backward", "optimizer", "checkpoint", "evaluation", "other")

# Dense bf16 peak FLOP/s per GPU (no sparsity), by a substring of torch.cuda.get_device_name().
PEAK_BF16_FLOPS = {"H200": 989e12, "H100": 989e12, "A100": 312e12, "L40S": 362e12, "A10G": 125e12}


@dataclass(frozen=True)
class ModelShape:
    """What the FLOP count needs: parameters, layers, hidden size."""

    params: int
    layers: int
    hidden: int

    def flops_per_example(self, length: float, length_sq: float) -> float:
        """Training FLOPs of one example: 6 N per token (forward 2N, backward 4N) plus causal attention.

        Attention scores and the weighted sum cost 2 x 2 x n^2 x d per layer forward for a
        full mask, half of that causal, x3 with the backward: 6 L d n^2 for an example of n tokens.
        ``length`` and ``length_sq`` are the mean n and the mean n^2 of the examples.
        """
        return 6 * self.params * length + 6 * self.layers * self.hidden * length_sq


def model_shape(model: Any) -> ModelShape:
    config = getattr(model, "config", None)
    params = sum(int(getattr(p, "ds_numel", p.numel())) for p in model.parameters())
    return ModelShape(
        params=params,
        layers=int(getattr(config, "num_hidden_layers", 0) or 0),
        hidden=int(getattr(config, "hidden_size", 0) or 0),
    )


def peak_flops(device_name: str) -> float | None:
    for key, value in PEAK_BF16_FLOPS.items():
        if key in device_name:
            return value
    return None


def gpu_reading() -> dict[str, Any]:
    """GPU utilisation (NVML, when torch can reach it) and memory of this process's device."""
    import torch

    if not torch.cuda.is_available():
        return {}
    reading: dict[str, Any] = {"device": torch.cuda.get_device_name()}
    free, total = torch.cuda.mem_get_info()
    reading["memory_total_gb"] = total / 2**30
    reading["memory_used_gb"] = (total - free) / 2**30
    reading["max_allocated_gb"] = torch.cuda.max_memory_allocated() / 2**30
    try:
        reading["utilization_pct"] = float(torch.cuda.utilization())
    except Exception:  # no NVML bindings (nvidia-ml-py) installed
        pass
    return reading


@dataclass
class Interval:
    """Seconds per phase over some steps."""

    steps: int = 0
    seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(PHASES, 0.0))

    @property
    def total(self) -> float:
        return sum(self.seconds.values())

    def add(self, phase: str, seconds: float) -> None:
        self.seconds[phase] += seconds


class StepTimer:
    """The callback's clock: ``mark(phase)`` charges the time since the last mark to ``phase``.

    With ``event_factory`` (``torch.cuda.Event`` on a GPU) every mark also records a device
    event; :meth:`resolve` (at report points only) waits for the last one and charges the
    device time between consecutive events to the phases, so ``total``/``window`` hold device
    time and ``host_total``/``host_window`` the host clock. Without it both are the host clock.
    ``overhead`` is the host time spent inside marks and resolves.
    """

    def __init__(self, event_factory=None, clock=time.perf_counter):
        self.clock, self.event_factory = clock, event_factory
        self.last = clock()
        self.total, self.window = Interval(), Interval()
        self.host_total, self.host_window = Interval(), Interval()
        self.overhead = 0.0
        self._pending: list[tuple[str, Any]] = []  # (phase, event at the phase's end)
        self._anchor = self._record()

    @property
    def on_device(self) -> bool:
        return self.event_factory is not None

    def _record(self):
        if self.event_factory is None:
            return None
        event = self.event_factory(enable_timing=True)
        event.record()
        return event

    def mark(self, phase: str) -> None:
        now = self.clock()
        for interval in (self.host_total, self.host_window):
            interval.add(phase, now - self.last)
        if self.on_device:
            self._pending.append((phase, self._record()))
        else:
            self.total.add(phase, now - self.last)
            self.window.add(phase, now - self.last)
        self.last = now  # the phases keep tiling the wall time; the mark's own cost is counted apart
        self.overhead += self.clock() - now

    def resolve(self) -> None:
        """Charge the device time of the marks so far (one wait for the last event)."""
        if not self._pending:
            return
        started = self.clock()
        self._pending[-1][1].synchronize()
        for phase, event in self._pending:
            seconds = self._anchor.elapsed_time(event) / 1000.0
            self.total.add(phase, seconds)
            self.window.add(phase, seconds)
            self._anchor = event
        self._pending.clear()
        self.overhead += self.clock() - started

    def step_done(self) -> None:
        for interval in (self.total, self.window, self.host_total, self.host_window):
            interval.steps += 1

    def take_window(self) -> tuple[Interval, Interval]:
        """The (device or host) window and the host window since the last take; resolves first."""
        self.resolve()
        window, self.window = self.window, Interval()
        host, self.host_window = self.host_window, Interval()
        return window, host


def make_timing_callback(**kwargs):
    """A :class:`StepTimingCallback`; the transformers import happens here, not at module import."""
    from transformers import TrainerCallback

    class StepTimingCallback(TrainerCallback):
        """Splits every step's wall time into phases; reports per logging interval and at the end.

        ``samples_per_step`` (global), ``mean_length``/``mean_length_sq`` (tokens of an example)
        turn steps into throughput and FLOPs; ``on_report(summary, final)`` receives each
        interval's summary (the diagnosis hooks in there). ``count_tokens`` (optional) returns
        the real tokens this process has trained on so far, for batches whose size varies
        (token budgets); tokens then come from it rather than from the mean length.
        """

        def __init__(self, out: Path, samples_per_step: int, mean_length: float, mean_length_sq: float,
                     world_size: int = 1, deepspeed: bool = False, on_report=None, tensorboard: bool = False,
                     count_tokens=None, attention: str = ""):  # fmt: skip
            self.out, self.samples_per_step, self.world_size = Path(out), samples_per_step, world_size
            self.count_tokens, self.attention = count_tokens, attention
            self._tokens_at = {"total": 0, "window": 0}
            self.mean_length, self.mean_length_sq = mean_length, mean_length_sq
            self.deepspeed, self.on_report, self.tensorboard = deepspeed, on_report, tensorboard
            self.timer: StepTimer | None = None
            self.shape: ModelShape | None = None
            self.intervals: list[dict[str, Any]] = []
            self.started = 0.0
            self.summary: dict[str, Any] = {}
            self._writer = None

        # -- clock ------------------------------------------------------------------------
        def on_train_begin(self, args, state, control, model=None, **kw):
            import torch

            on_gpu = torch.cuda.is_available() and args.device.type == "cuda"
            self.timer = StepTimer(torch.cuda.Event if on_gpu else None)
            self.started = self.timer.last
            if model is not None:
                self.shape = model_shape(model)
            if self.tensorboard and state.is_world_process_zero:
                try:
                    from torch.utils.tensorboard import SummaryWriter

                    self._writer = SummaryWriter(str(Path(getattr(args, "logging_dir", None) or self.out / "runs") / "breakdown"))
                except ImportError:
                    log.warning("report_to asks for tensorboard but it is not installed; breakdown not sent there")

        def on_step_begin(self, args, state, control, **kw):
            # The first batch also waits for the loader workers to start (and, on resume, for the
            # skipped batches): a one-off cost, kept apart so it does not read as a data stall.
            self.timer.mark("startup" if self.timer.total.steps == 0 else "data_wait")

        def on_pre_optimizer_step(self, args, state, control, **kw):
            self.timer.mark("forward_backward")

        def on_optimizer_step(self, args, state, control, **kw):
            self.timer.mark("optimizer")

        def on_step_end(self, args, state, control, **kw):
            self.timer.mark("other")
            self.timer.step_done()

        def on_evaluate(self, args, state, control, **kw):
            self.timer.mark("evaluation")

        def on_save(self, args, state, control, **kw):
            self.timer.mark("checkpoint")

        def on_log(self, args, state, control, logs=None, **kw):
            self.timer.mark("other")
            if logs is None or "loss" not in logs or self.timer.window.steps == 0:
                return
            report = self.describe(*self.timer.take_window(), args, tokens=self._tokens("window"))
            report["step"] = state.global_step
            self.intervals.append(report)
            if state.is_world_process_zero:
                log.warning("step time: %s", one_line(report))
                if self._writer is not None:
                    for phase, share in report["share"].items():
                        self._writer.add_scalar(f"breakdown/{phase}_share", share, state.global_step)
                    self._writer.add_scalar("breakdown/step_seconds", report["step_seconds"], state.global_step)
                    if "mfu" in report:
                        self._writer.add_scalar("breakdown/mfu", report["mfu"], state.global_step)
            if self.on_report is not None:
                self.on_report(report, final=False)

        def on_train_end(self, args, state, control, **kw):
            self.timer.mark("other")
            self.timer.resolve()
            wall = self.timer.last - self.started
            self.summary = self.describe(self.timer.total, self.timer.host_total, args, tokens=self._tokens("total"))
            self.summary.update(wall_seconds=wall, intervals=self.intervals, global_step=state.global_step,
                                world_size=self.world_size, deepspeed=self.deepspeed)  # fmt: skip
            if self.deepspeed:
                self.summary["note"] = ("DeepSpeed steps the optimizer inside backward: 'optimizer' time is "
                                        "counted in 'forward_backward', with gradient communication")  # fmt: skip
            if state.is_world_process_zero:
                atomic_write_json(self.out / BREAKDOWN_FILE, self.summary)
                print(format_summary(self.summary), flush=True)
                if self._writer is not None:
                    self._writer.close()
            if self.on_report is not None:
                self.on_report(self.summary, final=True)

        # -- figures ----------------------------------------------------------------------
        def _tokens(self, span: str) -> float | None:
            """Real tokens since the last call for this span (all processes), or None if not counted."""
            if self.count_tokens is None:
                return None
            now = self.count_tokens() * self.world_size
            seen, self._tokens_at[span] = now - self._tokens_at[span], now
            if span == "window":
                return seen
            return now

        def describe(self, interval: Interval, host: Interval, args, tokens: float | None = None) -> dict[str, Any]:
            started = time.perf_counter()
            total = interval.total
            steps = max(1, interval.steps)
            samples = interval.steps * self.samples_per_step
            tokens = samples * self.mean_length if tokens is None else tokens
            report: dict[str, Any] = {
                "steps": interval.steps,
                "seconds": dict(interval.seconds),
                "measured_seconds": total,
                "share": {k: (v / total if total else 0.0) for k, v in interval.seconds.items()},
                "step_seconds": total / steps,
                "samples_per_s": samples / total if total else 0.0,
                "tokens": tokens,
                "tokens_per_step": tokens / steps,
                "tokens_per_s": tokens / total if total else 0.0,
                "clock": "device" if self.timer is not None and self.timer.on_device else "host",
                "host_seconds": dict(host.seconds),
                "attention": self.attention,
                "per_device_batch_size": args.per_device_train_batch_size,
                "gradient_accumulation_steps": args.gradient_accumulation_steps,
                "dataloader_num_workers": args.dataloader_num_workers,
                "dataloader_pin_memory": bool(args.dataloader_pin_memory),
                "logging_steps": args.logging_steps,
            }
            gpu = gpu_reading()
            if gpu:
                report["gpu"] = gpu
                if self.shape is not None and total:
                    flops = tokens / self.mean_length * self.shape.flops_per_example(self.mean_length, self.mean_length_sq)
                    per_device = flops / total / max(1, self.world_size)
                    report["tflops_per_device"] = per_device / 1e12
                    peak = peak_flops(gpu["device"])
                    if peak:
                        report["mfu"] = per_device / peak
            if self.shape is not None:
                report["params"], report["layers"] = self.shape.params, self.shape.layers
            if self.timer is not None:
                self.timer.overhead += time.perf_counter() - started
                report["timing_overhead_seconds"] = self.timer.overhead
            return report

    return StepTimingCallback(**kwargs)


def one_line(report: dict[str, Any]) -> str:
    shares = " ".join(f"{k} {100 * v:.0f}%" for k, v in report["share"].items() if v >= 0.005)
    extra = f", MFU {100 * report['mfu']:.1f}%" if "mfu" in report else ""
    if "utilization_pct" in report.get("gpu", {}):
        extra += f", GPU util {report['gpu']['utilization_pct']:.0f}%"
    return (f"{report['step_seconds']:.3f} s/step ({shares}), {report['samples_per_s']:.1f} samples/s, "
            f"{report['tokens_per_s']:.0f} tokens/s{extra}")  # fmt: skip


def format_summary(summary: dict[str, Any]) -> str:
    lines = [f"step-time breakdown over {summary['steps']} steps, {summary['measured_seconds']:.1f} s:"]
    for phase in PHASES:
        lines.append(f"  {phase:<17}{summary['seconds'][phase]:9.2f} s  {100 * summary['share'][phase]:5.1f}%")
    lines.append(f"  {one_line(summary)}")
    if "tflops_per_device" in summary:
        lines.append(f"  {summary['tflops_per_device']:.1f} TFLOP/s per device")
    if "gpu" in summary:
        gpu = summary["gpu"]
        lines.append(f"  {gpu['device']}: {gpu['max_allocated_gb']:.1f} of {gpu['memory_total_gb']:.1f} GiB peak allocated")
    if "timing_overhead_seconds" in summary:
        lines.append(f"  timing itself ({summary['clock']} clock): {summary['timing_overhead_seconds']:.3f} s of host time")
    if "note" in summary:
        lines.append(f"  note: {summary['note']}")
    return "\n".join(lines)
