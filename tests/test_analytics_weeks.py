"""Weeks built from their seven days: each holds what its rows hold, reports over everyone's rows
whose buckets hold whole weeks read them (WEEK buckets of APP_TIMEZONE, ranges without
granularity), DAY buckets do not, and an hour rolled up again removes its week until the next
run builds it from the new day. Every answer is checked against the reference over raw rows."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import delete, func, select, update

from statsgraph.core.calendar import BusinessCalendar
from statsgraph.db.engine import count_statements, make_engine
from statsgraph.db.models import Usage
from statsgraph.db.rollup_daily import roll_up_days
from statsgraph.db.rollup_hourly import floor_hour, roll_up_hours
from statsgraph.db.rollup_tables import RollupHour, RollupWeek, UsageWeekly, UsageWeeklyLatency
from statsgraph.db.rollup_weekly import roll_up_weeks
from tests import reference_analytics as ref
from tests.conftest import (
    UNPRICED,
    Api,
    app_client,
    aware,
    fetch,
    fresh_database_url,
    live_admin,
    load_dataset,
    run_sql,
    settings_for,
    token_for,
    utc,
)
from tests.documents import assert_same

NOW = utc(2026, 3, 10, 15, 30)
TZ = "Asia/Shanghai"
WEEKS_BY_PROVIDER = {"days": 120, "granularity": "WEEK", "groupBy": ["PROVIDER", "OUTCOME"]}
WHOLE_RANGE = {"days": 140, "granularity": None, "groupBy": ["MODEL"]}
MONTH_BY_DAY = {"days": 30, "granularity": "DAY", "groupBy": ["MODEL"]}
REPORT = ref.document(operator=True)


@pytest.fixture(params=["sqlite", "postgresql"])
async def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    url = fresh_database_url(request.param, request, tmp_path_factory)
    ds = await load_dataset(url, now=NOW, tz=TZ)
    return url, ds


async def roll_all(url: str) -> int:
    """Hours, days and weeks, as the aggregator runs them; the number of weeks built."""
    engine = make_engine(url)
    calendar = BusinessCalendar(TZ, clock=lambda: NOW)
    try:
        async with engine.connect() as conn:
            await roll_up_hours(conn, now=NOW, recheck=timedelta(hours=24))
            await roll_up_days(conn, calendar)
            return await roll_up_weeks(conn, calendar)
    finally:
        await engine.dispose()




def reference(ds, case: dict) -> dict:  # noqa: ANN001
    t = NOW.astimezone(ref.ZoneInfo(TZ)).date()
    start = ref.local_midnight(t - timedelta(days=case["days"] - 1), ref.ZoneInfo(TZ))
    end = ref.local_midnight(t + timedelta(days=1), ref.ZoneInfo(TZ))
    return ref.usage_report(
        ds, start=start, end=end, granularity=case["granularity"], tz=TZ, group_by=case["groupBy"], flt=None,
        order="COST_DESC", limit=20, user_id=None, operator=True,
    )


def variables(case: dict) -> dict:
    t = NOW.astimezone(ref.ZoneInfo(TZ)).date()
    return {"range": {"startDate": (t - timedelta(days=case["days"] - 1)).isoformat()},
            "granularity": case["granularity"], "groupBy": case["groupBy"], "timeZone": TZ, "userId": None,
            "filter": None, "orderBy": "COST_DESC", "limit": 20}


async def weeks_built(url: str) -> list[tuple[datetime, datetime]]:
    return sorted((aware(s), aware(e)) for s, e in await fetch(url, select(RollupWeek.week_start, RollupWeek.week_end)))


async def test_weeks_hold_their_rows_and_serve_whole_week_buckets(world) -> None:  # noqa: ANN001
    url, ds = world
    # The edge-case data leaves rows pending in many hours (never rolled up), so only the weeks
    # whose every hour closed are built: two here.
    assert await roll_all(url) >= 2
    assert await roll_all(url) == 0  # nothing new
    weeks = await weeks_built(url)
    local = ref.ZoneInfo(TZ)
    assert all(e - s == timedelta(days=7) for s, e in weeks)
    assert {s.astimezone(local).weekday() for s, _ in weeks} == {0}
    assert {s.astimezone(local).hour for s, _ in weeks} == {0}
    for start, end in weeks:
        rows = [r for r in ds.usage if start <= r.created_at < end]
        (requests, cost, timed), = await fetch(url, select(
            func.sum(UsageWeekly.requests), func.sum(UsageWeekly.cost), func.sum(UsageWeekly.response_count)
        ).where(UsageWeekly.week_start == start))
        assert (requests or 0, timed or 0) == (len(rows), sum(r.response_time_ms is not None for r in rows))
        assert abs((cost or 0) - sum(r.total_cost_usd for r in rows)) < 1e-6
        (histogram,), = await fetch(url, select(func.sum(UsageWeeklyLatency.count)).where(
            UsageWeeklyLatency.week_start == start, UsageWeeklyLatency.kind == 0))
        assert (histogram or 0) == sum(r.response_time_ms is not None for r in rows)

    settings = settings_for(url, tz=TZ, max_query_cost=UNPRICED, ttl_analytics=0)
    async with app_client(settings, NOW) as client:
        api = Api(client, token_for(live_admin(ds).id, settings))
        for case, reads_weeks in ((WEEKS_BY_PROVIDER, True), (WHOLE_RANGE, True), (MONTH_BY_DAY, False)):
            async with count_statements() as counter:
                got = (await api.query(REPORT, variables(case)))["usage"]
            assert_same(got, reference(ds, case), str(case))
            assert any("statsgraph_usage_weekly" in s for s in counter.statements) is reads_weeks, case

        # The weeks are what is read: doubling one week's cell shows in the answer.
        (cell, n), = await fetch(url, select(UsageWeekly.id, UsageWeekly.requests)
                                 .where(UsageWeekly.week_start == weeks[-1][0]).limit(1))
        await run_sql(url, update(UsageWeekly).where(UsageWeekly.id == cell).values(requests=n * 2))
        got = (await api.query(REPORT, variables(WHOLE_RANGE)))["usage"]
        assert got["totals"]["requests"] == reference(ds, WHOLE_RANGE)["totals"]["requests"] + n


async def test_an_hour_rolled_up_again_rebuilds_its_week(world) -> None:  # noqa: ANN001
    url, ds = world
    await roll_all(url)
    start, end = (await weeks_built(url))[-1]
    target = next(r for r in ds.usage if start + timedelta(days=3) <= r.created_at < end
                  and r.status == "completed" and r.response_time_ms is not None)
    await run_sql(url, update(Usage).where(Usage.id == target.id).values(response_time_ms=765_432))
    target.response_time_ms = 765_432  # the reference reads the same rows
    # The hour forgotten, as when its rows changed: the next run rolls it up again, which
    # removes its day and its week, then builds both again from the new hour.
    await run_sql(url, delete(RollupHour).where(RollupHour.hour == floor_hour(target.created_at)))
    assert await roll_all(url) == 1
    assert (start, end) in await weeks_built(url)
    (max_ms,), = await fetch(url, select(func.max(UsageWeekly.response_max_ms)).where(UsageWeekly.week_start == start))
    assert max_ms == 765_432
    settings = settings_for(url, tz=TZ, max_query_cost=UNPRICED, ttl_analytics=0)
    async with app_client(settings, NOW) as client:
        api = Api(client, token_for(live_admin(ds).id, settings))
        for case in (WEEKS_BY_PROVIDER, WHOLE_RANGE):
            got = (await api.query(REPORT, variables(case)))["usage"]
            assert_same(got, reference(ds, case), f"after the change: {case}")
            assert got["totals"]["responseTime"]["max"] == 765.432
