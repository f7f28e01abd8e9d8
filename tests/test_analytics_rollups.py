"""Hourly rollups: which hours are rolled up, that `usage` reads them, that running twice writes
the same rows, and that a row changing after its hour was rolled up is still counted exactly."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, func, insert, select, update

from statsgraph.db.engine import make_engine
from statsgraph.db.models import Usage
from statsgraph.db.rollup_hourly import MARGIN, floor_hour, roll_up_hours
from statsgraph.db.rollup_tables import ROLLUP_TABLES, RollupHour, UsageHourly, UsageHourlyLatency
from tests.conftest import (
    UNPRICED,
    Api,
    app_client,
    fresh_database_url,
    live_admin,
    load_dataset,
    settings_for,
    token_for,
    utc,
)

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


async def roll(url: str, now=NOW) -> int:  # noqa: ANN001
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return await roll_up_hours(conn, now=now)
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


async def run_sql(url: str, *stmts) -> None:  # noqa: ANN002
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            for stmt in stmts:
                await conn.execute(stmt)
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
    settings = settings_for(url, tz=TZ, max_query_cost=UNPRICED)
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
