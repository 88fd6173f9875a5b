"""LLM usage that adds up over invocations and shards; cached tokens apart; prices by model family."""

from __future__ import annotations

import json

from mathscale.llm.config import Price, _default_prices, price_for
from mathscale.llm.usage_totals import total
from tests.support.fake_server import FakeServer, qa_responder
from tests.support.generate_helpers import run


def test_usage_accumulates_over_invocations_and_counts_cached_tokens_apart(graph_path, tmp_path):
    out, again = tmp_path / "s.jsonl", tmp_path / "again.jsonl"
    with FakeServer(responder=qa_responder, model="gpt-4o-mini-2024-07-18") as server:  # it refuses other models
        assert run([str(graph_path), "-n", "10", "--out", str(out)], server, tmp_path, "llm.model=gpt-4o-mini-2024-07-18") == 0
        assert run([str(graph_path), "-n", "14", "--out", str(out)], server, tmp_path, "llm.model=gpt-4o-mini-2024-07-18") == 0
        assert run([str(graph_path), "-n", "14", "--out", str(again)], server, tmp_path, "llm.model=gpt-4o-mini-2024-07-18") == 0
    usage = json.loads((tmp_path / "s.usage.json").read_text())
    first, second = usage["invocations"]
    assert usage["total"]["invocations"] == 2 and first["prompt_tokens"] > 0 and second["prompt_tokens"] > 0
    assert usage["total"]["prompt_tokens"] == first["prompt_tokens"] + second["prompt_tokens"]
    assert usage["total"]["requests"] == first["requests"] + second["requests"]
    price = Price(0.15, 0.60)  # gpt-4o-mini, found from the dated snapshot name
    expected = (usage["total"]["prompt_tokens"] * price.prompt + usage["total"]["completion_tokens"] * price.completion) / 1e6
    assert abs(usage["total"]["cost_usd"] - expected) < 1e-6
    report = json.loads((tmp_path / "s.report.json").read_text())
    assert report["llm"] == usage["total"]
    # the same slots again, all from the cache: nothing billed, the cached tokens counted apart
    cached = json.loads((tmp_path / "again.usage.json").read_text())["total"]
    assert cached["prompt_tokens"] == 0 and cached["cost_usd"] == 0
    assert cached["cached_prompt_tokens"] == usage["total"]["prompt_tokens"]
    assert cached["cached_completion_tokens"] == usage["total"]["completion_tokens"]


def test_totals_of_unknown_prices_are_unknown():
    known = {"model": "gpt-4o", "requests": 2, "prompt_tokens": 10, "cost_usd": 0.5, "failures": {"timeout": 1}}
    unknown = {"model": "my-model", "requests": 1, "prompt_tokens": 5, "cost_usd": None, "failures": {"timeout": 2}}
    both = total([known, unknown])
    assert both["cost_usd"] is None and both["prompt_tokens"] == 15 and both["failures"] == {"timeout": 3}
    assert both["model"] == "gpt-4o, my-model" and total([known, known])["cost_usd"] == 1.0


def test_price_table_knows_common_models_and_their_snapshots():
    prices = _default_prices()
    assert price_for(prices, "gpt-4o-mini-2024-07-18") == prices["gpt-4o-mini"]
    assert price_for(prices, "gpt-4o-2024-08-06") == prices["gpt-4o"]
    assert price_for(prices, "openai/gpt-4.1-mini") == prices["gpt-4.1-mini"]
    assert price_for(prices, "claude-3-5-sonnet-20241022") == prices["claude-3-5-sonnet"]
    assert price_for(prices, "o1-mini-2024-09-12") == prices["o1-mini"]
    assert price_for(prices, "Qwen2.5-72B-Instruct") is None and price_for(prices, "gpt-4ox") is None
