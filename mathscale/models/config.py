"""Configs of ``mathscale models list|fetch``."""

from __future__ import annotations

from dataclasses import dataclass

from mathscale.keys import not_in_key


@dataclass
class ModelsListConfig:
    """``models list``: the named local models and whether they are cached (no settings)."""


@dataclass
class ModelsFetchConfig:
    """``models fetch NAME``: fetch, verify and cache one named local model."""

    name: str = not_in_key("", help="model name (see `mathscale models list`)")
