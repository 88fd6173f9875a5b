"""Tests of mathscale.cluster (``executor: ray``; the work itself is in generate/ray_*.py and eval/ray_executor.py)."""
