"""Every config field says whether it can change a result (mathscale.keys), and run keys obey it."""

from __future__ import annotations

import dataclasses
import importlib
import inspect

import pytest

from mathscale.keys import decision, key_view, undecided_fields
from mathscale.run.config import RunConfig
from tests.support import REPO

PACKAGE = REPO / "mathscale"


def config_classes() -> list[type]:
    """Every dataclass defined in mathscale/*/config.py, and the sample filters' settings beside the filters."""
    found = []
    for path in [*sorted(PACKAGE.glob("*/config.py")), PACKAGE / "generate" / "filters.py"]:
        module = importlib.import_module(f"mathscale.{path.parent.name}.{path.stem}")
        found += [c for _, c in inspect.getmembers(module, inspect.isclass)
                  if dataclasses.is_dataclass(c) and c.__module__ == module.__name__
                  and (path.name == "config.py" or c.__name__.endswith("Config"))]  # fmt: skip
    return found


@pytest.mark.parametrize("cls", config_classes(), ids=lambda c: c.__name__)
def test_every_config_field_decides_whether_it_is_in_the_key(cls):
    assert undecided_fields(cls) == [], "declare each field with in_key(...) or not_in_key(...) (mathscale/keys.py)"


@dataclasses.dataclass
class Inner:
    a: int = 1


@dataclasses.dataclass
class Outer:
    inner: Inner = dataclasses.field(default_factory=Inner)


def test_the_walk_reaches_nested_configs_and_catches_a_missing_decision():
    assert undecided_fields(Outer) == ["Outer.inner", "Inner.a"]
    names = {c.__name__ for c in config_classes()}
    assert {"GenerateConfig", "FilterConfig", "DedupConfig", "LLMConfig", "TrainConfig", "RunConfig", "LoraSettings"} <= names
    # nested configs defined elsewhere (EvalConfig) are walked through RunConfig
    assert undecided_fields(RunConfig) == []


def test_settings_that_cannot_change_a_result_stay_out_of_the_key():
    base = RunConfig()
    changed = dataclasses.replace(
        base,
        llm=dataclasses.replace(base.llm, concurrency=3, timeout_s=5.0, base_urls=["http://other:1/v1"], progress=False),
        train=dataclasses.replace(base.train, logging_steps=1, dataloader_num_workers=0, save_steps=7),
    )
    assert key_view(changed) == key_view(base)
    assert key_view(dataclasses.replace(base, llm=dataclasses.replace(base.llm, model="other"))) != key_view(base)
    assert key_view(dataclasses.replace(base, train=dataclasses.replace(base.train, learning_rate=1.0))) != key_view(base)
    assert "n" not in key_view(base.generate, skip=("n",)) and "seed" in key_view(base.generate)


def test_decisions_are_plain_field_metadata():
    from mathscale.llm.config import LLMConfig

    fields = {f.name: decision(f) for f in dataclasses.fields(LLMConfig)}
    assert fields["model"] is True and fields["concurrency"] is False and fields["base_urls"] is False


@pytest.mark.parametrize("cls", config_classes(), ids=lambda c: c.__name__)
def test_every_default_lies_in_its_declared_range(cls):
    from mathscale.keys import out_of_range

    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            assert out_of_range(f, f.default) is None, f"{cls.__name__}.{f.name}"


def test_a_bound_is_field_metadata_and_reads_as_a_range():
    from mathscale.keys import in_key, out_of_range

    @dataclasses.dataclass
    class Bounded:
        share: float = in_key(0.5, gt=0, le=1)

    (f,) = dataclasses.fields(Bounded)
    assert out_of_range(f, 1) is None and out_of_range(f, 0.25) is None
    assert out_of_range(f, 0) == "expected a number > 0 and <= 1, got 0"
    assert out_of_range(f, True) is None  # not a number: the type check refuses it first
    with pytest.raises(TypeError, match="unknown bounds"):
        in_key(1, min=0)
