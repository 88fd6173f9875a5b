"""Tests of mathscale.train."""
