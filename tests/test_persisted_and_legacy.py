"""Persisted operations (APQ, manifest, lock-down) and the legacy REST endpoints."""

from __future__ import annotations

import json

import pytest

from statsgraph.server.persisted import sha256_hex
from tests.conftest import (
    Api,
    app_client,
    live_admin,
    load_dataset,
    settings_for,
    token_for,
    utc,
)

NOW = utc(2026, 3, 10, 15, 30)
DOC = "query Today { dashboardStats { today { requests cost } } }"


@pytest.fixture(scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    tmp = tmp_path_factory.mktemp("persisted")
    url = f"sqlite+aiosqlite:///{tmp / 'db.sqlite'}"
    ds = await load_dataset(url, now=NOW, tz="Asia/Shanghai")
    manifest = tmp / "manifest.json"
    manifest.write_text(json.dumps({sha256_hex(DOC): DOC}))
    admin = live_admin(ds)
    user = next(u for u in ds.users if u.role != "admin" and u.is_active and not u.is_deleted)
    return url, manifest, admin, user


def apq(digest: str) -> dict:
    return {"persistedQuery": {"version": 1, "sha256Hash": digest}}


async def test_automatic_persisted_queries(world) -> None:  # noqa: ANN001
    url, _manifest, admin, _ = world
    settings = settings_for(url)
    async with app_client(settings, NOW) as client:
        headers = {"Authorization": f"Bearer {token_for(admin.id, settings)}"}
        full = (await client.post("/graphql", json={"query": DOC}, headers=headers)).json()
        digest = sha256_hex(DOC)
        # Unknown hash: the client is told to send the document.
        r = await client.get("/graphql", params={"extensions": json.dumps(apq(digest))}, headers=headers)
        assert r.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
        # Register with the document, then the hash alone answers like the full document, over GET.
        r = await client.post("/graphql", json={"query": DOC, "extensions": apq(digest)}, headers=headers)
        assert r.json()["data"] == full["data"]
        r = await client.get("/graphql", params={"extensions": json.dumps(apq(digest))}, headers=headers)
        assert r.status_code == 200 and r.json()["data"] == full["data"]
        # A hash that does not match its document is refused.
        r = await client.post("/graphql", json={"query": DOC, "extensions": apq("0" * 64)}, headers=headers)
        assert r.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_lockdown_runs_only_the_manifest(world) -> None:  # noqa: ANN001
    url, manifest, admin, _ = world
    settings = settings_for(url, persisted_manifest=manifest, persisted_only=True)
    async with app_client(settings, NOW) as client:
        api = Api(client, token_for(admin.id, settings))
        body = (await api.post("{ dashboardStats { allTime { requests } } }")).json()
        assert body["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_REQUIRED"
        assert "data" not in body or body["data"] is None
        # The manifest's operation runs by hash, and as a full document too.
        headers = {"Authorization": f"Bearer {api.token}"}
        r = await client.get("/graphql", params={"extensions": json.dumps(apq(sha256_hex(DOC)))}, headers=headers)
        assert isinstance(r.json()["data"]["dashboardStats"]["today"]["requests"], int)
        assert (await api.query(DOC))["dashboardStats"]["today"]["requests"] >= 0
        # Unknown hashes cannot be registered in lock-down.
        other = "{ viewer { id } }"
        r = await client.post("/graphql", json={"query": other, "extensions": apq(sha256_hex(other))}, headers=headers)
        assert r.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_REQUIRED"


CARD_KEYS = {"name", "value", "icon"}


def _types(value):  # noqa: ANN001, ANN202
    if isinstance(value, dict):
        return {k: _types(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_types(v) for v in value[:1]]
    return type(value).__name__


async def test_legacy_endpoints_match_graphql_and_seed_shapes(world) -> None:  # noqa: ANN001
    url, _manifest, admin, user = world
    settings = settings_for(url)
    async with app_client(settings, NOW) as client:
        for viewer, is_admin in ((admin, True), (user, False)):
            token = token_for(viewer.id, settings)
            headers = {"Authorization": f"Bearer {token}"}
            api = Api(client, token)
            stats = (await client.get("/api/dashboard/stats", headers=headers)).json()
            gql = (await api.query(
                "{ dashboardStats { allTime { requests inputTokens outputTokens cacheCreationTokens cacheReadTokens totalTokens } "
                "today { requests cost totalTokens } month { requests cost totalTokens cacheReadTokens } apiKeys { total active } } }"
            ))["dashboardStats"]
            assert stats["today"]["requests"] == gql["today"]["requests"]
            assert stats["today"]["cost"] == pytest.approx(gql["today"]["cost"])
            assert stats["today"]["tokens"] == gql["today"]["totalTokens"]
            assert stats["token_breakdown"] == {
                "input": gql["allTime"]["inputTokens"], "output": gql["allTime"]["outputTokens"],
                "cache_creation": gql["allTime"]["cacheCreationTokens"], "cache_read": gql["allTime"]["cacheReadTokens"],
            }
            assert all(CARD_KEYS <= set(card) for card in stats["stats"]) and len(stats["stats"]) == 4
            if is_admin:
                assert set(stats) == {"stats", "today", "api_keys", "tokens", "token_breakdown", "system_health",
                                      "cost_stats", "cache_stats", "users"}
                assert stats["api_keys"] == gql["apiKeys"]
                assert stats["tokens"]["month"] == gql["month"]["totalTokens"]
                assert stats["stats"][0]["value"] == f"{gql['allTime']['requests']:,}"
                assert set(stats["system_health"]) == {"avg_response_time", "error_rate", "error_requests",
                                                       "fallback_count", "total_requests"}
            else:
                assert set(stats) == {"stats", "today", "token_breakdown", "cache_stats", "monthly_cost"}
                assert stats["stats"][0]["value"] == f"{gql['apiKeys']['active']}/{gql['apiKeys']['total']}"
                assert stats["stats"][1]["value"] == f"{gql['month']['requests']:,}"
                assert stats["monthly_cost"] == pytest.approx(gql["month"]["cost"])
                assert stats["cache_stats"]["cache_read_tokens"] == gql["month"]["cacheReadTokens"]

            recent = (await client.get("/api/dashboard/recent-requests?limit=7", headers=headers)).json()
            rows = (await api.query("{ recentRequests(limit: 7) { id totalTokens isStream } }"))["recentRequests"]
            assert [r["id"] for r in recent["requests"]] == [r["id"] for r in rows]
            assert [r["tokens"] for r in recent["requests"]] == [r["totalTokens"] for r in rows]
            assert _types(recent)["requests"][0] == {
                "id": "str", "user": "str", "model": "str", "tokens": "int", "time": "str", "is_stream": "bool"
            }

            providers = (await client.get("/api/dashboard/provider-status", headers=headers)).json()
            gp = (await api.query("{ providerStatus { name requests } }"))["providerStatus"]
            assert [(p["name"], p["requests"]) for p in providers["providers"]] == [(p["name"], p["requests"]) for p in gp]
            assert all(p["status"] == "active" for p in providers["providers"])

            daily = (await client.get("/api/dashboard/daily-stats?days=14", headers=headers)).json()
            gd = (await api.query("{ dailyStats(days: 14) { days { date requests totalTokens cost } modelSummary { model cost } } }"))["dailyStats"]
            assert [(d["date"], d["requests"], d["tokens"]) for d in daily["daily_stats"]] == [
                (d["date"], d["requests"], d["totalTokens"]) for d in gd["days"]
            ]
            assert [m["model"] for m in daily["model_summary"]] == [m["model"] for m in gd["modelSummary"]]
            assert set(daily) == {"daily_stats", "model_summary", "period"}
            assert set(daily["daily_stats"][0]) == {"date", "requests", "tokens", "cost", "avg_response_time",
                                                    "unique_models", "unique_providers", "fallback_count",
                                                    "model_breakdown"}

        r = await client.get("/api/dashboard/stats")
        assert r.status_code == 401
        r = await client.get("/api/dashboard/recent-requests?limit=500", headers={"Authorization": f"Bearer {token_for(admin.id, settings)}"})
        assert r.status_code == 422
