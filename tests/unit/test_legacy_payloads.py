"""The legacy REST payloads built from GraphQL answers (no server): Aether's shapes and strings."""

from __future__ import annotations

import pytest

from statsgraph.server.legacy import format_tokens, user_payload


@pytest.mark.parametrize(
    ("n", "text"),
    [(0, "0"), (999, "999"), (1000, "1.00K"), (12_345, "12.3K"), (123_456, "123K"), (1_500_000, "1.50M"),
     (25_000_000, "25.0M"), (250_000_000, "250M")],
)
def test_token_counts_are_formatted_like_aethers(n: int, text: str) -> None:
    assert format_tokens(n) == text


def _totals(requests: int, tokens: int = 0) -> dict:
    return {"requests": requests, "cost": 1.25, "totalTokens": tokens, "inputTokens": tokens, "outputTokens": 0,
            "cacheCreationTokens": 3, "cacheReadTokens": 4, "cacheHitRate": 12.345}


def _user(limit: float | None, used: float, percent: float | None) -> dict:
    return {
        "allTime": _totals(10, 2_000), "today": _totals(3), "yesterday": _totals(2), "month": _totals(7),
        "quota": {"limitUsd": limit, "usedUsd": used, "usedPercent": percent},
        "apiKeys": {"total": 3, "active": 2},
    }


def test_user_payload_quota_card() -> None:
    cards = {c["name"]: c for c in user_payload(_user(None, 1.5, None))["stats"]}
    assert cards["配额使用"]["value"] == "无限制" and cards["配额使用"]["changeType"] == "neutral"
    high = {c["name"]: c for c in user_payload(_user(10.0, 9.0, 90.0))["stats"]}["配额使用"]
    assert (high["value"], high["change"], high["changeType"]) == ("$10", "已用 $9.00", "increase")
    zero = {c["name"]: c for c in user_payload(_user(0.0, 0.0, 100.0))["stats"]}["配额使用"]
    assert (zero["value"], zero["changeType"]) == ("$0", "increase")


def test_user_payload_figures() -> None:
    p = user_payload(_user(None, 0.0, None))
    cards = {c["name"]: c for c in p["stats"]}
    assert cards["API 密钥"]["value"] == "2/3"
    assert cards["本月请求"]["change"] == "今日 3" and cards["本月请求"]["changeType"] == "increase"
    assert cards["总Token"]["value"] == "2.00K"
    assert p["cache_stats"] == {"cache_creation_tokens": 3, "cache_read_tokens": 4, "cache_hit_rate": 12.3,
                                "total_cache_tokens": 7}
    assert "actual_cost" not in p["today"]  # operator figures never reach a user's payload
