"""What a query may cost is bounded before execution; probes, metrics and CORS behave."""

from __future__ import annotations

import json

import pytest

from statsgraph.db.engine import count_statements
from tests.conftest import (
    Api,
    EdgeWorld,
    app_client,
    fresh_database_url,
    load_dataset,
    settings_for,
    token_for,
    utc,
)
from tests.states import set_state

NOW = utc(2026, 3, 10, 15, 30)


@pytest.fixture(scope="module")
def world(edge_world: EdgeWorld):  # noqa: ANN201
    return edge_world.url, edge_world.admin


async def run(url: str, admin_id: str, query: str, **overrides: object) -> tuple[int, dict, int]:
    settings = settings_for(url, **overrides)
    async with app_client(settings, NOW) as client:
        async with count_statements() as counter:
            response = await Api(client, token_for(admin_id, settings)).post(query)
        return response.status_code, response.json(), counter.count


async def test_depth_limit(world) -> None:  # noqa: ANN001
    url, admin = world
    deep = "{ dailyStats { days { modelBreakdown { model } } } }"  # depth 3 (root fields are 0)
    status, body, _ = await run(url, admin.id, deep, max_query_depth=3)
    assert status == 200 and "errors" not in body
    status, body, statements = await run(url, admin.id, deep, max_query_depth=2)
    assert "exceeds maximum operation depth" in body["errors"][0]["message"]
    assert statements <= 1  # refused before any resolver ran (authentication aside)


async def test_alias_limit(world) -> None:  # noqa: ANN001
    url, admin = world
    ok = "{ " + " ".join(f"a{i}: viewer {{ id }}" for i in range(5)) + " }"
    over = "{ " + " ".join(f"a{i}: dashboardStats {{ today {{ requests }} }}" for i in range(40)) + " }"
    assert "errors" not in (await run(url, admin.id, ok, max_aliases=10))[1]
    status, body, statements = await run(url, admin.id, over, max_aliases=10)
    assert "aliases found" in body["errors"][0]["message"].lower()
    assert statements <= 1


async def test_token_limit(world) -> None:  # noqa: ANN001
    url, admin = world
    over = "{ " + " ".join("viewer { id username email role }" for _ in range(200)) + " }"
    body = (await run(url, admin.id, over, max_tokens=500))[1]
    assert "token" in body["errors"][0]["message"].lower()
    assert "errors" not in (await run(url, admin.id, "{ viewer { id } }", max_tokens=500))[1]


async def test_limits_hold_for_documents_seen_before(world) -> None:  # noqa: ANN001
    """Parsing and validation are cached per document: a refused document stays refused, an
    accepted one keeps answering, however often each is sent to one server."""
    url, admin = world
    settings = settings_for(url, max_query_depth=2, max_aliases=1)
    deep = "{ dailyStats { days { modelBreakdown { model } } } }"
    aliased = "{ a: viewer { id } b: viewer { id } }"
    fine = "{ viewer { id } }"
    async with app_client(settings, NOW) as client:
        api = Api(client, token_for(admin.id, settings))
        for _ in range(3):
            assert "exceeds maximum operation depth" in (await api.post(deep)).json()["errors"][0]["message"]
            assert "aliases found" in (await api.post(aliased)).json()["errors"][0]["message"].lower()
            assert (await api.query(fine))["viewer"]["id"] == admin.id


async def test_body_size_limit(world) -> None:  # noqa: ANN001
    url, admin = world
    settings = settings_for(url, max_body_bytes=2000)
    async with app_client(settings, NOW) as client:
        big = "{ viewer { id } }" + " " * 5000
        r = await client.post("/graphql", json={"query": big})
        assert r.status_code == 413
        assert r.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
        r = await client.post("/graphql", json={"query": "{ viewer { id } }"},
                              headers={"Authorization": f"Bearer {token_for(admin.id, settings)}"})
        assert r.status_code == 200


async def test_body_size_limit_holds_for_chunked_bodies(world) -> None:  # noqa: ANN001
    url, admin = world
    settings = settings_for(url, max_body_bytes=2000)
    headers = {"Authorization": f"Bearer {token_for(admin.id, settings)}", "Content-Type": "application/json"}

    def chunked(payload: bytes, size: int = 500):  # noqa: ANN202
        async def stream():  # noqa: ANN202 - no length known up front: sent as chunked transfer encoding
            for start in range(0, len(payload), size):
                yield payload[start:start + size]
        return stream()

    async with app_client(settings, NOW) as client:
        small = json.dumps({"query": "{ viewer { id } }"}).encode()
        big = json.dumps({"query": "{ viewer { id } }" + " " * 5000}).encode()
        r = await client.post("/graphql", content=chunked(small), headers=headers)
        assert "content-length" not in r.request.headers
        assert r.status_code == 200 and r.json()["data"]["viewer"]["id"] == admin.id
        r = await client.post("/graphql", content=chunked(big), headers=headers)
        assert "content-length" not in r.request.headers
        assert r.status_code == 413
        assert r.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_introspection_can_be_switched_off(world) -> None:  # noqa: ANN001
    url, admin = world
    assert "errors" not in (await run(url, admin.id, "{ __schema { queryType { name } } }"))[1]
    body = (await run(url, admin.id, "{ __schema { queryType { name } } }", introspection=False))[1]
    assert "introspection" in body["errors"][0]["message"].lower()


async def test_cors_is_off_by_default_and_configurable(world) -> None:  # noqa: ANN001
    url, _ = world
    preflight = {"Origin": "https://dash.example", "Access-Control-Request-Method": "POST"}
    async with app_client(settings_for(url), NOW) as client:
        r = await client.options("/graphql", headers=preflight)
        assert "access-control-allow-origin" not in r.headers
    async with app_client(settings_for(url, cors_origins=["https://dash.example"]), NOW) as client:
        r = await client.options("/graphql", headers=preflight)
        assert r.headers["access-control-allow-origin"] == "https://dash.example"


async def test_probes_and_metrics(world) -> None:  # noqa: ANN001
    url, admin = world
    settings = settings_for(url)
    async with app_client(settings, NOW) as client:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        ready = await client.get("/readyz")
        assert ready.status_code == 200 and ready.json() == {
            "database": "ok", "cache": "memory", "aggregates": {"latestDay": None, "daysBehind": None, "userTables": True},
            "missingIndexes": [],
        }
        api = Api(client, token_for(admin.id, settings))
        await api.post("query Dash { dashboardStats { today { requests } } }")
        await api.post("query Dash { dashboardStats { today { requests } } }")
        await api.post("{ recentRequests(limit: 0) { id } }")
        text = (await client.get("/metrics")).text
        # "Dash" is not a known (persisted) operation: its latency is labelled `other`.
        assert 'statsgraph_request_seconds_count{operation="other"} 2.0' in text
        assert 'statsgraph_cache_misses_total{field="DashboardStats.today"} 1.0' in text
        assert 'statsgraph_cache_hits_total{field="DashboardStats.today"} 1.0' in text
        assert 'statsgraph_errors_total{code="BAD_USER_INPUT"} 1.0' in text
        assert "statsgraph_sql_statements_per_request_count 3.0" in text

    # A database that cannot be reached: not ready, and queries answer SERVICE_UNAVAILABLE.
    broken = settings_for("sqlite+aiosqlite:////nonexistent-dir/none.db")
    async with app_client(broken, NOW) as client:
        ready = await client.get("/readyz")
        assert ready.status_code == 503
        body = (await Api(client, token_for(admin.id, broken)).post("{ viewer { id } }")).json()
        assert body["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_readiness_tells_how_far_the_aggregator_lags(kind, request, tmp_path_factory) -> None:  # noqa: ANN001
    url = fresh_database_url(kind, request, tmp_path_factory)
    await load_dataset(url, now=NOW, tz="Asia/Shanghai")
    settings = settings_for(url)
    # NOW is 23:30 on 2026-03-10 in Shanghai: yesterday is 03-09. The "stopped" aggregator last
    # ran five days earlier, on 03-05, so its newest day is 03-04.
    # "aether": aggregated without statsgraph's own tables (no `statsgraph db init` yet).
    for state, latest, behind, own in [
        ("never", None, None, True), ("complete", "2026-03-09", 0, True), ("stopped", "2026-03-04", 5, True),
        ("aether", "2026-03-09", 0, False),
    ]:
        await set_state(url, tz="Asia/Shanghai", now=NOW, state=state)
        async with app_client(settings, NOW) as client:
            ready = await client.get("/readyz")
            assert ready.status_code == 200
            assert ready.json()["aggregates"] == {"latestDay": latest, "daysBehind": behind, "userTables": own}, state
            gauge = next(line for line in (await client.get("/metrics")).text.splitlines()
                         if line.startswith("statsgraph_aggregates_days_behind "))
            assert gauge.split()[1] == ("NaN" if behind is None else f"{behind:.1f}"), state
