"""Tests of mathscale.llm."""
