"""The files a training run leaves in ``<out>/``, named once for everything that writes or reads them.

``mathscale train`` writes the config (and the DeepSpeed config) before any process starts;
rank 0 of the training processes writes the metrics, the step-time breakdown and the
diagnosis, and the command reads the metrics back for its summary. The prompt template saved
beside the model is a contract with eval as well, so its name lives in
:mod:`mathscale.templates` (``TEMPLATE_FILE``).
"""

from __future__ import annotations

CONFIG_NAME = "mathscale_train.yaml"  # the run's whole TrainConfig; every training process reads it
DS_CONFIG_NAME = "deepspeed_config.json"  # the DeepSpeed config the run used (absent without DeepSpeed)
METRICS_FILE = "train_metrics.json"  # steps, losses, seconds and tokens of the run (mathscale.train.sft)
BREAKDOWN_FILE = "train_breakdown.json"  # where the step time goes (mathscale.train.timing)
DIAGNOSIS_FILE = "train_diagnosis.json"  # why the device sat idle, and the fix (mathscale.train.diagnose)
MERGED_DIR = "merged"  # the base model with the LoRA adapter merged in (lora_settings.merge)
