"""Tests of mathscale.models."""
