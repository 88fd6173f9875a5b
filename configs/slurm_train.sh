#!/bin/bash
# Example: fine-tune on 2 nodes x 8 GPUs with SLURM. Submit with `sbatch configs/slurm_train.sh`.
# srun starts one `mathscale train` per node; each launches accelerate with its own machine rank,
# all pointing at the first node as the rendezvous address.
#SBATCH --job-name=mathscale-train
#SBATCH --nodes=2
#SBATCH --ntasks-per-node=1
#SBATCH --gpus-per-node=8
#SBATCH --cpus-per-task=64
#SBATCH --time=24:00:00
#SBATCH --output=logs/%x-%j.out
set -euo pipefail

DATA=${DATA:-data/samples.jsonl}
MODEL=${MODEL:-/models/Mistral-7B-v0.1}
OUT=${OUT:-runs/mathscale-7b}
MAIN_ADDR=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)

srun bash -c "mathscale train --data $DATA --model $MODEL --out $OUT --deepspeed zero3 \
  --num-processes 8 --num-machines $SLURM_NNODES \
  launch.machine_rank=\$SLURM_NODEID launch.main_address=$MAIN_ADDR launch.main_port=29500 \
  per_device_batch_size=4 gradient_accumulation_steps=4 learning_rate=5e-6 epochs=3 max_length=2048"
