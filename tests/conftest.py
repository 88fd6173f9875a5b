"""Shared fixtures: every test gets its own cache folder, so no test reads another's answers."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    # Model files are big and immutable: share them across tests via the real cache,
    # but keep the LLM response cache per test.
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    yield


@pytest.fixture
def llm_cache(tmp_path):
    """A fresh response-cache path for LLMConfig(cache_path=...)."""
    return str(tmp_path / "llm-cache.sqlite")
