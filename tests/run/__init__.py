"""Tests of mathscale.run."""
