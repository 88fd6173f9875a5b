"""Commands of the LLM layer: ``ping`` and ``models list|fetch``."""

from __future__ import annotations

from mathscale.cli_common import add_config_args


def add_commands(add) -> None:
    ping = add("ping", "one real JSON completion from the configured LLM (or the embedded model)",
               "mathscale.llm.ping:main")  # fmt: skip
    add_config_args(ping, "configs/ping.yaml")
    ping.add_argument("--question", default=None, help="a math question to ask about (default: a built-in one)")
    ping.add_argument("--usage-out", metavar="FILE", help="also save the request accounting as JSON")

    add("models list", "list the named local models and whether they are cached", "mathscale.models.command:list_main")
    fetch = add("models fetch", "fetch, verify and cache a named local model", "mathscale.models.command:fetch_main")
    fetch.add_argument("name", help="model name (see `mathscale models list`)")
