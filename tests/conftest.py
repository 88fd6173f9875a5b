"""Shared fixtures: every test gets its own cache folder, so no test reads another's answers;
a small seed graph for the tests that run ``generate``."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from mathscale.graph.build import build_graph, save_graph
from mathscale.records import Concepts


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


@pytest.fixture(scope="module")
def graph_path(tmp_path_factory) -> Path:
    rng = random.Random(0)
    topics = [f"Topic {i}" for i in range(6)]
    kps = [f"Skill {i}" for i in range(20)]
    records = [
        Concepts(id=str(i), question=f"Seed question number {i}: how many apples are left?",
                 topics=rng.sample(topics, 2), knowledge_points=rng.sample(kps, 3), model="m", prompt="p")
        for i in range(40)
    ]  # fmt: skip
    graph, _ = build_graph(records)
    path = tmp_path_factory.mktemp("graph") / "graph.json"
    save_graph(graph, path)
    return path
