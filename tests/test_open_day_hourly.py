"""The open day reads its rolled-up hours from the hourly rollup and only the rest of its rows
raw: the figures stay exact when hours are rolled up, when a rolled-up hour gains a streaming
row, and when that row completes later; distinct counts and fallbacks, which do not add up
across hours, from the hours' names and candidate entries."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import timedelta

import pytest
from sqlalchemy import insert, select, update

from statsgraph.core.calendar import BusinessCalendar
from statsgraph.db.aggregator import aggregate, serialise_sqlite_writers
from statsgraph.db.engine import count_statements, make_engine
from statsgraph.db.models import RequestCandidate, Usage
from statsgraph.db.rollup_hourly import floor_hour
from statsgraph.db.rollup_tables import HourlyFallback, RollupHour, UsageHourly, UsageHourlyNames
from statsgraph.db.setup import init_database
from tests import reference as ref
from tests.conftest import (
    COLD_TTLS,
    Api,
    app_client,
    fresh_database_url,
    live_admin,
    load_dataset,
    run_sql,
    settings_for,
    token_for,
    utc,
)
from tests.documents import assert_same, camel
from tests.states import set_state

NOW = utc(2026, 3, 10, 15, 30)
TZ = "Asia/Shanghai"
FIGURES = ("requests", "error_requests", "input_tokens", "output_tokens", "cache_creation_tokens",
           "cache_read_tokens", "total_tokens", "cost", "actual_cost", "avg_response_time", "fallback_count")
DOC = "query($u: ID) { dashboardStats(userId: $u) { today { %s } month { %s } } }" % (
    (" ".join(camel({f: 0 for f in FIGURES})),) * 2
)


@pytest.fixture(params=["sqlite", "postgresql"])
async def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    url = fresh_database_url(request.param, request, tmp_path_factory)
    ds = await load_dataset(url, now=NOW, tz=TZ)
    return url, ds


def want(ds: ref.Dataset, user_id: str | None) -> dict:
    today = ref.business_day(NOW, TZ)
    out = {}
    for name, first in (("today", today), ("month", today.replace(day=1))):
        t = ref.totals(ds, user_id=user_id, first_day=first, last_day=today, tz=TZ)
        out[name] = camel({f: t[f] for f in FIGURES})
    return {"dashboardStats": out}


DAILY = ("query($u: ID) { dailyStats(days: 2, userId: $u) { days { date requests cost avgResponseTime "
         "modelBreakdown { model requests totalTokens cost } } "
         "modelSummary { model requests totalTokens cost avgResponseTime } } }")
DAY_KEYS = ("date", "requests", "cost", "avg_response_time", "model_breakdown")
SUMMARY_KEYS = ("model", "requests", "total_tokens", "cost", "avg_response_time")


def want_daily(ds: ref.Dataset, user_id: str | None) -> dict:
    today = ref.business_day(NOW, TZ)
    first = today - timedelta(days=1)
    days = ref.daily(ds, user_id=user_id, first_day=first, last_day=today, tz=TZ)
    summary = ref.model_summary(ds, user_id=user_id, first_day=first, last_day=today, tz=TZ)
    return camel({"dailyStats": {
        "days": [{k: d[k] for k in DAY_KEYS} for d in days],
        "modelSummary": [{k: m[k] for k in SUMMARY_KEYS} for m in summary],
    }})


PROVIDERS = "{ providerStatus(limit: 50) { id name requests } }"


def want_providers(ds: ref.Dataset, user_id: str | None) -> dict:
    providers = ref.provider_status(ds, user_id=user_id, now=NOW, limit=50)
    return camel({"providerStatus": [{k: p[k] for k in ("id", "name", "requests")} for p in providers]})


async def check(api: Api, ds: ref.Dataset, user_id: str | None, where: str) -> list[str]:
    """Today's totals, the last two days by model and the providers' last 24 hours, against the
    reference; the statements."""
    async with count_statements() as counter:
        got = await api.query(DOC, {"u": user_id})
        got_daily = await api.query(DAILY, {"u": user_id})
        # Provider status is the viewer's own scope: everyone's for the admin.
        got_providers = await api.query(PROVIDERS) if user_id is None else None
    assert_same(got, want(ds, user_id), where)
    assert_same(got_daily, want_daily(ds, user_id), where + "/daily")
    if got_providers is not None:
        assert_same(got_providers, want_providers(ds, None), where + "/providers")
    return counter.statements


async def rolled_hours(url: str) -> set:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return {floor_hour(h) for h in await conn.scalars(select(RollupHour.hour))}
    finally:
        await engine.dispose()


async def roll(url: str) -> None:
    await set_state(url, tz=TZ, now=NOW, state="complete")


async def roll_on(url: str) -> None:
    """One more aggregator run over what is there, as the hourly schedule makes it."""
    engine = make_engine(url)
    if engine.dialect.name == "sqlite":
        serialise_sqlite_writers(engine)
    try:
        await aggregate(engine, calendar=BusinessCalendar(TZ, clock=lambda: NOW))
    finally:
        await engine.dispose()


async def test_todays_rolled_up_hours_are_read_from_the_rollup(world) -> None:  # noqa: ANN001
    url, ds = world
    await roll(url)
    today_start = ref.day_start(ref.business_day(NOW, TZ), TZ)
    hours = {h for h in await rolled_hours(url) if h >= today_start}
    assert len(hours) >= 10, hours
    settings = settings_for(url, tz=TZ, **COLD_TTLS)
    admin = live_admin(ds)
    user = max((u for u in ds.users if u.is_active and not u.is_deleted),
               key=lambda u: sum(1 for r in ds.usage if r.user_id == u.id and r.created_at >= today_start))
    async with app_client(settings, NOW) as client:
        api = Api(client, token_for(admin.id, settings))
        for who in (None, user.id):
            statements = await check(api, ds, who, f"rolled/{who}")
            # The totals, the per-model days (and the admin's providers) read hours from the rollup.
            assert sum("statsgraph_usage_hourly" in s for s in statements) >= (3 if who is None else 2), statements
        as_user = Api(client, token_for(user.id, settings))
        async with count_statements() as counter:
            assert_same(await as_user.query(PROVIDERS), want_providers(ds, user.id), "rolled/user/providers")
        assert any("statsgraph_usage_hourly" in s for s in counter.statements)
        # The rollup is what is read: doubling one of today's cells shows in today's requests.
        engine = make_engine(url)
        async with engine.connect() as conn:
            cell = (await conn.execute(
                select(UsageHourly.id, UsageHourly.requests).where(UsageHourly.hour >= today_start)
                .order_by(UsageHourly.hour).limit(1)
            )).one()
        await engine.dispose()
        await run_sql(url, update(UsageHourly).where(UsageHourly.id == cell.id).values(requests=cell.requests * 2))
        got = await api.query(DOC, {"u": None})
        expected = want(ds, None)["dashboardStats"]["today"]["requests"]
        assert got["dashboardStats"]["today"]["requests"] == expected + cell.requests
        await run_sql(url, update(UsageHourly).where(UsageHourly.id == cell.id).values(requests=cell.requests))

        # Distinct counts are sets: each model and provider counted once over the hours' names
        # and the open hour's rows.
        for who in (None, user.id):
            async with count_statements() as counter:
                got_sets = await api.query(SETS, {"u": who})
            assert_same(got_sets, want_sets(ds, who), f"sets/{who}")
            assert any("statsgraph_usage_hourly_names" in s for s in counter.statements)


SETS = "query($u: ID) { dailyStats(days: 2, userId: $u) { days { date uniqueModels uniqueProviders fallbackCount } } }"


def want_sets(ds: ref.Dataset, user_id: str | None) -> dict:
    today = ref.business_day(NOW, TZ)
    days = ref.daily(ds, user_id=user_id, first_day=today - timedelta(days=1), last_day=today, tz=TZ)
    keys = ("date", "unique_models", "unique_providers", "fallback_count")
    return camel({"dailyStats": {"days": [{k: d[k] for k in keys} for d in days]}})


async def add_candidate(url: str, ds: ref.Dataset, request_id: str, at, status: str, index: int):  # noqa: ANN001, ANN201
    row = ref.CandidateRow(id=str(uuid.uuid4()), request_id=request_id,
                           candidate_index=index, retry_index=0, provider_id=None, status=status, created_at=at)
    await run_sql(url, insert(RequestCandidate).values(**asdict(row)))
    ds.candidates.append(row)
    return row


async def test_fallbacks_across_hours_are_exact_from_the_rollup(world) -> None:  # noqa: ANN001
    """Requests whose candidates straddle rolled-up hours, reach into the open hour or into
    yesterday, gain a candidate after their hour was rolled up, or run one that is still pending."""
    url, ds = world
    today_start = ref.day_start(ref.business_day(NOW, TZ), TZ)
    open_hour = floor_hour(NOW)
    with_candidates = {c.request_id for c in ds.candidates}
    user = max((u for u in ds.users if u.is_active and not u.is_deleted),
               key=lambda u: sum(1 for r in ds.usage if r.user_id == u.id and r.created_at >= today_start))
    free = iter([r for r in ds.usage if r.user_id == user.id and r.request_id not in with_candidates])
    h1 = today_start + timedelta(hours=3)
    h3 = today_start + timedelta(hours=6)
    s = timedelta(seconds=1)
    straddling, into_open, same_hour, into_yesterday, late, pending = (next(free) for _ in range(6))
    await add_candidate(url, ds, straddling.request_id, h1 + timedelta(minutes=59, seconds=59), "failed", 0)
    await add_candidate(url, ds, straddling.request_id, h1 + timedelta(hours=1) + s, "success", 1)
    await add_candidate(url, ds, into_open.request_id, open_hour - s, "failed", 0)
    await add_candidate(url, ds, into_open.request_id, open_hour + timedelta(minutes=10), "success", 1)
    await add_candidate(url, ds, same_hour.request_id, h3 + s, "failed", 0)
    await add_candidate(url, ds, same_hour.request_id, h3 + 2 * s, "success", 1)
    await add_candidate(url, ds, into_yesterday.request_id, today_start - s, "failed", 0)
    await add_candidate(url, ds, into_yesterday.request_id, today_start + s, "success", 1)
    await add_candidate(url, ds, late.request_id, h1 + timedelta(minutes=5), "failed", 0)
    await add_candidate(url, ds, pending.request_id, h3 + timedelta(minutes=3), "failed", 0)
    waiting = await add_candidate(url, ds, pending.request_id, h3 + timedelta(minutes=4), "pending", 1)
    await roll(url)
    hours = await rolled_hours(url)
    assert {h1, h1 + timedelta(hours=1), h3} <= hours

    settings = settings_for(url, tz=TZ, **COLD_TTLS)
    async with app_client(settings, NOW) as client:
        api = Api(client, token_for(live_admin(ds).id, settings))

        async def agree(where: str) -> None:
            for who in (None, user.id):
                async with count_statements() as counter:
                    assert_same(await api.query(SETS, {"u": who}), want_sets(ds, who), f"{where}/{who}")
                    assert_same(await api.query(DOC, {"u": who}), want(ds, who), f"{where}/totals/{who}")
                assert any("statsgraph_hourly_fallbacks" in s for s in counter.statements), where

        await agree("rolled")
        # The pending candidate fails later: its hour is rolled up again, with the fallback it makes.
        await run_sql(url, update(RequestCandidate).where(RequestCandidate.id == waiting.id).values(status="failed"))
        waiting.status = "failed"
        await roll_on(url)
        await agree("pending settled")
        # A second candidate lands in an hour rolled up already: that hour is rolled up again and
        # writes the entry of the earlier hour, rolled up before either knew of the other.
        await add_candidate(url, ds, late.request_id, h3 + timedelta(minutes=30), "success", 1)
        await roll_on(url)
        await agree("late candidate")
        today = ref.business_day(NOW, TZ)
        assert ref.daily(ds, user_id=user.id, first_day=today, last_day=today, tz=TZ)[0]["fallback_count"] >= 5


async def test_a_rolled_up_hour_that_gains_a_streaming_row_and_completes_later(world) -> None:  # noqa: ANN001
    url, ds = world
    await roll(url)
    today_start = ref.day_start(ref.business_day(NOW, TZ), TZ)
    hours = await rolled_hours(url)
    i, row = next((i, r) for i, r in enumerate(ds.usage)
                  if r.created_at >= today_start + timedelta(hours=2) and floor_hour(r.created_at) in hours
                  and r.status == "completed" and r.response_time_ms is not None and r.user_id is not None)
    settings = settings_for(url, tz=TZ, **COLD_TTLS)
    async with app_client(settings, NOW) as client:
        api = Api(client, token_for(live_admin(ds).id, settings))
        # The row goes back to streaming: its tokens and time are not known yet.
        streaming = {"status": "streaming", "response_time_ms": None, "output_tokens": 0}
        await run_sql(url, update(Usage).where(Usage.id == row.id).values(**streaming))
        for k, v in streaming.items():
            setattr(ds.usage[i], k, v)
        await roll(url)
        assert floor_hour(row.created_at) not in await rolled_hours(url)
        for who in (None, row.user_id):
            await check(api, ds, who, f"streaming/{who}")
        # It completes later, with more output and a long response time: rolled up again.
        done = {"status": "completed", "response_time_ms": 54_321, "output_tokens": row.output_tokens + 777}
        await run_sql(url, update(Usage).where(Usage.id == row.id).values(**done))
        for k, v in done.items():
            setattr(ds.usage[i], k, v)
        await roll(url)
        assert floor_hour(row.created_at) in await rolled_hours(url)
        for who in (None, row.user_id):
            await check(api, ds, who, f"completed/{who}")


async def test_hours_rolled_up_before_the_names_and_fallback_tables_existed(world) -> None:  # noqa: ANN001
    """A database whose hourly rollup predates its names and fallback tables: its hours are read
    raw (exact, no error) until `db init` creates the tables and clears the hours, which the
    next aggregator run rolls up again."""
    url, ds = world
    await roll(url)
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            for table in (HourlyFallback, UsageHourlyNames):
                await conn.run_sync(table.__table__.drop)
        settings = settings_for(url, tz=TZ, **COLD_TTLS)
        admin = live_admin(ds)
        async with app_client(settings, NOW) as client:
            api = Api(client, token_for(admin.id, settings))
            async with count_statements() as counter:
                assert_same(await api.query(SETS, {"u": None}), want_sets(ds, None), "before init")
                assert_same(await api.query(DOC, {"u": None}), want(ds, None), "before init/totals")
            assert not any("FROM statsgraph_usage_hourly " in s for s in counter.statements)
            report = await init_database(engine)
            assert {"statsgraph_hourly_fallbacks", "statsgraph_usage_hourly_names"} <= set(report.created)
            assert not await rolled_hours(url)
            await roll_on(url)
            assert len(await rolled_hours(url)) > 100
            async with count_statements() as counter:
                assert_same(await api.query(SETS, {"u": None}), want_sets(ds, None), "after init")
                assert_same(await api.query(DOC, {"u": None}), want(ds, None), "after init/totals")
            assert any("statsgraph_hourly_fallbacks" in s for s in counter.statements)
    finally:
        await engine.dispose()
