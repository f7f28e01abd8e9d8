"""What each aggregator run checks again of the hours it rolled up before: every hour of the last
day is counted again (a row that arrives late or goes re-rolls its hour, however old within that
day), the hours closed within the recheck window are compared figure by figure (a row changed in
place), and a run over unchanged rows rolls up nothing. Checked against the rows themselves."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, insert, select, update

from statsgraph.db.engine import make_engine
from statsgraph.db.models import RequestCandidate, Usage
from statsgraph.db.rollup_hourly import MARGIN, RECHECK, floor_hour, roll_up_hours
from statsgraph.db.rollup_tables import HourlyFallback, UsageHourly
from tests.conftest import fresh_database_url, load_dataset, run_sql, utc

NOW = utc(2026, 3, 10, 15, 30)
TZ = "Asia/Shanghai"


@pytest.fixture(params=["sqlite", "postgresql"])
async def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    url = fresh_database_url(request.param, request, tmp_path_factory)
    ds = await load_dataset(url, now=NOW, tz=TZ)
    return url, ds


async def roll(url: str, **kw: object) -> int:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return await roll_up_hours(conn, now=NOW, **kw)  # type: ignore[arg-type]
    finally:
        await engine.dispose()


async def hour_figures(url: str, hour) -> tuple[tuple, tuple]:  # noqa: ANN001
    """(rows, output tokens) of an hour as its rows say, and as its rolled-up cells say."""
    engine = make_engine(url)
    async with engine.connect() as conn:
        raw = (await conn.execute(
            select(func.count(), func.coalesce(func.sum(Usage.output_tokens), 0))
            .where(Usage.created_at >= hour, Usage.created_at < hour + timedelta(hours=1))
        )).one()
        rolled = (await conn.execute(
            select(func.coalesce(func.sum(UsageHourly.requests), 0), func.coalesce(func.sum(UsageHourly.output_tokens), 0))
            .where(UsageHourly.hour == hour)
        )).one()
    await engine.dispose()
    return tuple(int(v) for v in raw), tuple(int(v) for v in rolled)


def settled_row_in(ds, hour):  # noqa: ANN001, ANN201
    return next(r for r in ds.usage if hour <= r.created_at < hour + timedelta(hours=1)
                and r.status == "completed" and r.user_id is not None)


async def test_counts_and_figures_are_checked_again_and_unchanged_hours_stay(world) -> None:  # noqa: ANN001
    url, ds = world
    assert await roll(url) > 0
    assert await roll(url) == 0  # nothing changed: nothing rolled up again (stamps are stable)

    limit = floor_hour(NOW - MARGIN)
    settled = [r for r in ds.usage if r.status == "completed" and r.user_id is not None]
    busy = sorted({floor_hour(r.created_at) for r in settled
                   if sum(1 for o in settled if floor_hour(o.created_at) == floor_hour(r.created_at)) >= 2})
    newest = max(h for h in busy if h < limit)
    # Within the day counted again, outside the recheck window.
    old = max(h for h in busy if limit - timedelta(hours=24) <= h < limit - RECHECK - timedelta(hours=1))

    # A row arrives late in the old hour: the count moved, so the hour is rolled up again.
    src = settled_row_in(ds, old)
    late = {c.name: getattr(src, c.name) for c in Usage.__table__.columns if hasattr(src, c.name)}
    late.update(id="late-row", request_id="late-request", output_tokens=12_345)
    await run_sql(url, insert(Usage).values(**late))
    assert await roll(url) == 1
    raw, rolled = await hour_figures(url, old)
    assert raw == rolled and raw[1] >= 12_345

    # A row of the newest hour changes in place: no count moves, the figures do.
    row = settled_row_in(ds, newest)
    await run_sql(url, update(Usage).where(Usage.id == row.id).values(output_tokens=row.output_tokens + 999))
    assert await roll(url) == 1
    raw, rolled = await hour_figures(url, newest)
    assert raw == rolled

    # The same in place change in the old hour is seen when the window reaches it.
    other = next(r for r in ds.usage if old <= r.created_at < old + timedelta(hours=1)
                 and r.status == "completed" and r.id != src.id)
    await run_sql(url, update(Usage).where(Usage.id == other.id).values(output_tokens=other.output_tokens + 555))
    assert await roll(url, recheck=timedelta(hours=24)) == 1
    raw, rolled = await hour_figures(url, old)
    assert raw == rolled
    assert await roll(url, recheck=timedelta(hours=24)) == 0


async def test_a_candidate_settling_in_an_older_hour_re_rolls_it(world) -> None:  # noqa: ANN001
    # Outside the recheck window an hour whose candidates were open is checked from its
    # candidates alone; their settling must still re-roll it, or its fallbacks go stale.
    url, ds = world
    assert await roll(url) > 0
    limit = floor_hour(NOW - MARGIN)
    old = limit - RECHECK - timedelta(hours=3)
    src = next(r for r in ds.usage if r.status == "completed" and r.user_id is not None)
    row = {c.name: getattr(src, c.name) for c in Usage.__table__.columns if hasattr(src, c.name)}
    at = old + timedelta(minutes=20)
    row.update(id="settling-row", request_id="settling-request", created_at=at)
    await run_sql(url, insert(Usage).values(**row))
    await run_sql(url, insert(RequestCandidate).values([
        {"id": "settling-c0", "request_id": "settling-request", "candidate_index": 0, "retry_index": 0,
         "status": "failed", "created_at": at},
        {"id": "settling-c1", "request_id": "settling-request", "candidate_index": 1, "retry_index": 0,
         "status": "pending", "created_at": at + timedelta(seconds=5)},
    ]))
    assert await roll(url) == 1  # its counts moved
    assert await roll(url) == 0  # still pending: nothing to do
    assert await fallback_entries(url, old) == []

    await run_sql(url, update(RequestCandidate).where(RequestCandidate.id == "settling-c1").values(status="success"))
    assert await roll(url) == 1
    assert await fallback_entries(url, old) == [2]
    assert await roll(url) == 0


async def fallback_entries(url: str, hour) -> list[int]:  # noqa: ANN001
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return list(await conn.scalars(
                select(HourlyFallback.executed)
                .where(HourlyFallback.hour == hour, HourlyFallback.request_id == "settling-request")
            ))
    finally:
        await engine.dispose()
