from __future__ import annotations

from dataclasses import dataclass, field

import pytest
import yaml

from mathscale.cli import main
from mathscale.config import dump_config, load_config
from mathscale.errors import MathscaleError
from mathscale.llm.config import LLMConfig, Price
from mathscale.llm.config import PingConfig
from tests.support.commands import leaf_parsers
from tests.support import REPO


@dataclass
class Inner:
    rate: float = 0.5
    names: list[str] = field(default_factory=list)


@dataclass
class Outer:
    n: int = 3
    label: str | None = None
    inner: Inner = field(default_factory=Inner)


def test_defaults_without_file():
    assert load_config(Outer) == Outer()


def test_yaml_then_overrides(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("n: 5\ninner:\n  names: [a, b]\n")
    cfg = load_config(Outer, path, ["inner.rate=2", "label=hello"])
    assert cfg == Outer(n=5, label="hello", inner=Inner(rate=2.0, names=["a", "b"]))
    assert isinstance(cfg.inner.rate, float)


def test_unknown_key_names_key_and_file(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("n: 5\ninner:\n  rat: 1\n")
    with pytest.raises(MathscaleError, match=r"c\.yaml: key 'inner\.rat': unknown key \(known keys: names, rate\)"):
        load_config(Outer, path)


def test_wrong_type_names_key_and_file(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("n: many\n")
    with pytest.raises(MathscaleError, match=r"c\.yaml: key 'n': expected int, got str 'many'"):
        load_config(Outer, path)


def test_exponent_floats_from_yaml_and_overrides(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("inner:\n  rate: 3e-3\n")
    assert load_config(Outer, path).inner.rate == 0.003
    assert load_config(Outer, None, ["inner.rate=1e-5"]).inner.rate == 1e-5
    with pytest.raises(MathscaleError, match="expected float"):
        load_config(Outer, None, ["inner.rate=1e-5x"])


def test_bool_is_not_an_int(tmp_path):
    with pytest.raises(MathscaleError, match="expected int"):
        load_config(Outer, None, ["n=true"])


def test_bad_override_names_the_override():
    with pytest.raises(MathscaleError, match=r"command-line override 'inner\.rate=fast'"):
        load_config(Outer, None, ["inner.rate=fast"])
    with pytest.raises(MathscaleError, match="expected key=value"):
        load_config(Outer, None, ["justakey"])


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(MathscaleError, match="config file not found"):
        load_config(Outer, tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("n: [1, 2\n")
    with pytest.raises(MathscaleError, match=r"bad\.yaml:\d+: not valid YAML"):
        load_config(Outer, bad)
    scalar = tmp_path / "scalar.yaml"
    scalar.write_text("just text\n")
    with pytest.raises(MathscaleError, match="must be a mapping"):
        load_config(Outer, scalar)


def test_nested_price_table_override():
    cfg = load_config(LLMConfig, None, ["prices={my-model: {prompt: 1, completion: 2}}"])
    assert cfg.prices == {"my-model": Price(1.0, 2.0)}


COMMANDS = list(leaf_parsers())
NEEDS_CONFIG = {"run": "configs/run/quickstart.yaml", "scale": "configs/run/scale_quickstart.yaml"}  # CONFIG is positional


def _printed(argv: list[str], capsys) -> str:
    assert main(argv) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("command", COMMANDS)
def test_print_config_prints_yaml_that_config_reads_back_to_the_same_config(command, tmp_path, capsys):
    words = command.split()
    given = [str(REPO / NEEDS_CONFIG[command])] if command in NEEDS_CONFIG else []
    first = _printed([*words, *given, "--print-config"], capsys)
    cls = leaf_parsers()[command].get_default("config_class")
    expected = load_config(cls, given[0]) if given else cls()
    path = tmp_path / "printed.yaml"
    path.write_text(first)
    assert load_config(cls, path) == expected
    again = [str(path)] if command in NEEDS_CONFIG else ["--config", str(path)]
    assert _printed([*words, *again, "--print-config"], capsys) == first


def test_print_config_shows_flags_and_overrides_with_each_fields_help(capsys):
    printed = _printed(["generate", "-n", "7", "dedup.num_perm=32", "--print-config"], capsys)
    cfg = yaml.safe_load(printed)
    assert cfg["n"] == 7 and cfg["dedup"]["num_perm"] == 32
    assert "  # MinHash permutations: more is more exact and slower\n  num_perm: 32\n" in printed


def test_print_config_reports_a_bad_override_as_the_command_would(capsys):
    assert main(["train", "epochs=0", "--print-config"]) == 2
    assert "epochs" in capsys.readouterr().err


def test_every_field_that_a_flag_sets_has_help():
    from mathscale.cli_common import config_field
    from mathscale.keys import help_of

    for command, parser in leaf_parsers().items():
        for action in parser._actions:
            if hasattr(action, "config_field"):
                f, _ = config_field(action.config_class, action.config_field)
                assert help_of(f), f"{command}: {action.config_field} has no help"


def test_configs_holds_run_recipes_only():
    # every default lives in its field; a YAML beside the recipes would write defaults twice
    assert sorted(p.name for p in (REPO / "configs").glob("*.yaml")) == []
    for recipe in (REPO / "configs" / "run").glob("*.yaml"):
        assert yaml.safe_load(recipe.read_text(encoding="utf-8")), recipe


def test_dump_round_trips(tmp_path):
    path = tmp_path / "ping.yaml"
    path.write_text(dump_config(PingConfig()))
    assert load_config(PingConfig, path) == PingConfig()


def test_no_api_key_field():
    # The key lives only in the environment; a config can never carry it into saved files.
    assert "api_key" not in LLMConfig.__dataclass_fields__
