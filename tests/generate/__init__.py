"""Tests of mathscale.generate."""
