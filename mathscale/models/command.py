"""``mathscale models list|fetch``: the named local models of the embedded server."""

from __future__ import annotations

import argparse

from mathscale.errors import MathscaleError
from mathscale.models.gguf import LOCAL_MODELS, cache_root, fetch_model


def list_main(args: argparse.Namespace) -> int:
    for model in LOCAL_MODELS.values():
        path = cache_root() / "models" / model.filename
        state = "cached" if path.is_file() and path.stat().st_size == model.size else "not fetched"
        print(f"{model.name:22} {model.size / 1e6:7.1f} MB  {state:12} {model.description}")
        print(f"{'':22} license {model.license}; sources: {'; '.join(s.describe() for s in model.sources)}")
    return 0


def fetch_main(args: argparse.Namespace) -> int:
    if args.name not in LOCAL_MODELS:
        raise MathscaleError(f"unknown model {args.name!r}; known: {', '.join(LOCAL_MODELS)}")
    print(fetch_model(LOCAL_MODELS[args.name]))
    return 0
