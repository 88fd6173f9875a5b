"""Commands of the model store: ``models list|fetch`` (argparse only; cheap to import)."""

from __future__ import annotations

import argparse

from mathscale.cli_common import add_config_args, add_field, config_from_args, exit_status
from mathscale.models.config import ModelsFetchConfig, ModelsListConfig


def models_list(args: argparse.Namespace) -> int:
    from mathscale.models.command import list_main

    return exit_status(list_main(config_from_args(ModelsListConfig, args)))


def models_fetch(args: argparse.Namespace) -> int:
    from mathscale.models.command import fetch_main

    return exit_status(fetch_main(config_from_args(ModelsFetchConfig, args)))


def add_commands(add) -> None:
    listing = add("models list", "list the named local models and whether they are cached", models_list)
    add_config_args(listing, ModelsListConfig)
    fetch = add("models fetch", "fetch, verify and cache a named local model", models_fetch)
    add_field(fetch, "NAME", cls=ModelsFetchConfig, field="name")
    add_config_args(fetch, ModelsFetchConfig)
