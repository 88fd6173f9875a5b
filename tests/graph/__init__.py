"""Tests of mathscale.graph."""
