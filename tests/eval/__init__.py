"""Tests of mathscale.eval."""
