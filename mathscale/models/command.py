"""``mathscale models list|fetch``: the named local models of the embedded server."""

from __future__ import annotations

from pathlib import Path

from mathscale.config import require
from mathscale.errors import MathscaleError
from mathscale.models.config import ModelsFetchConfig, ModelsListConfig
from mathscale.models.gguf import LOCAL_MODELS, cache_root, fetch_model


def list_main(cfg: ModelsListConfig) -> dict[str, bool]:
    """Print each named model and its sources; returns name -> whether it is cached."""
    cached = {}
    for model in LOCAL_MODELS.values():
        path = cache_root() / "models" / model.filename
        cached[model.name] = path.is_file() and path.stat().st_size == model.size
        state = "cached" if cached[model.name] else "not fetched"
        print(f"{model.name:22} {model.size / 1e6:7.1f} MB  {state:12} {model.description}")
        print(f"{'':22} license {model.license}; sources: {'; '.join(s.describe() for s in model.sources)}")
    return cached


def fetch_main(cfg: ModelsFetchConfig) -> Path:
    """Fetch (or find cached) the named model; returns its file."""
    require(cfg, {"name": "NAME"})
    if cfg.name not in LOCAL_MODELS:
        raise MathscaleError(f"unknown model {cfg.name!r}; known: {', '.join(LOCAL_MODELS)}")
    path = fetch_model(LOCAL_MODELS[cfg.name])
    print(path)
    return path
