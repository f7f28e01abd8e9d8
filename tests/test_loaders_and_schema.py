"""Below HTTP, against a real database: the dataloaders on their own (each batch one statement
per scope, results aligned with the keys, None for a missing one, figures equal to the
independent reference), and the schema executed directly with a built context."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from statsgraph.core.calendar import BusinessCalendar
from statsgraph.core.scope import GLOBAL, UserScope
from statsgraph.core.viewer import Viewer
from statsgraph.db.engine import count_statements, make_engine, make_session_factory
from statsgraph.resolvers.cache import FieldCacheStore, MemoryCache
from statsgraph.resolvers.cache.ttl import TtlPolicy
from statsgraph.resolvers.context import Context
from statsgraph.resolvers.loaders import Loaders, ModelDayKey, ProviderCountKey, ProviderKey
from statsgraph.schema import build_schema
from tests import reference as ref
from tests.conftest import fresh_database_url, live_users, load_dataset, utc
from tests.states import set_state

NOW = utc(2026, 3, 10, 15, 30)
TZ = "America/New_York"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
async def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    url = fresh_database_url(request.param, request, tmp_path_factory)
    ds = await load_dataset(url, now=NOW, tz=TZ)
    await set_state(url, tz=TZ, now=NOW, state="gaps")  # stored and raw days in one batch
    return url, ds


@pytest.fixture
async def loaders(world):  # noqa: ANN001, ANN201
    url, _ = world
    engine = make_engine(url)
    yield Loaders(make_session_factory(engine), BusinessCalendar(TZ, clock=lambda: NOW))
    await engine.dispose()


async def test_users_by_id_one_statement_aligned_with_keys(world, loaders) -> None:  # noqa: ANN001
    _, ds = world
    a, b = live_users(ds)[:2]
    keys = [a.id, "no-such-user", b.id, a.id]
    async with count_statements() as counter:
        found = await asyncio.gather(*(loaders.users.load(k) for k in keys))
    assert counter.count == 1
    assert [u.id if u else None for u in found] == [a.id, None, b.id, a.id]
    assert found[0].username == a.username


async def test_providers_by_id_or_by_name_one_statement(world, loaders) -> None:  # noqa: ANN001
    _, ds = world
    first, second = ds.providers[:2]
    keys = [ProviderKey(first.id, None), ProviderKey(None, second.name), ProviderKey(None, "no-such-provider"),
            ProviderKey("no-such-id", first.name)]
    async with count_statements() as counter:
        found = await asyncio.gather(*(loaders.providers.load(k) for k in keys))
    assert counter.count == 1
    # An id wins over a name: a row with an unknown provider_id has no provider.
    assert [p.id if p else None for p in found] == [first.id, second.id, None, None]


async def test_request_counts_one_statement_per_scope(world, loaders) -> None:  # noqa: ANN001
    _, ds = world
    user = live_users(ds)[0]
    since = NOW - timedelta(hours=24)
    scopes = {None: GLOBAL, user.id: UserScope(user.id)}
    keys = [ProviderCountKey(scope, p.id, p.name, since) for scope in scopes.values() for p in ds.providers]
    async with count_statements() as counter:
        counts = await asyncio.gather(*(loaders.provider_counts.load(k) for k in keys))
    # The request's rolled-up hours (looked up once), then one statement per scope.
    assert counter.count == 1 + len(scopes)
    got = {(k.scope, k.provider_id): n for k, n in zip(keys, counts)}
    for owner, scope in scopes.items():
        want = {p["id"]: p["requests"] for p in ref.provider_status(ds, user_id=owner, now=NOW, limit=1000)}
        for p in ds.providers:
            if p.is_active:
                assert got[(scope, p.id)] == want[p.id], (owner, p.name)
    assert any(got.values()), "the dataset has traffic in the last 24 h"


async def test_model_days_one_statement_per_scope_whatever_the_days(world, loaders) -> None:  # noqa: ANN001
    _, ds = world
    user = live_users(ds)[0]
    calendar = BusinessCalendar(TZ, clock=lambda: NOW)
    today = calendar.today()
    days = [today - timedelta(days=n) for n in range(40)]
    scopes = {None: GLOBAL, user.id: UserScope(user.id)}
    keys = [ModelDayKey(scope, d) for scope in scopes.values() for d in days]
    async with count_statements() as counter:
        rows = await loaders.model_days.load_many(keys)
    # Per scope: which days are pre-aggregated, then the breakdown itself; once, today's
    # rolled-up hours.
    assert counter.count == 2 * len(scopes) + 1
    got = {(k.scope, k.day): sorted((m.model, m.requests) for m in r) for k, r in zip(keys, rows)}
    for owner, scope in scopes.items():
        for day in ref.daily(ds, user_id=owner, first_day=days[-1], last_day=today, tz=TZ):
            want = sorted((b["model"], b["requests"]) for b in day["model_breakdown"] if b["model"] is not None)
            assert got[(scope, day["date"])] == want, (owner, day["date"])
    assert any(got.values())


async def test_schema_executes_without_http_in_the_viewer_scope(world) -> None:  # noqa: ANN001
    """The schema layer alone (no HTTP, no auth): a context built for a user answers with their
    own figures; admin-only fields and another user's id are FORBIDDEN."""
    url, ds = world
    user, other = live_users(ds)[:2]
    engine = make_engine(url)
    calendar = BusinessCalendar(TZ, clock=lambda: NOW)
    ctx = Context(
        ttls=TtlPolicy(), calendar=calendar, sessions=make_session_factory(engine),
        cache=FieldCacheStore(MemoryCache(100), "test"),
        viewer=Viewer(id=user.id, username=user.username, email=user.email, role="user"),
    )
    schema = build_schema()
    own = await schema.execute(
        "{ viewer { id } dashboardStats { allTime { requests } systemHealth { errorRate } } }", context_value=ctx
    )
    theirs = await schema.execute(
        "query($other: ID) { dashboardStats(userId: $other) { allTime { requests } } }",
        variable_values={"other": other.id}, context_value=ctx,
    )
    await engine.dispose()
    want = ref.totals(ds, user_id=user.id, first_day=None, last_day=calendar.today(), tz=TZ)
    assert own.data is not None
    assert own.data["viewer"]["id"] == user.id
    assert own.data["dashboardStats"]["allTime"]["requests"] == want["requests"]
    # An admin-only field: null with FORBIDDEN, the rest of the answer intact.
    assert own.data["dashboardStats"]["systemHealth"] is None
    assert [(e.path, e.extensions["code"]) for e in own.errors or []] == [
        (["dashboardStats", "systemHealth"], "FORBIDDEN")
    ]
    # Another user's figures: refused (a nullable root: null, with its error).
    assert theirs.data == {"dashboardStats": None}
    assert [e.extensions["code"] for e in theirs.errors or []] == ["FORBIDDEN"]
