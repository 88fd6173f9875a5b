from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mathscale.cli import build_parser, main
from tests.support.commands import leaf_parsers


def all_commands() -> list[str]:
    """Every leaf command of the parser, e.g. 'graph build'."""
    return list(leaf_parsers())


def leaf_parser(command: str):
    return leaf_parsers()[command]


# Arguments that are not settings of the command's config: argparse's own, the config file,
# --print-config, the key=value overrides, and the run config's path (the CONFIG of run and scale).
NOT_SETTINGS = {"help", "config", "overrides", "print_config"}


@pytest.mark.parametrize("command", all_commands())
def test_every_argument_sets_a_config_field_and_states_its_default(command):
    from mathscale.cli_common import FIELD_DEST, field_default, format_default

    for action in leaf_parser(command)._actions:
        if action.dest in NOT_SETTINGS:
            continue
        assert action.dest.startswith(FIELD_DEST), f"{command}: {action.option_strings or action.dest} sets no config field"
        default = field_default(action.config_class, action.config_field)
        stated = "" if default in ("", [], None) else f"(default: {format_default(default)})"
        assert (action.help or "").endswith(stated), f"{command} {action.dest}: help does not end with {stated!r}"
        assert (action.help or "").count("default") == bool(stated), f"{command} {action.dest}: states a default itself"


def test_help_lists_the_whole_pipeline():
    script = Path(sys.executable).parent / "mathscale"  # the console script of this environment
    done = subprocess.run([str(script if script.exists() else "mathscale"), "--help"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    for stage in ["graph extract", "graph build", "graph sample", "generate", "train", "eval", "scale", "run"]:
        assert stage in done.stdout
    assert "--help" not in done.stderr


def test_help_imports_nothing_heavy():
    code = "import sys; from mathscale.cli import build_parser; build_parser(); print(sorted(m for m in ('torch', 'transformers', 'openai', 'networkx') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_pipeline_is_complete():
    commands = set(all_commands())
    assert {"graph extract", "graph build", "graph stats", "graph plot", "graph sample", "generate", "train",
            "eval", "grade", "run", "scale", "plot", "ping", "models list", "models fetch"} <= commands


@pytest.mark.parametrize("command", all_commands())
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args([*command.split(), "--help"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.startswith("usage: mathscale " + command)


def test_bad_config_is_one_line_and_exit_2(tmp_path, capsys):
    cfg = tmp_path / "ping.yaml"
    cfg.write_text("llm:\n  concurency: 3\n")
    assert main(["ping", "--config", str(cfg)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert err == (
        f"mathscale: error: {cfg}: key 'llm.concurency': unknown key (known keys: api_key_env, backoff_max_s, "
        "backoff_s, base_urls, breaker_share, breaker_window, cache, cache_path, concurrency, json_repair, local_context, "
        "local_engine, local_model, local_threads, max_prompt_chars, max_retries, max_tokens, model, parse_guard, prices, progress, "
        "reask_unparsed, structured_output, temperature, timeout_s)"
    )


def test_missing_config_file(tmp_path, capsys):
    assert main(["ping", "--config", str(tmp_path / "nope.yaml")]) == 2
    assert "nope.yaml: config file not found" in capsys.readouterr().err


def test_missing_model_file(tmp_path, capsys):
    assert main(["ping", f"llm.local_model={tmp_path}/none.gguf"]) == 2
    assert "none.gguf': no such file and not a known model name" in capsys.readouterr().err


def test_ping_against_an_endpoint(tmp_path, capsys):
    from tests.support.fake_server import FakeServer

    usage = tmp_path / "usage.json"
    with FakeServer() as server:
        rc = main(["ping", "--usage-out", str(usage), f"llm.base_urls=[{server.base_url}]",
                   f"llm.cache_path={tmp_path}/c.sqlite", "llm.progress=false"])  # fmt: skip
    out = capsys.readouterr().out
    assert rc == 0 and '"answer": "4"' in out and "1 requests, 1 ok" in out
    assert '"api_calls": 1' in usage.read_text()


def test_ping_usage_out_under_a_file_fails_before_any_call(tmp_path, capsys):
    (tmp_path / "no").write_text("")
    assert main(["ping", "--usage-out", str(tmp_path / "no" / "u.json"), "llm.base_urls=[http://127.0.0.1:9/v1]"]) == 2
    assert "no is a file, so folder" in capsys.readouterr().err
