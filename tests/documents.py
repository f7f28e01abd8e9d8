"""Documents and expectations shared by the HTTP tests: the full dashboard document, the
reference's answer to it, and a comparison that reports the first differing path."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from tests import reference as ref
from tests.conftest import live_admin, live_users

NOW = datetime(2026, 3, 10, 15, 30, tzinfo=timezone.utc)
DAYS = 40

TOTALS = """allTime { ...T } today { ...T } yesterday { ...T } month { ...T }"""
FULL_DOC = """
fragment T on UsageTotals {
  requests successRequests errorRequests errorRate inputTokens outputTokens cacheCreationTokens
  cacheReadTokens totalTokens cacheHitRate cost actualCost costSavings cacheCreationCost
  cacheReadCost avgResponseTime fallbackCount
}
query ($userId: ID, $days: Int!) {
  dashboardStats(userId: $userId) {
    %s
    apiKeys { total active }
    quota { limitUsd usedUsd usedPercent }
  }
  recentRequests(limit: 25, userId: $userId) {
    id requestId createdAt model isStream statusCode inputTokens outputTokens totalTokens cost
    user { id username } provider { id name displayName }
  }
  providerStatus { id name displayName state requests }
  dailyStats(days: $days, userId: $userId) {
    period { startDate endDate days }
    days {
      date requests errorRequests inputTokens outputTokens cacheCreationTokens cacheReadTokens
      totalTokens cost avgResponseTime uniqueModels uniqueProviders fallbackCount
      modelBreakdown { model requests totalTokens cost }
    }
    modelSummary { model requests totalTokens cost avgResponseTime costPerRequest tokensPerRequest }
  }
}
""" % TOTALS
ADMIN_ONLY = "{ dashboardStats { users { total active } systemHealth { avgResponseTime errorRate errorRequests fallbackCount totalRequests } } }"
BASIC_DOC = """
query ($userId: ID) { dashboardStats(userId: $userId) {
  allTime { requests successRequests errorRequests errorRate inputTokens outputTokens cacheCreationTokens cacheReadTokens totalTokens cacheHitRate cost }
  month { requests errorRequests totalTokens cost }
  yesterday { requests cost }
} }"""

CAMEL = {
    "success_requests": "successRequests", "error_requests": "errorRequests", "error_rate": "errorRate",
    "input_tokens": "inputTokens", "output_tokens": "outputTokens",
    "cache_creation_tokens": "cacheCreationTokens", "cache_read_tokens": "cacheReadTokens",
    "total_tokens": "totalTokens", "cache_hit_rate": "cacheHitRate", "actual_cost": "actualCost",
    "cost_savings": "costSavings", "cache_creation_cost": "cacheCreationCost",
    "cache_read_cost": "cacheReadCost", "avg_response_time": "avgResponseTime",
    "fallback_count": "fallbackCount", "unique_models": "uniqueModels",
    "unique_providers": "uniqueProviders", "model_breakdown": "modelBreakdown",
    "cost_per_request": "costPerRequest", "tokens_per_request": "tokensPerRequest",
    "request_id": "requestId", "created_at": "createdAt", "is_stream": "isStream",
    "status_code": "statusCode", "display_name": "displayName", "limit_usd": "limitUsd",
    "used_usd": "usedUsd", "used_percent": "usedPercent", "total_requests": "totalRequests",
}


def camel(value):  # noqa: ANN001, ANN201
    if isinstance(value, dict):
        return {CAMEL.get(k, k): camel(v) for k, v in value.items()}
    if isinstance(value, list):
        return [camel(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    return value


def assert_same(got, want, where: str = "") -> None:  # noqa: ANN001
    if isinstance(want, dict):
        assert isinstance(got, dict), f"{where}: {got!r} is not an object"
        for k, v in want.items():
            assert k in got, f"{where}.{k} missing from the response"
            assert_same(got[k], v, f"{where}.{k}")
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), f"{where}: {got!r} != {want!r}"
        for i, (g, w) in enumerate(zip(got, want)):
            assert_same(g, w, f"{where}[{i}]")
    elif isinstance(want, float):
        assert got == pytest.approx(want, rel=1e-9, abs=1e-9), f"{where}: {got} != {want}"
    else:
        assert got == want, f"{where}: {got!r} != {want!r}"


def business_today(tz: str) -> date:
    return NOW.astimezone(ZoneInfo(tz)).date()


def _without_operator_figures(t: dict) -> dict:
    return {k: v for k, v in t.items() if k not in ("actual_cost", "cost_savings")}


# A user viewer may not read the operator figures (they are FORBIDDEN): the user's document
# leaves them out, and so does the reference's answer for a user viewer.
USER_DOC = FULL_DOC.replace("cost actualCost costSavings", "cost")


def expected_full(ds, user_id, tz: str, *, admin: bool):  # noqa: ANN001, ANN201
    today = business_today(tz)
    first = today - timedelta(days=DAYS - 1)
    totals = {
        "allTime": ref.totals(ds, user_id=user_id, first_day=None, last_day=today, tz=tz),
        "today": ref.totals(ds, user_id=user_id, first_day=today, last_day=today, tz=tz),
        "yesterday": ref.totals(
            ds, user_id=user_id, first_day=today - timedelta(days=1), last_day=today - timedelta(days=1), tz=tz
        ),
        "month": ref.totals(ds, user_id=user_id, first_day=today.replace(day=1), last_day=today, tz=tz),
    }
    recent = ref.recent(ds, user_id=user_id, limit=25)
    for r in recent:
        r["created_at"] = r["created_at"].isoformat()
    own = None if admin else user_id
    return camel({
        "dashboardStats": {
            **(totals if admin else {k: _without_operator_figures(v) for k, v in totals.items()}),
            "apiKeys": ref.api_key_counts(ds, user_id=user_id),
            "quota": ref.quota(ds, user_id=user_id) if user_id else None,
        },
        "recentRequests": recent,
        "providerStatus": [
            {**p, "state": "ACTIVE"}
            for p in ref.provider_status(ds, user_id=own, now=NOW, limit=10 if admin else 5)
        ],
        "dailyStats": {
            "period": {"startDate": first, "endDate": today, "days": DAYS},
            "days": ref.daily(ds, user_id=user_id, first_day=first, last_day=today, tz=tz),
            "modelSummary": ref.model_summary(ds, user_id=user_id, first_day=first, last_day=today, tz=tz),
        },
    })


def pick_users(ds):  # noqa: ANN001, ANN201
    admin = live_admin(ds)
    users = live_users(ds)
    heaviest = max(users, key=lambda u: sum(1 for r in ds.usage if r.user_id == u.id))
    other = next(u for u in users if u.id != heaviest.id)
    return admin, heaviest, other


