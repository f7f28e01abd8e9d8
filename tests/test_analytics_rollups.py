"""Rollups: which hours are rolled up, that `usage` reads them, that running twice writes the
same rows, and that a row changing after its hour was rolled up is still counted exactly; days
built from the hours, read by reports over everyone's rows, rebuilt after a late change, and
never counted twice after a zone change."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, func, insert, select, update

from statsgraph.core.calendar import BusinessCalendar
from statsgraph.db.engine import count_statements, make_engine
from statsgraph.db.models import Usage
from statsgraph.db.rollup_daily import roll_up_days
from statsgraph.db.rollup_hourly import MARGIN, floor_hour, roll_up_hours
from statsgraph.db.rollup_tables import (
    ROLLUP_TABLES,
    RollupDay,
    RollupHour,
    UsageDaily,
    UsageDailyLatency,
    UsageHourly,
    UsageHourlyLatency,
)
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
DOC = """query ($from: DateTime!, $to: DateTime!) { usage(range: {from: $from, to: $to}, groupBy: [MODEL]) {
  totals { requests cost responseTime { count p50 p99 max } }
} }"""


@pytest.fixture(params=["sqlite", "postgresql"])
async def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    url = fresh_database_url(request.param, request, tmp_path_factory)
    ds = await load_dataset(url, now=NOW, tz=TZ)
    return url, ds


# The late in-place changes below lie further back than the default recheck.
WHOLE_DAY = timedelta(hours=24)


async def roll(url: str, now=NOW) -> int:  # noqa: ANN001
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return await roll_up_hours(conn, now=now, recheck=WHOLE_DAY)
    finally:
        await engine.dispose()


async def snapshot(url: str) -> list:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            out = []
            for table in ROLLUP_TABLES:
                cols = [c for c in table.__table__.columns if c.name != "rolled_at"]
                out.append(sorted(tuple(r) for r in await conn.execute(select(*cols))))
            return out
    finally:
        await engine.dispose()


def raw_totals(ds, start, end) -> tuple[int, int]:  # noqa: ANN001
    rows = [r for r in ds.usage if start <= r.created_at < end]
    return len(rows), sum(1 for r in rows if r.response_time_ms is not None)


async def test_closed_hours_without_open_rows_are_rolled_up_once(world) -> None:  # noqa: ANN001
    url, ds = world
    written = await roll(url)
    assert written > 1000
    first = await snapshot(url)
    assert await roll(url) == 0  # nothing new: no hour rewritten
    assert await snapshot(url) == first
    engine = make_engine(url)
    async with engine.connect() as conn:
        hours = set(await conn.scalars(select(RollupHour.hour)))
    await engine.dispose()
    limit = floor_hour(NOW - MARGIN)
    open_hours = {floor_hour(r.created_at) for r in ds.usage if r.status in ("pending", "streaming")}
    assert max(hours) < limit
    assert not hours & open_hours
    all_hours = {floor_hour(r.created_at) for r in ds.usage if floor_hour(r.created_at) < limit}
    assert all_hours - open_hours <= hours
    # Wiping and rolling again writes byte-identical rows (deterministic ids).
    await run_sql(url, *(delete(t) for t in reversed(ROLLUP_TABLES)))
    await roll(url)
    assert await snapshot(url) == first


async def test_usage_reads_rollups_and_a_late_change_is_re_rolled(world) -> None:  # noqa: ANN001
    url, ds = world
    await roll(url)
    settings = settings_for(url, tz=TZ, max_query_cost=UNPRICED, ttl_analytics=0)
    start, end = NOW - timedelta(hours=20), NOW
    variables = {"from": start.isoformat(), "to": end.isoformat()}
    want_requests, want_timed = raw_totals(ds, start, end)
    async with app_client(settings, NOW) as client:
        api = Api(client, token_for(live_admin(ds).id, settings))
        got = (await api.query(DOC, variables))["usage"]["totals"]
        assert (got["requests"], got["responseTime"]["count"]) == (want_requests, want_timed)

        # The rollups are what is read: doubling one rolled-up cell shows in the answer.
        engine = make_engine(url)
        async with engine.connect() as conn:
            cell = (await conn.execute(
                select(UsageHourly.id, UsageHourly.requests).where(UsageHourly.hour >= start + timedelta(hours=1))
                .order_by(UsageHourly.hour).limit(1)
            )).one()
        await engine.dispose()
        await run_sql(url, update(UsageHourly).where(UsageHourly.id == cell.id).values(requests=cell.requests * 2))
        got = (await api.query(DOC, variables))["usage"]["totals"]
        assert got["requests"] == want_requests + cell.requests
        await run_sql(url, update(UsageHourly).where(UsageHourly.id == cell.id).values(requests=cell.requests))

        # A completed row of a rolled-up hour gets a new response time (a late update): the next
        # run sees the hour's fingerprint change and rolls it up again.
        target = next(r for r in ds.usage if start + timedelta(hours=2) <= r.created_at < end - timedelta(hours=2)
                      and r.status == "completed" and r.response_time_ms is not None)
        await run_sql(url, update(Usage).where(Usage.id == target.id).values(response_time_ms=987_654))
        assert await roll(url) >= 1
        got = (await api.query(DOC, variables))["usage"]["totals"]
        assert got["responseTime"]["max"] == 987.654
        assert got["requests"] == want_requests

        # A row inserted late as pending into a rolled-up hour: the hour goes back to raw rows.
        late = {c.name: getattr(target, c.name) for c in Usage.__table__.columns if hasattr(target, c.name)}
        late.update(id="late-row", request_id="late-request", status="pending", response_time_ms=None,
                    total_tokens=target.input_tokens + target.output_tokens)
        await run_sql(url, insert(Usage).values(**late))
        await roll(url)
        engine = make_engine(url)
        async with engine.connect() as conn:
            rolled = set(await conn.scalars(select(RollupHour.hour)))
            cells = (await conn.execute(select(func.count()).select_from(UsageHourlyLatency))).scalar()
        await engine.dispose()
        assert floor_hour(target.created_at) not in rolled and cells
        got = (await api.query(DOC, variables))["usage"]["totals"]
        assert got["requests"] == want_requests + 1


async def roll_days(url: str, tz: str = TZ, now=NOW) -> int:  # noqa: ANN001
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            await roll_up_hours(conn, now=now, recheck=WHOLE_DAY)
            return await roll_up_days(conn, BusinessCalendar(tz, clock=lambda: now))
    finally:
        await engine.dispose()




def reference(ds, case: dict, tz: str = TZ, user_id: str | None = None, *, operator: bool = True) -> dict:  # noqa: ANN001
    t = NOW.astimezone(ref.ZoneInfo(tz)).date()
    start = ref.local_midnight(t - timedelta(days=case["days"] - 1), ref.ZoneInfo(tz))
    end = ref.local_midnight(t + timedelta(days=1), ref.ZoneInfo(tz))  # endDate defaults to today
    return ref.usage_report(
        ds, start=start, end=end, granularity=case["granularity"], tz=tz, group_by=case["groupBy"], flt=None,
        order="COST_DESC", limit=20, user_id=user_id, operator=operator,
    )


def variables(case: dict, tz: str = TZ, user_id: str | None = None) -> dict:
    t = NOW.astimezone(ref.ZoneInfo(tz)).date()
    return {"range": {"startDate": (t - timedelta(days=case["days"] - 1)).isoformat()},
            "granularity": case["granularity"], "groupBy": case["groupBy"], "timeZone": tz, "userId": user_id,
            "filter": None, "orderBy": "COST_DESC", "limit": 20}


REPORT = ref.document(operator=True)
MONTH_BY_MODEL = {"days": 30, "granularity": "DAY", "groupBy": ["MODEL"]}
WEEKS_BY_PROVIDER = {"days": 60, "granularity": "WEEK", "groupBy": ["PROVIDER", "OUTCOME"]}
WHOLE_RANGE = {"days": 45, "granularity": None, "groupBy": ["STATUS_CODE"]}


async def test_days_hold_what_their_rows_hold_and_serve_reports_over_everyone(world) -> None:  # noqa: ANN001
    url, ds = world
    built = await roll_days(url)
    assert built > 60
    assert await roll_days(url) == 0  # nothing new
    days = sorted((aware(s), aware(e)) for s, e in await fetch(url, select(RollupDay.day_start, RollupDay.day_end)))
    assert all(e - s == timedelta(hours=24) for s, e in days)  # Shanghai has no DST
    # Each day's cells add up to its raw rows, whatever user or key they came from.
    for start, end in days[:: max(1, len(days) // 8)]:
        rows = [r for r in ds.usage if start <= r.created_at < end]
        (requests, cost, timed), = await fetch(url, select(
            func.sum(UsageDaily.requests), func.sum(UsageDaily.cost), func.sum(UsageDaily.response_count)
        ).where(UsageDaily.day_start == start))
        assert (requests or 0, timed or 0) == (len(rows), sum(r.response_time_ms is not None for r in rows))
        assert abs((cost or 0) - sum(r.total_cost_usd for r in rows)) < 1e-6
        (histogram,), = await fetch(url, select(func.sum(UsageDailyLatency.count)).where(
            UsageDailyLatency.day_start == start, UsageDailyLatency.kind == 0))
        assert (histogram or 0) == sum(r.response_time_ms is not None for r in rows)

    settings = settings_for(url, tz=TZ, max_query_cost=UNPRICED, ttl_analytics=0)
    admin = live_admin(ds)
    alice = next(u for u in ds.users if u.username == "alice")
    async with app_client(settings, NOW) as client:
        api = Api(client, token_for(admin.id, settings))
        for case in (MONTH_BY_MODEL, WEEKS_BY_PROVIDER, WHOLE_RANGE):
            async with count_statements() as counter:
                got = (await api.query(REPORT, variables(case)))["usage"]
            assert_same(got, reference(ds, case), str(case))
            assert any("statsgraph_usage_daily" in s for s in counter.statements), case
        # Days hold no user or key: a user's report, or one by API key, reads hours instead.
        for viewer, case, user in (
            (admin, {"days": 30, "granularity": "DAY", "groupBy": ["API_KEY"]}, None),
            (alice, MONTH_BY_MODEL, alice.id),
        ):
            operator = viewer is admin
            viewer_api = Api(client, token_for(viewer.id, settings))
            async with count_statements() as counter:
                got = (await viewer_api.query(ref.document(operator=operator), variables(case, user_id=user)))["usage"]
            assert_same(got, reference(ds, case, user_id=user, operator=operator), str(case))
            assert not any("statsgraph_usage_daily" in s for s in counter.statements), case
            assert any("statsgraph_usage_hourly" in s for s in counter.statements), case

        # The days are what is read: doubling one day's cell shows in the answer.
        (cell,), = await fetch(url, select(UsageDaily.id).where(UsageDaily.day_start == days[-3][0]).limit(1))
        (n,), = await fetch(url, select(UsageDaily.requests).where(UsageDaily.id == cell))
        await run_sql(url, update(UsageDaily).where(UsageDaily.id == cell).values(requests=n * 2))
        got = (await api.query(REPORT, variables(MONTH_BY_MODEL)))["usage"]
        assert got["totals"]["requests"] == reference(ds, MONTH_BY_MODEL)["totals"]["requests"] + n
        await run_sql(url, update(UsageDaily).where(UsageDaily.id == cell).values(requests=n))


async def test_a_late_change_rebuilds_its_day(world) -> None:  # noqa: ANN001
    url, ds = world
    await roll_days(url)
    yesterday = ref.local_midnight(NOW.astimezone(ref.ZoneInfo(TZ)).date() - timedelta(days=1), ref.ZoneInfo(TZ))
    # The day's last hour is among those the hourly writer checks again for late changes.
    last_hour = yesterday + timedelta(hours=23)
    target = next(r for r in ds.usage if last_hour <= r.created_at < last_hour + timedelta(hours=1)
                  and r.status == "completed" and r.response_time_ms is not None)
    await run_sql(url, update(Usage).where(Usage.id == target.id).values(response_time_ms=876_543))
    target.response_time_ms = 876_543  # the reference reads the same rows
    assert await roll_days(url) == 1  # the hour is re-rolled, its day dropped and built again
    (max_ms,), = await fetch(url, select(func.max(UsageDaily.response_max_ms)).where(UsageDaily.day_start == yesterday))
    assert max_ms == 876_543
    settings = settings_for(url, tz=TZ, max_query_cost=UNPRICED, ttl_analytics=0)
    async with app_client(settings, NOW) as client:
        api = Api(client, token_for(live_admin(ds).id, settings))
        got = (await api.query(REPORT, variables(MONTH_BY_MODEL)))["usage"]
    assert_same(got, reference(ds, MONTH_BY_MODEL), "after the late change")
    assert got["totals"]["responseTime"]["max"] == 876.543


async def test_days_of_an_earlier_zone_never_count_twice(world) -> None:  # noqa: ANN001
    url, ds = world
    settings = settings_for(url, tz=TZ, max_query_cost=UNPRICED, ttl_analytics=0)

    async def answers_match(when: str) -> None:
        async with app_client(settings, NOW) as client:
            api = Api(client, token_for(live_admin(ds).id, settings))
            for tz in (TZ, "UTC", "America/New_York"):
                for case in (MONTH_BY_MODEL, WHOLE_RANGE):
                    got = (await api.query(REPORT, variables(case, tz)))["usage"]
                    assert_same(got, reference(ds, case, tz), f"{when}: {tz} {case}")

    await roll_days(url, tz="UTC")  # days of UTC serve UTC reports, and whole ranges in any zone
    await answers_match("UTC days")
    await roll_days(url, tz=TZ)  # APP_TIMEZONE changed: Shanghai days replace the UTC days they overlap
    spans = sorted((aware(s), aware(e)) for s, e in await fetch(url, select(RollupDay.day_start, RollupDay.day_end)))
    assert all(b[0] >= a[1] for a, b in zip(spans, spans[1:])), "built days never overlap"
    assert {s.hour for s, _ in spans} == {16}  # Shanghai midnights
    await answers_match("Shanghai days")
