"""Only what is asked runs, and lists cost a constant number of statements (no N+1)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import insert

from statsgraph.db.engine import count_statements, make_engine, make_session_factory
from statsgraph.db.models import Provider, Usage, User
from tests.conftest import (
    Api,
    app_client,
    fresh_database_url,
    live_admin,
    load_dataset,
    settings_for,
    token_for,
    utc,
)

# Without the operator figures, so that admin and user viewers send the same document.
from tests.documents import USER_DOC as FULL_DOC

NOW = utc(2026, 3, 10, 15, 30)
AUTH_STATEMENTS = 1  # the viewer's user row
ADMIN_EXTRA = "{ dashboardStats { users { total active } systemHealth { errorRate avgResponseTime } } }"


@pytest.fixture(params=["sqlite", "postgresql"])
async def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    url = fresh_database_url(request.param, request, tmp_path_factory)
    ds = await load_dataset(url, now=NOW, tz="Asia/Shanghai")
    admin = live_admin(ds)
    user = next(u for u in ds.users if u.role != "admin" and u.is_active and not u.is_deleted)
    return url, admin, user


async def statements(url: str, viewer_id: str, query: str, variables: dict | None = None) -> int:
    """Statements one fresh server (cold cache) runs for one request."""
    settings = settings_for(url)
    async with app_client(settings, NOW) as client:
        api = Api(client, token_for(viewer_id, settings))
        async with count_statements() as counter:
            await api.query(query, variables)
        return counter.count - AUTH_STATEMENTS


# Today's rolled-up hours, looked up once per request that reads the open day's totals.
ROLLED_HOURS = 1


async def test_one_field_runs_one_statement(world) -> None:  # noqa: ANN001
    url, admin, user = world
    today = "{ dashboardStats { today { requests } } }"
    assert await statements(url, admin.id, today) == ROLLED_HOURS + 1
    assert await statements(url, admin.id, "{ dashboardStats { today { requests cost totalTokens avgResponseTime fallbackCount } } }") == ROLLED_HOURS + 1
    assert await statements(url, user.id, "{ dashboardStats { today { requests cacheHitRate } } }") == ROLLED_HOURS + 1
    assert await statements(url, admin.id, "{ viewer { id username } }") == 0


async def test_full_document_is_constant(world) -> None:  # noqa: ANN001
    url, admin, user = world
    counts = set()
    for viewer in (admin.id, user.id):
        for days in (1, 7, 90, 366):
            doc = FULL_DOC.replace("recentRequests(limit: 25", "recentRequests(limit: $limit").replace(
                "query ($userId: ID, $days: Int!)", "query ($userId: ID, $days: Int!, $limit: Int!)"
            )
            for limit in (1, 100):
                counts.add((viewer == admin.id, days, await statements(url, viewer, doc, {"days": days, "limit": limit})))
    by_role = {}
    for is_admin, days, n in counts:
        if days > 1:
            by_role.setdefault(is_admin, set()).add(n)
    assert all(len(v) == 1 for v in by_role.values()), by_role
    before = {k: next(iter(v)) for k, v in by_role.items()}
    # A one-day report is the open day alone, which the dashboard's periods already read: one
    # statement fewer (its closed part is empty), never more.
    one_day = {(is_admin, n) for is_admin, days, n in counts if days == 1}
    assert one_day == {(True, before[True] - 1), (False, before[False] - 1)}, one_day
    admin_extra = await statements(url, admin.id, ADMIN_EXTRA)

    # More providers, users and models, with traffic: the counts do not move.
    engine = make_engine(url)
    async with make_session_factory(engine)() as session:
        providers = [{"id": str(uuid.uuid4()), "name": f"p{i}", "display_name": f"P{i}", "is_active": True,
                      "created_at": NOW} for i in range(25)]
        users = [{"id": str(uuid.uuid4()), "username": f"extra{i}", "email": f"e{i}@x", "password_hash": "!",
                  "role": "user", "is_active": True, "is_deleted": False, "used_usd": 0.0, "created_at": NOW}
                 for i in range(30)]
        await session.execute(insert(Provider), providers)
        await session.execute(insert(User), users)
        rows = []
        for i in range(600):
            p = providers[i % 25]
            rows.append({
                "id": str(uuid.uuid4()), "request_id": f"extra-{i}", "user_id": users[i % 30]["id"],
                "provider_id": p["id"], "provider_name": p["name"], "model": f"model-{i % 17}",
                "input_tokens": 10, "output_tokens": 5, "total_tokens": 15, "total_cost_usd": 0.01,
                "status_code": 200, "response_time_ms": 100, "status": "completed",
                "created_at": NOW - timedelta(minutes=i),
            })
        await session.execute(insert(Usage), rows)
        await session.commit()
    await engine.dispose()
    doc = FULL_DOC
    assert await statements(url, admin.id, doc, {"days": 30}) == before[True]
    assert await statements(url, user.id, doc, {"days": 30}) == before[False]
    assert await statements(url, admin.id, ADMIN_EXTRA) == admin_extra


async def test_recent_requests_page_is_not_n_plus_one(world) -> None:  # noqa: ANN001
    url, admin, _ = world
    q = "query($n: Int!) { recentRequests(limit: $n) { id user { username } provider { name } } }"
    small = await statements(url, admin.id, q, {"n": 2})
    large = await statements(url, admin.id, q, {"n": 100})
    assert small == large == 3  # the page, its users, its providers


async def test_concurrent_requests_do_not_starve_a_small_pool(postgres) -> None:  # noqa: ANN001
    # Ten full documents fan out to more sessions than the pool holds: they queue, none fails.
    import asyncio

    url = postgres.create_database("smallpool")
    ds = await load_dataset(url, now=NOW, tz="Asia/Shanghai")
    settings = settings_for(url, db_pool_size=2, db_max_overflow=0, ttl_dashboard_global=0, ttl_daily_stats=0)
    async with app_client(settings, NOW) as client:
        api = Api(client, token_for(live_admin(ds).id, settings))
        bodies = await asyncio.wait_for(
            asyncio.gather(*(api.query(FULL_DOC, {"days": 7 + i}) for i in range(10))), timeout=60
        )
    assert len({b["dashboardStats"]["allTime"]["requests"] for b in bodies}) == 1
