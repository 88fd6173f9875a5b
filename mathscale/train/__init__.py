"""Stage 4: fine-tune a model on the synthesised QA pairs (DeepSpeed ZeRO-2/3, LoRA, packing)."""
