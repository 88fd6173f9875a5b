"""Turn a :class:`TrainConfig` into the exact distributed launch command, after checking the inputs.

Every process runs ``python -m mathscale.train.sft <out>/mathscale_train.yaml``; what
starts them depends on where we run:

- CPU (tests, laptops): ``torchrun --nproc_per_node P`` over gloo (``accelerate launch
  --cpu`` starts only one process);
- GPUs on one or many nodes: ``accelerate launch`` with the preset's DeepSpeed accelerate
  config (``presets/accelerate/``); for many nodes either run the same command on every
  node with its ``machine_rank`` (SLURM: see ``configs/slurm_train.sh``), or give a
  ``hostfile`` and the ``deepspeed`` launcher starts every node over ssh/pdsh from this one.

The presets (``presets/deepspeed/<name>.json`` and ``presets/accelerate/<name>.yaml``)
are package data of ``mathscale.train``, found with importlib.resources, so an installed
wheel has them as well as a checkout. Nothing here imports torch unless it must count devices.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from mathscale.errors import MathscaleError
from mathscale.train.artifacts import DS_CONFIG_NAME
from mathscale.train.config import TrainConfig


@dataclass(frozen=True)
class Launch:
    argv: list[str]
    env: dict[str, str]  # variables to set on top of the current environment
    device: str  # cpu or cuda
    num_processes: int  # per node

    def shell(self) -> str:
        prefix = " ".join(f"{k}={shlex.quote(v)}" for k, v in sorted(self.env.items()))
        return (prefix + " " if prefix else "") + shlex.join(self.argv)


PRESET_SUFFIX = {"deepspeed": ".json", "accelerate": ".yaml"}  # kind of preset -> its files' suffix


def preset_path(kind: str, name: str) -> Path:
    """The file of a preset that ships in the package: ``preset_path("deepspeed", "zero2")`` ->
    ``.../mathscale/train/presets/deepspeed/zero2.json``, in a checkout and in an installed wheel alike."""
    path = Path(str(resources.files("mathscale.train") / "presets" / kind / f"{name}{PRESET_SUFFIX[kind]}"))
    if not path.is_file():
        raise MathscaleError(f"{path}: the {kind} preset {name!r} is missing from this installation of mathscale")
    return path


def deepspeed_source(cfg: TrainConfig) -> Path | None:
    """The file the run's DeepSpeed config comes from: ``deepspeed_config``, else the preset (None: no DeepSpeed)."""
    if cfg.deepspeed_config:
        return Path(cfg.deepspeed_config)
    if cfg.deepspeed == "auto":
        raise ValueError("deepspeed=auto: make it concrete with resolve_deepspeed first")
    if cfg.deepspeed == "none":
        return None
    return preset_path("deepspeed", cfg.deepspeed)


def load_deepspeed_config(cfg: TrainConfig) -> dict | None:
    """The DeepSpeed config as a dict (None without DeepSpeed); a file that does not parse is an error."""
    path = deepspeed_source(cfg)
    if path is None:
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MathscaleError(f"{path}: DeepSpeed config not found (option deepspeed_config)") from None
    except json.JSONDecodeError as exc:
        raise MathscaleError(f"{path}:{exc.lineno}: DeepSpeed config is not valid JSON ({exc.msg})") from None
    if not isinstance(data, dict) or not isinstance(data.get("zero_optimization", {}), dict):
        raise MathscaleError(f"{path}: a DeepSpeed config must be a JSON object with a zero_optimization section")
    stage = data.get("zero_optimization", {}).get("stage", 0)
    if stage not in (0, 1, 2, 3):
        raise MathscaleError(f"{path}: zero_optimization.stage must be 0-3, got {stage!r}")
    return data


def resolve_deepspeed(cfg: TrainConfig, nproc: int) -> TrainConfig:
    """``deepspeed=auto`` made concrete: none for one process in all, zero2 for several."""
    import dataclasses

    if cfg.deepspeed != "auto":
        return cfg
    total = nproc * max(1, cfg.launch.num_machines)
    return dataclasses.replace(cfg, deepspeed="zero2" if total > 1 or cfg.launch.hostfile else "none")


def resolve_device(cfg: TrainConfig) -> str:
    if cfg.launch.device != "auto":
        return cfg.launch.device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def local_devices(device: str) -> int:
    if device == "cuda":
        import torch

        return torch.cuda.device_count()
    return os.cpu_count() or 1


def resolve_num_processes(cfg: TrainConfig, device: str, *, check_devices: bool) -> int:
    """Processes per node: as asked, else one per GPU (2 on CPU); more than there are devices is an error."""
    if cfg.num_processes < 0:
        raise MathscaleError(f"num_processes must be >= 1 (or 0 for one per device), got {cfg.num_processes}")
    if not check_devices:
        return cfg.num_processes or (2 if device == "cpu" else 1)
    have = local_devices(device)
    if device == "cuda" and have == 0:
        raise MathscaleError("launch.device=cuda but torch sees no GPU here; use launch.device=cpu or --dry-run")
    wanted = cfg.num_processes or (min(2, have) if device == "cpu" else have)
    if device == "cpu" and cfg.deepspeed == "none" and not cfg.deepspeed_config and wanted > 1:
        # Seen with transformers 5.23: plain DDP over gloo logs twice the loss and gradient norm.
        raise MathscaleError("on CPU, several processes need DeepSpeed (--deepspeed zero2 or zero3); "
                             "with --deepspeed none use --num-processes 1")  # fmt: skip
    if wanted > have:
        what = "GPUs" if device == "cuda" else "CPU cores"
        raise MathscaleError(f"--num-processes {wanted} but this machine has {have} {what}; use at most {have}")
    return wanted


def build_launch(cfg: TrainConfig, config_path: Path, device: str, nproc: int) -> Launch:
    """The command that starts ``nproc`` processes per node running the SFT entry point."""
    entry = ["-m", "mathscale.train.sft", str(config_path)]
    launch = cfg.launch
    launcher = launch.launcher
    if launcher == "auto":
        launcher = "torchrun" if device == "cpu" else ("deepspeed" if launch.hostfile else "accelerate")
    if launch.num_machines > 1 and not (launch.hostfile or launch.main_address):
        raise MathscaleError("num_machines > 1 needs launch.hostfile or launch.main_address (rank 0's address)")
    if launch.hostfile and not Path(launch.hostfile).is_file():
        raise MathscaleError(f"{launch.hostfile}: hostfile not found (lines like 'node1 slots=8')")
    env: dict[str, str] = {}
    if device == "cpu":
        env["CUDA_VISIBLE_DEVICES"] = ""  # every process on CPU, gloo
        env["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // max(1, nproc)))
    ds_path = Path(cfg.out) / DS_CONFIG_NAME
    if launcher == "torchrun":
        argv = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(nproc)]
        if launch.num_machines > 1:
            argv += ["--nnodes", str(launch.num_machines), "--node_rank", str(launch.machine_rank),
                     "--master_addr", launch.main_address, "--master_port", str(launch.main_port)]  # fmt: skip
        else:
            argv += ["--standalone"]
        return Launch(argv + entry, env, device, nproc)
    if launcher == "deepspeed":
        argv = ["deepspeed"]
        if launch.hostfile:
            argv += ["--hostfile", launch.hostfile, "--num_nodes", str(launch.num_machines)]
        argv += ["--num_gpus", str(nproc), "--master_port", str(launch.main_port)]
        if launch.main_address:
            argv += ["--master_addr", launch.main_address]
        return Launch(argv + ["--module", "mathscale.train.sft", str(config_path)], env, device, nproc)
    # accelerate
    argv = ["accelerate", "launch"]
    accel = launch.accelerate_config or (
        str(preset_path("accelerate", cfg.deepspeed)) if cfg.deepspeed != "none" else ""
    )
    if accel:
        argv += ["--config_file", accel]
    if cfg.deepspeed != "none" or cfg.deepspeed_config:
        argv += ["--use_deepspeed", "--deepspeed_config_file", str(ds_path)]
    argv += ["--num_processes", str(nproc * launch.num_machines), "--num_machines", str(launch.num_machines)]
    if launch.num_machines > 1:
        argv += ["--machine_rank", str(launch.machine_rank), "--main_process_ip", launch.main_address,
                 "--main_process_port", str(launch.main_port)]  # fmt: skip
    return Launch(argv + entry, env, device, nproc)
