from __future__ import annotations

import importlib
from dataclasses import dataclass, field

import pytest
import yaml

from mathscale.config import config_to_dict, dump_config, load_config
from mathscale.errors import MathscaleError
from mathscale.llm.config import LLMConfig, Price
from mathscale.llm.config import PingConfig
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


# Each shipped YAML spells out its command's defaults; this keeps the two from drifting.
SHIPPED = {
    "ping.yaml": "mathscale.llm.config:PingConfig",
    "graph_extract.yaml": "mathscale.graph.config:ExtractConfig",
    "graph_build.yaml": "mathscale.graph.config:BuildConfig",
    "graph_sample.yaml": "mathscale.graph.config:SampleConfig",
    "generate.yaml": "mathscale.generate.config:GenerateConfig",
    "grade.yaml": "mathscale.eval.config:GradeConfig",
    "eval.yaml": "mathscale.eval.config:EvalConfig",
    "train.yaml": "mathscale.train.config:TrainConfig",
}


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_configs_equal_defaults(name):
    module, _, attr = SHIPPED[name].partition(":")
    cls = getattr(importlib.import_module(module), attr)
    assert load_config(cls, REPO / "configs" / name) == cls()
    # and spell out every field: the file is where users read the settings
    assert yaml.safe_load((REPO / "configs" / name).read_text(encoding="utf-8")) == config_to_dict(cls())


def test_every_shipped_yaml_is_checked():
    assert {p.name for p in (REPO / "configs").glob("*.yaml")} == set(SHIPPED)


def test_dump_round_trips(tmp_path):
    path = tmp_path / "ping.yaml"
    path.write_text(dump_config(PingConfig()))
    assert load_config(PingConfig, path) == PingConfig()


def test_no_api_key_field():
    # The key lives only in the environment; a config can never carry it into saved files.
    assert "api_key" not in LLMConfig.__dataclass_fields__
