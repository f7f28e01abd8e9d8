"""Scope cannot be escaped, and only valid access tokens of live users get in."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta, timezone

import jwt
import pytest
import redis.asyncio as aioredis
from sqlalchemy import update

from statsgraph.db.engine import make_engine, make_session_factory
from statsgraph.db.models import User
from tests.conftest import (
    SECRET,
    Api,
    app_client,
    assert_forbidden,
    create_tables,
    live_admin,
    live_users,
    load_dataset,
    settings_for,
    sqlite_url,
    token_for,
    utc,
)
from tests.factories import edge_case_dataset, insert_dataset

NOW = utc(2026, 3, 10, 15, 30)


@pytest.fixture(scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    url = sqlite_url(tmp_path_factory, "scope")
    ds = await load_dataset(url, now=NOW, tz="Asia/Shanghai")
    admin = live_admin(ds)
    users = live_users(ds)
    return url, ds, admin, users[0], users[1]


def _token(payload: dict, secret: str = SECRET, alg: str = "HS256") -> str:
    return jwt.encode(payload, secret, algorithm=alg)


def _unsigned(payload: dict) -> str:
    def part(obj: dict) -> str:
        return jwt.utils.base64url_encode(json.dumps(obj).encode()).decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(payload)}."


def test_an_unsigned_token_differs_from_a_good_one_only_in_its_algorithm() -> None:
    """The alg-none case below must be refused for its algorithm alone: decoded without
    verification, its claims are exactly those of an accepted token."""
    exp = int((datetime.now(timezone.utc) + timedelta(hours=1)).timestamp())
    claims = {"user_id": "admin-id", "type": "access", "exp": exp}
    token = _unsigned(claims)
    assert jwt.get_unverified_header(token)["alg"] == "none"
    assert jwt.decode(token, options={"verify_signature": False}) == claims


async def test_user_cannot_read_another_users_data(world) -> None:  # noqa: ANN001
    url, ds, admin, alice, bob = world
    settings = settings_for(url)
    async with app_client(settings, NOW) as client:
        api = Api(client, token_for(alice.id, settings))
        for query in (
            "query($u: ID){ dashboardStats(userId: $u) { allTime { requests } } }",
            "query($u: ID){ recentRequests(userId: $u) { id } }",
            "query($u: ID){ dailyStats(userId: $u) { days { requests } } }",
        ):
            for target in (bob.id, admin.id, "no-such-user"):
                body = (await api.post(query, {"u": target})).json()
                # Root fields are nullable: the refused root is null, with its error.
                assert not any((body["data"] or {}).values()), body
                assert_forbidden(body)

        # Own id is allowed and equals the default.
        own = await api.query("query($u: ID){ dashboardStats(userId: $u) { allTime { requests } } }", {"u": alice.id})
        default = await api.query("{ dashboardStats { allTime { requests } } }")
        assert own == default
        alice_rows = sum(1 for r in ds.usage if r.user_id == alice.id)
        assert default["dashboardStats"]["allTime"]["requests"] == alice_rows

        # Recent requests: only her own rows, through any limit.
        got = await api.query("{ recentRequests(limit: 100) { id user { id } } }")
        ids = {r.id for r in ds.usage if r.user_id == alice.id}
        assert got["recentRequests"], "alice has requests"
        assert {r["id"] for r in got["recentRequests"]} <= ids
        assert {r["user"]["id"] for r in got["recentRequests"]} == {alice.id}


async def test_admin_only_fields_are_null_with_forbidden_for_a_user(world) -> None:  # noqa: ANN001
    url, ds, admin, alice, _ = world
    settings = settings_for(url)
    async with app_client(settings, NOW) as client:
        api = Api(client, token_for(alice.id, settings))
        body = (await api.post("{ dashboardStats { today { requests } users { total } systemHealth { errorRate } } }")).json()
        assert body["data"]["dashboardStats"]["users"] is None
        assert body["data"]["dashboardStats"]["systemHealth"] is None
        assert isinstance(body["data"]["dashboardStats"]["today"]["requests"], int)
        codes = sorted((e["path"][-1], e["extensions"]["code"]) for e in body["errors"])
        assert codes == [("systemHealth", "FORBIDDEN"), ("users", "FORBIDDEN")]


async def test_admin_unknown_user_id_is_bad_input(world) -> None:  # noqa: ANN001
    url, _ds, admin, _alice, _ = world
    settings = settings_for(url)
    async with app_client(settings, NOW) as client:
        api = Api(client, token_for(admin.id, settings))
        body = (await api.post('{ dashboardStats(userId: "nope") { today { requests } } }')).json()
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


@pytest.mark.parametrize(
    "query",
    [
        "{ recentRequests(limit: 0) { id } }",
        "{ recentRequests(limit: 101) { id } }",
        "{ providerStatus(limit: 0) { id } }",
        "{ providerStatus(limit: 1000) { id } }",
        "{ dailyStats(days: 0) { period { days } } }",
        "{ dailyStats(days: 367) { period { days } } }",
    ],
)
async def test_out_of_range_arguments_are_bad_user_input(world, query: str) -> None:  # noqa: ANN001
    url, _ds, admin, _alice, _ = world
    settings = settings_for(url)
    async with app_client(settings, NOW) as client:
        response = await Api(client, token_for(admin.id, settings)).post(query)
        assert response.status_code == 200
        body = response.json()
        assert not any((body["data"] or {}).values())
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_bad_tokens_are_unauthenticated(world) -> None:  # noqa: ANN001
    url, ds, admin, alice, _ = world
    settings = settings_for(url)
    now = datetime.now(timezone.utc)
    inactive = next(u for u in ds.users if not u.is_active and not u.is_deleted)
    deleted = next(u for u in ds.users if u.is_deleted)
    good = {"user_id": admin.id, "type": "access", "exp": now + timedelta(hours=1)}
    bad_tokens = {
        "expired": _token({**good, "exp": now - timedelta(seconds=5)}),
        "forged": _token(good, secret="someone-elses-secret-0123456789abc"),
        "refresh": _token({**good, "type": "refresh"}),
        "no-exp": _token({"user_id": admin.id, "type": "access"}),
        # Everything right but the algorithm: an unsigned token for a live admin, unexpired.
        "alg-none": _unsigned({**good, "exp": int(good["exp"].timestamp())}),
        "inactive": _token({**good, "user_id": inactive.id}),
        "deleted": _token({**good, "user_id": deleted.id}),
        "unknown-user": _token({**good, "user_id": "ghost"}),
        "garbage": "not-a-jwt",
    }
    async with app_client(settings, NOW) as client:
        api = Api(client, None)
        body = (await api.post("{ dashboardStats { today { requests } } }")).json()
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        for name, tok in bad_tokens.items():
            body = (await api.post("{ viewer { id } dashboardStats { today { requests } } }", token=tok)).json()
            assert not any((body["data"] or {}).values()), name
            assert {e["extensions"]["code"] for e in body["errors"]} == {"UNAUTHENTICATED"}, (name, body)
        ok = await api.post("{ viewer { id role } }", token=_token(good))
        assert ok.json()["data"]["viewer"] == {"id": admin.id, "role": "ADMIN"}


async def test_blacklisted_token_is_refused(world, redis_server) -> None:  # noqa: ANN001
    url, _ds, admin, _alice, _ = world
    settings = settings_for(url, redis_url=redis_server.url)
    token = token_for(admin.id, settings)
    async with app_client(settings, NOW) as client:
        api = Api(client, token)
        assert (await api.query("{ viewer { id } }"))["viewer"]["id"] == admin.id
        r = aioredis.from_url(redis_server.url)
        await r.set("jwt:blacklist:" + hashlib.sha256(token.encode()).hexdigest(), "1", ex=60)
        await r.aclose()
        body = (await api.post("{ viewer { id } }")).json()
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_user_deactivated_after_token_issue_is_refused(world) -> None:  # noqa: ANN001
    url, ds, _admin, _alice, bob = world
    settings = settings_for(url)
    token = token_for(bob.id, settings)
    engine = make_engine(url)
    async with app_client(settings, NOW) as client:
        api = Api(client, token)
        assert (await api.query("{ viewer { id } }"))["viewer"]["id"] == bob.id
        async with engine.begin() as conn:
            await conn.execute(update(User).where(User.id == bob.id).values(is_active=False))
        try:
            body = (await api.post("{ viewer { id } }")).json()
            assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        finally:
            async with engine.begin() as conn:
                await conn.execute(update(User).where(User.id == bob.id).values(is_active=True))
    await engine.dispose()


async def test_internal_errors_are_masked_with_a_request_id(tmp_path, caplog) -> None:  # noqa: ANN001
    url = f"sqlite+aiosqlite:///{tmp_path / 'broken.db'}"
    await create_tables(url)
    ds = edge_case_dataset(now=NOW, tz="Asia/Shanghai")
    engine = make_engine(url)
    async with make_session_factory(engine)() as session:
        await insert_dataset(session, ds)
    async with engine.begin() as conn:
        await conn.exec_driver_sql("DROP TABLE api_keys")
    await engine.dispose()
    admin = live_admin(ds)
    settings = settings_for(url)
    async with app_client(settings, NOW) as client:
        response = await client.post(
            "/graphql",
            json={"query": "{ dashboardStats { today { requests } apiKeys { total } } }"},
            headers={"Authorization": f"Bearer {token_for(admin.id, settings)}", "X-Request-Id": "abc123"},
        )
        assert response.status_code == 200
        text = response.text.lower()
        assert "api_keys" not in text and "sqlite" not in text and "select" not in text
        body = response.json()
        assert body["data"] is None or body["data"]["dashboardStats"] is None
        (error,) = body["errors"]
        assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": "abc123"}
        assert "abc123" in caplog.text and "api_keys" in caplog.text
