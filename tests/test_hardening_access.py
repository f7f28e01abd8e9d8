"""Hardening of who gets in and what they see: canonical tokens, a logout list that no breaker
turns off, private HTTP caching, bounded metric labels, partial answers, operator figures."""

from __future__ import annotations

import hashlib
import uuid
from contextlib import asynccontextmanager

import httpx
import pytest
import redis.asyncio as aioredis

from statsgraph.resolvers.cache import RedisCache
from statsgraph.server.app import create_app
from statsgraph.server.runtime import make_runtime
from statsgraph.server.settings import Settings
from tests.conftest import (
    Api,
    app_client,
    assert_forbidden,
    live_admin,
    live_users,
    load_dataset,
    settings_for,
    sqlite_url,
    token_for,
    utc,
)

NOW = utc(2026, 3, 10, 15, 30)


@pytest.fixture(scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    url = sqlite_url(tmp_path_factory, "hardening-access")
    ds = await load_dataset(url, now=NOW, tz="Asia/Shanghai")
    return url, live_admin(ds), live_users(ds)[0], live_users(ds)[1]


@asynccontextmanager
async def client_and_runtime(settings: Settings):  # noqa: ANN201
    rt = make_runtime(settings, clock=lambda: NOW)
    app = create_app(settings, runtime=rt)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            yield client, rt
    finally:
        await app.state.lane.close(timeout=5)
        await rt.engine.dispose()
        if hasattr(rt.shared, "close"):
            await rt.shared.close()


async def _log_out(redis_url: str, token: str) -> None:
    r = aioredis.from_url(redis_url)
    await r.set("jwt:blacklist:" + hashlib.sha256(token.encode()).hexdigest(), "1", ex=120)
    await r.aclose()


def _code(body: dict) -> str | None:
    errors = body.get("errors") or []
    return errors[0].get("extensions", {}).get("code") if errors else None


# --- 3. canonical tokens ---------------------------------------------------------------------

@pytest.mark.parametrize("spelling", ["padded", "double-padded", "trailing-bits"])
async def test_a_logged_out_token_stays_out_whatever_its_spelling(world, redis_server, spelling) -> None:  # noqa: ANN001
    url, admin, _alice, _bob = world
    settings = settings_for(url, redis_url=redis_server.url)
    token = token_for(admin.id, settings)
    await _log_out(redis_server.url, token)
    head, payload, signature = token.split(".")
    if spelling == "padded":
        variant = token + "="
    elif spelling == "double-padded":
        variant = token + "=="
    else:
        # The last base64url character of a 32-byte signature carries 2 unused bits.
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        last = alphabet.index(signature[-1])
        variant = f"{head}.{payload}.{signature[:-1]}{alphabet[last ^ 1]}"
    async with app_client(settings, NOW) as client:
        body = (await Api(client, variant).post("{ viewer { id } }")).json()
    assert _code(body) == "UNAUTHENTICATED", body


async def test_a_malformed_token_is_refused(world) -> None:  # noqa: ANN001
    url, admin, _alice, _bob = world
    settings = settings_for(url)
    token = token_for(admin.id, settings)
    async with app_client(settings, NOW) as client:
        api = Api(client, token)
        for bad in (token + "=x", token.replace(".", ". ", 1), token + ".x", "a.b"):
            body = (await api.post("{ viewer { id } }", token=bad)).json()
            assert _code(body) == "UNAUTHENTICATED", (bad, body)
        assert (await api.query("{ viewer { id } }"))["viewer"]["id"] == admin.id


# --- 2. the logout list is never switched off ------------------------------------------------

async def test_a_tripped_cache_breaker_does_not_skip_the_logout_list(world, redis_server) -> None:  # noqa: ANN001
    url, admin, alice, _bob = world
    settings = settings_for(url, redis_url=redis_server.url, redis_max_connections=4)
    logged_out = token_for(admin.id, settings)
    await _log_out(redis_server.url, logged_out)
    async with client_and_runtime(settings) as (client, rt):
        assert isinstance(rt.shared, RedisCache)
        # Exhaust the cache's pool, then let a cached field wait for it: the breaker trips.
        pool = rt.shared._redis.connection_pool
        held = [await pool.get_connection() for _ in range(4)]
        try:
            user = Api(client, token_for(alice.id, settings))
            body = (await user.post("{ dashboardStats { today { requests } } }")).json()
            assert body["data"]["dashboardStats"]["today"]["requests"] >= 0, body
            assert not rt.shared.available, "the cache breaker should be open"
            # The breaker skips the cache, never the logout list.
            body = (await Api(client, logged_out).post("{ viewer { id } }")).json()
            assert _code(body) == "UNAUTHENTICATED", body
            body = (await Api(client, logged_out + "=").post("{ viewer { id } }")).json()
            assert _code(body) == "UNAUTHENTICATED", body
            # A token that was not logged out still gets in.
            assert (await user.query("{ viewer { id } }"))["viewer"]["id"] == alice.id
        finally:
            for conn in held:
                await pool.release(conn)


async def test_a_failed_logout_list_lookup_affects_that_request_only(world, redis_server, caplog) -> None:  # noqa: ANN001
    url, _admin, alice, _bob = world
    settings = settings_for(url, redis_url=redis_server.url)
    token = token_for(alice.id, settings)
    async with client_and_runtime(settings) as (client, rt):
        assert isinstance(rt.shared, RedisCache)
        api = Api(client, token)
        real = rt.shared._auth
        rt.shared._auth = aioredis.from_url("redis://127.0.0.1:1", socket_connect_timeout=0.1)
        try:
            # The documented policy: a request whose own lookup failed is served without it.
            assert (await api.query("{ viewer { id } }"))["viewer"]["id"] == alice.id
            assert any("logout list unreachable" in r.getMessage() for r in caplog.records)
        finally:
            await rt.shared._auth.aclose()
            rt.shared._auth = real
        # The very next request looks again: the token, now logged out, is refused.
        await _log_out(redis_server.url, token)
        body = (await api.post("{ viewer { id } }")).json()
        assert _code(body) == "UNAUTHENTICATED", body


# --- 10. nothing scope-dependent is publicly cacheable ---------------------------------------

async def test_admin_answers_are_private(world) -> None:  # noqa: ANN001
    url, admin, alice, _bob = world
    settings = settings_for(url)
    async with app_client(settings, NOW) as client:
        for who in (admin, alice):
            headers = {"Authorization": f"Bearer {token_for(who.id, settings)}"}
            r = await client.get(
                "/graphql", params={"query": "{ dashboardStats { today { requests } } }"}, headers=headers
            )
            assert r.status_code == 200, r.text
            cache_control = r.headers["cache-control"]
            assert cache_control.startswith("private") or cache_control == "no-store", cache_control
            assert "public" not in cache_control


# --- 5. metric labels from a bounded set -----------------------------------------------------

async def test_operation_names_from_clients_are_not_metric_labels(world) -> None:  # noqa: ANN001
    url, admin, _alice, _bob = world
    settings = settings_for(url)
    async with app_client(settings, NOW) as client:
        api = Api(client, token_for(admin.id, settings))
        names = [f"Op{uuid.uuid4().hex}" for _ in range(20)]
        for name in names:
            await api.post(f"query {name} {{ viewer {{ id }} }}")
        await client.get("/api/dashboard/provider-status", headers={"Authorization": f"Bearer {api.token}"})
        text = (await client.get("/metrics")).text
    assert not any(name in text for name in names)
    assert 'operation="other"' in text
    assert 'operation="LegacyProviders"' in text


# --- 11. one refused root leaves the others ---------------------------------------------------

async def test_a_forbidden_root_field_leaves_its_siblings(world) -> None:  # noqa: ANN001
    url, _admin, alice, bob = world
    settings = settings_for(url)
    async with app_client(settings, NOW) as client:
        api = Api(client, token_for(alice.id, settings))
        body = (await api.post(
            "query($u: ID) { a: dashboardStats { today { requests } } "
            "b: dashboardStats(userId: $u) { today { requests } } viewer { id } }",
            {"u": bob.id},
        )).json()
    assert body["data"]["a"]["today"]["requests"] >= 0, body
    assert body["data"]["b"] is None
    assert body["data"]["viewer"] == {"id": alice.id}
    assert_forbidden(body, ["b"])


# --- operator figures: admin viewers only ----------------------------------------------------

OPERATOR = "query($u: ID) { dashboardStats(userId: $u) { allTime { cost actualCost costSavings } month { actualCost } } }"


async def test_operator_figures_are_forbidden_to_a_user(world) -> None:  # noqa: ANN001
    url, _admin, alice, _bob = world
    settings = settings_for(url)
    async with app_client(settings, NOW) as client:
        body = (await Api(client, token_for(alice.id, settings)).post(OPERATOR)).json()
    totals = body["data"]["dashboardStats"]["allTime"]
    assert totals["cost"] >= 0
    assert totals["actualCost"] is None and totals["costSavings"] is None
    assert body["data"]["dashboardStats"]["month"]["actualCost"] is None
    assert_forbidden(body)
    paths = {tuple(e["path"]) for e in body["errors"]}
    assert paths == {
        ("dashboardStats", "allTime", "actualCost"),
        ("dashboardStats", "allTime", "costSavings"),
        ("dashboardStats", "month", "actualCost"),
    }


async def test_operator_figures_for_an_admin_in_any_scope(world) -> None:  # noqa: ANN001
    url, admin, alice, _bob = world
    settings = settings_for(url)
    async with app_client(settings, NOW) as client:
        api = Api(client, token_for(admin.id, settings))
        for target in (None, alice.id):
            data = await api.query(OPERATOR, {"u": target})
            totals = data["dashboardStats"]["allTime"]
            assert isinstance(totals["actualCost"], float)
            assert totals["costSavings"] == pytest.approx(totals["cost"] - totals["actualCost"])
        # A user's cached totals are rebuilt for the admin with the operator figures intact,
        # and the admin's never reach the user.
        user = Api(client, token_for(alice.id, settings))
        body = (await user.post(OPERATOR)).json()
        assert body["data"]["dashboardStats"]["allTime"]["actualCost"] is None


async def test_legacy_stats_never_carry_operator_figures_for_a_user(world) -> None:  # noqa: ANN001
    url, admin, alice, _bob = world
    settings = settings_for(url)
    async with app_client(settings, NOW) as client:
        r = await client.get("/api/dashboard/stats", headers={"Authorization": f"Bearer {token_for(alice.id, settings)}"})
        assert r.status_code == 200, r.text
        text = r.text
        assert "actual" not in text and "saving" not in text and "倍率后" not in text, text
        r = await client.get("/api/dashboard/stats", headers={"Authorization": f"Bearer {token_for(admin.id, settings)}"})
        assert r.status_code == 200, r.text
        assert "total_actual_cost" in r.json()["cost_stats"]
