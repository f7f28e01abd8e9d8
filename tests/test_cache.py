"""The field cache, on a real Redis: scoped keys, hits without SQL, TTLs, no stampede,
Redis outages, and sharing between processes."""

from __future__ import annotations

import asyncio
import itertools
import os
import subprocess
import sys
import time

import httpx
import pytest
import redis.asyncio as aioredis

from statsgraph.db.engine import count_statements
from tests.conftest import (
    SECRET,
    Api,
    app_client,
    load_dataset,
    settings_for,
    sqlite_url,
    token_for,
)
from tests.documents import (
    DAYS,
    FULL_DOC,
    NOW,
    USER_DOC,
    assert_same,
    expected_full,
    pick_users,
)
from tests.servers import free_port
from tests.states import set_state

TZ = "Asia/Shanghai"
SHORT = "{ dashboardStats { today { requests cost } allTime { requests totalTokens } } providerStatus { name requests } }"


@pytest.fixture(scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    url = sqlite_url(tmp_path_factory, "cache")
    ds = await load_dataset(url, now=NOW, tz=TZ)
    await set_state(url, tz=TZ, now=NOW, state="complete")
    return url, ds


async def flush(url: str) -> None:
    r = aioredis.from_url(url)
    await r.flushdb()
    await r.aclose()


async def test_no_viewer_is_served_another_scopes_figures(world, redis_server) -> None:  # noqa: ANN001
    url, ds = world
    admin, alice, bob = pick_users(ds)
    settings = settings_for(url, tz=TZ, redis_url=redis_server.url)
    viewers = {"admin": (admin.id, None, True), "alice": (alice.id, alice.id, False), "bob": (bob.id, bob.id, False)}
    wants = {name: expected_full(ds, scope, TZ, admin=is_admin) for name, (_, scope, is_admin) in viewers.items()}
    for order in itertools.permutations(viewers):
        await flush(redis_server.url)
        async with app_client(settings, NOW) as client:
            for _round in range(2):  # cold, then warm: every entry now exists for every scope
                for name in order:
                    viewer_id = viewers[name][0]
                    doc = FULL_DOC if viewers[name][2] else USER_DOC
                    got = await Api(client, token_for(viewer_id, settings)).query(doc, {"days": DAYS})
                    assert_same(got, wants[name], f"{'/'.join(order)}:{name}")
        # An admin reading a user's scope shares that user's entries, never the global ones.
        async with app_client(settings, NOW) as client:
            got = await Api(client, token_for(admin.id, settings)).query(FULL_DOC, {"days": DAYS, "userId": alice.id})
            assert_same(got, expected_full(ds, alice.id, TZ, admin=True), "admin-as-alice")


async def test_hit_equals_miss_runs_no_sql_and_expires(world, redis_server) -> None:  # noqa: ANN001
    url, ds = world
    admin, _, _ = pick_users(ds)
    await flush(redis_server.url)
    # A few seconds of lifetime: long enough that a loaded machine still reads every entry back
    # before the first one stored expires, short enough to wait out.
    ttl = 3
    settings = settings_for(url, tz=TZ, redis_url=redis_server.url, ttl_dashboard_global=ttl, ttl_provider_status=ttl)
    async with app_client(settings, NOW) as client:
        api = Api(client, token_for(admin.id, settings))
        async with count_statements() as cold:
            first = await api.post(SHORT)
        async with count_statements() as warm:
            second = await api.post(SHORT)
        assert first.json()["data"] == second.json()["data"]
        assert cold.count > 1
        assert warm.count == 1  # authentication only
        assert f"max-age={ttl}" in second.headers["cache-control"]
        computed = second.json()["extensions"]["cache"]["computedAt"]
        assert set(computed) == {"dashboardStats.today", "dashboardStats.allTime", "providerStatus"}
        await asyncio.sleep(ttl + 0.3)
        async with count_statements() as expired:
            third = await api.post(SHORT)
        assert expired.count == cold.count
        assert third.json()["data"] == first.json()["data"]
        assert third.json()["extensions"]["cache"]["computedAt"] != computed


async def test_concurrent_cold_misses_compute_once(world, redis_server) -> None:  # noqa: ANN001
    url, ds = world
    admin, _, _ = pick_users(ds)
    await flush(redis_server.url)
    settings = settings_for(url, tz=TZ, redis_url=redis_server.url)
    async with app_client(settings, NOW) as client:
        store = client._transport.app.state.runtime.cache  # type: ignore[attr-defined]
        api = Api(client, token_for(admin.id, settings))
        bodies = await asyncio.gather(*(api.query(SHORT) for _ in range(50)))
        assert all(b == bodies[0] for b in bodies)
        assert store.counters.misses == {
            "DashboardStats.today": 1, "DashboardStats.allTime": 1, "Query.providerStatus": 1
        }


async def test_redis_outage_is_not_an_outage(world, redis_server) -> None:  # noqa: ANN001
    url, ds = world
    admin, _, _ = pick_users(ds)
    await flush(redis_server.url)
    settings = settings_for(url, tz=TZ, redis_url=redis_server.url, redis_breaker_seconds=0.5)
    want = None
    async with app_client(settings, NOW) as client:
        api = Api(client, token_for(admin.id, settings))
        want = await api.query(SHORT)
        redis_server.stop()
        try:
            for _ in range(6):
                started = time.monotonic()
                got = await api.query(SHORT)
                assert got == want
                assert time.monotonic() - started < 2.0
                await asyncio.sleep(0.2)  # let the breaker close and probe again
        finally:
            redis_server.start()
        # Back, once the breaker closes: entries are written again and read from Redis.
        await asyncio.sleep(0.6)
        await api.query(SHORT)
        async with count_statements() as warm:
            assert await api.query(SHORT) == want
        assert warm.count == 1


async def test_two_processes_share_entries(world, redis_server) -> None:  # noqa: ANN001
    url, ds = world
    admin, _, _ = pick_users(ds)
    await flush(redis_server.url)
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "JWT_SECRET_KEY": SECRET, "APP_TIMEZONE": TZ,
           "REDIS_URL": redis_server.url}
    server = subprocess.Popen(
        [sys.executable, "-m", "statsgraph.server.cli", "serve", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        settings = settings_for(url, tz=TZ, redis_url=redis_server.url)
        token = token_for(admin.id, settings)
        query = "{ dashboardStats { allTime { requests totalTokens } } }"
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as other:
            for _ in range(100):
                try:
                    r = await other.post("/graphql", json={"query": query}, headers={"Authorization": f"Bearer {token}"})
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
            else:
                raise AssertionError("the second process did not start")
        assert r.status_code == 200 and "errors" not in r.json(), r.text
        # This process has never computed it: its answer comes from the other's entry.
        # (The other process runs on the real clock, so this one does too.)
        async with app_client(settings) as client:
            async with count_statements() as counter:
                mine = await Api(client, token).query(query)
            assert mine == r.json()["data"]
            assert counter.count == 1
    finally:
        server.terminate()
        server.wait(timeout=10)


async def test_admin_only_fields_stay_forbidden_with_a_warm_cache(world, redis_server) -> None:  # noqa: ANN001
    url, ds = world
    admin, alice, _ = pick_users(ds)
    await flush(redis_server.url)
    settings = settings_for(url, tz=TZ, redis_url=redis_server.url)
    query = "query($u: ID) { dashboardStats(userId: $u) { users { total } systemHealth { errorRate totalRequests } } }"
    async with app_client(settings, NOW) as client:
        # The admin warms the entries of alice's scope...
        warm = await Api(client, token_for(admin.id, settings)).query(query, {"u": alice.id})
        assert warm["dashboardStats"]["systemHealth"] is not None
        # ...and alice, whose scope those entries belong to, still may not read the fields.
        body = (await Api(client, token_for(alice.id, settings)).post(query, {"u": alice.id})).json()
        assert body["data"]["dashboardStats"] == {"users": None, "systemHealth": None}
        assert sorted(e["extensions"]["code"] for e in body["errors"]) == ["FORBIDDEN", "FORBIDDEN"]


async def command_calls(url: str) -> dict[str, int]:
    r = aioredis.from_url(url)
    stats = await r.info("commandstats")
    await r.aclose()
    return {name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in stats.items()}


async def test_a_warm_page_reads_its_fields_in_a_few_round_trips(world, redis_server) -> None:  # noqa: ANN001
    # Sibling fields ask for their entries together: one MGET per level of the document (the
    # root's fields, then dashboardStats' and dailyStats'), not one GET per cached field.
    url, ds = world
    admin, _, _ = pick_users(ds)
    await flush(redis_server.url)
    settings = settings_for(url, tz=TZ, redis_url=redis_server.url)
    variables = {"userId": None, "days": DAYS}
    async with app_client(settings, NOW) as client:
        api = Api(client, token_for(admin.id, settings))
        cold = (await api.post(FULL_DOC, variables)).json()
        before = await command_calls(redis_server.url)
        warm = (await api.post(FULL_DOC, variables)).json()
        after = await command_calls(redis_server.url)
    assert warm["data"] == cold["data"] and not warm.get("errors")
    cached = warm["extensions"]["cache"]["computedAt"]
    assert len(cached) >= 8, cached
    calls = {name: after.get(name, 0) - before.get(name, 0) for name in ("get", "mget")}
    assert calls["get"] == 0, calls
    assert 1 <= calls["mget"] <= 3, calls
