"""The aggregator run inside the server: when it fires, that one process of many does the work,
and that a server started with it fills the pre-aggregated tables by itself."""

from __future__ import annotations

import asyncio
from datetime import datetime

import pydantic
import pytest
from sqlalchemy import func, select, text

from statsgraph.core.calendar import BusinessCalendar
from statsgraph.db.aggregator.run import ADVISORY_LOCK_KEY, CHUNK_DAYS
from statsgraph.db.engine import make_engine
from statsgraph.db.models import OwnUserDailyModel, StatsDaily
from statsgraph.server.app import create_app
from statsgraph.server.runtime import make_runtime
from statsgraph.server.schedule import AggregatorSchedule
from tests import reference as ref
from tests.conftest import load_dataset, settings_for, utc
from tests.states import set_state

NOW = utc(2026, 3, 10, 15, 30)
TZ = "America/New_York"


def schedule_at(instant: datetime, *, tz: str = TZ, delay: int = 300, url: str = "sqlite+aiosqlite://") -> AggregatorSchedule:
    settings = settings_for(url, tz=tz, aggregate_delay_seconds=delay)
    return AggregatorSchedule(settings, clock=lambda: instant)


def test_next_run_is_the_delay_after_the_next_hour() -> None:
    assert schedule_at(utc(2026, 3, 8, 3, 0)).next_run() == utc(2026, 3, 8, 3, 5)
    assert schedule_at(utc(2026, 3, 8, 3, 4, 59)).next_run() == utc(2026, 3, 8, 3, 5)
    assert schedule_at(utc(2026, 3, 8, 3, 5)).next_run() == utc(2026, 3, 8, 4, 5)
    assert schedule_at(utc(2026, 3, 8, 23, 30)).next_run() == utc(2026, 3, 9, 0, 5)
    # Whatever the zone: New York's daylight-saving night and Kolkata's half-hour offset alike.
    assert schedule_at(utc(2026, 3, 8, 6, 59), delay=0).next_run() == utc(2026, 3, 8, 7, 0)
    assert schedule_at(utc(2026, 3, 10, 18, 31), tz="Asia/Kolkata", delay=600).next_run() == utc(2026, 3, 10, 19, 10)


async def closed_days_in_stats(url: str) -> int:
    engine = make_engine(url)
    async with engine.connect() as conn:
        n = (await conn.execute(select(func.count()).select_from(StatsDaily))).scalar_one()
    await engine.dispose()
    return int(n)


def expected_closed_days(ds: ref.Dataset) -> int:
    first = min(ref.business_day(u.created_at, TZ) for u in ds.usage)
    return (BusinessCalendar(TZ, clock=lambda: NOW).today() - first).days


async def test_one_process_aggregates_the_others_skip(postgres) -> None:  # noqa: ANN001
    url = postgres.create_database("schedule_lock")
    ds = await load_dataset(url, now=NOW, tz=TZ)
    await set_state(url, tz=TZ, now=NOW, state="never")
    settings = settings_for(url, tz=TZ)

    # Another instance's run holds the lock: this one skips at once, writing nothing.
    holder = make_engine(url)
    async with holder.connect() as conn:
        await conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": ADVISORY_LOCK_KEY})
        await conn.commit()
        busy = AggregatorSchedule(settings, clock=lambda: NOW)
        assert await asyncio.wait_for(busy.run_once(), timeout=10) is None
        await busy.stop()
        assert await closed_days_in_stats(url) == 0
        await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": ADVISORY_LOCK_KEY})
        await conn.commit()
    await holder.dispose()

    # Four processes fire at once: the days are aggregated once in all.
    schedules = [AggregatorSchedule(settings, clock=lambda: NOW) for _ in range(4)]
    reports = await asyncio.gather(*(s.run_once() for s in schedules))
    for s in schedules:
        await s.stop()
    want = expected_closed_days(ds)
    assert sum(r.days for r in reports if r is not None) == want
    assert await closed_days_in_stats(url) == want


async def test_a_server_started_with_the_schedule_fills_the_tables(tmp_path) -> None:  # noqa: ANN001
    url = f"sqlite+aiosqlite:///{tmp_path / 'scheduled.db'}"
    ds = await load_dataset(url, now=NOW, tz=TZ)
    await set_state(url, tz=TZ, now=NOW, state="never")
    settings = settings_for(url, tz=TZ, aggregate_in_server=True)
    runtime = make_runtime(settings, clock=lambda: NOW)
    app = create_app(settings, runtime=runtime)
    async with app.router.lifespan_context(app):
        for _ in range(100):
            if await closed_days_in_stats(url) == expected_closed_days(ds):
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError(f"stats_daily holds {await closed_days_in_stats(url)} days after 10 s")
    await runtime.engine.dispose()
    engine = make_engine(url)
    async with engine.connect() as conn:
        user_models = (await conn.execute(select(func.count()).select_from(OwnUserDailyModel))).scalar_one()
    await engine.dispose()
    assert user_models > 0


def test_delay_setting_is_bounded() -> None:
    with pytest.raises(pydantic.ValidationError):
        settings_for("sqlite+aiosqlite://", aggregate_delay_seconds=-1)
    with pytest.raises(pydantic.ValidationError):
        settings_for("sqlite+aiosqlite://", aggregate_delay_seconds=3600)
    assert settings_for("sqlite+aiosqlite://").aggregate_delay_seconds == 300


async def test_a_run_stops_between_chunks_once_the_server_stops(tmp_path) -> None:  # noqa: ANN001
    url = f"sqlite+aiosqlite:///{tmp_path / 'stopping.db'}"
    ds = await load_dataset(url, now=NOW, tz=TZ)
    await set_state(url, tz=TZ, now=NOW, state="never")
    assert expected_closed_days(ds) > CHUNK_DAYS, "the dataset must span more than one chunk"
    schedule = AggregatorSchedule(settings_for(url, tz=TZ), clock=lambda: NOW)
    await schedule.stop()  # shutting down: a run finishes the chunk it is on, and no more
    assert await schedule.run_once() is None
    assert await closed_days_in_stats(url) == CHUNK_DAYS
