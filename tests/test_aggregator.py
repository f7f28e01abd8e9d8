"""The aggregator: same meaning as the reference, idempotent, safe when run twice at once."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import delete, select, update

from statsgraph.core.calendar import BusinessCalendar
from statsgraph.db.aggregator import aggregate, serialise_sqlite_writers
from statsgraph.db.engine import make_engine, make_session_factory
from statsgraph.db.models import (
    STATS_TABLES,
    OwnUserDaily,
    OwnUserDailyModel,
    StatsDaily,
    StatsDailyModel,
    StatsUserDaily,
)
from tests import aether_aggregator_reference as aether_ref
from tests import reference as ref
from tests.conftest import fresh_database_url, load_dataset
from tests.documents import NOW
from tests.states import set_state

TZ = "America/New_York"
VOLATILE = {"created_at", "updated_at"}


@pytest.fixture(params=["sqlite", "postgresql"])
async def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    url = fresh_database_url(request.param, request, tmp_path_factory)
    ds = await load_dataset(url, now=NOW, tz=TZ)
    return url, ds


def writer(url: str):  # noqa: ANN201
    engine = make_engine(url)
    if engine.dialect.name == "sqlite":
        serialise_sqlite_writers(engine)
    return engine


async def snapshot(url: str) -> dict[str, list[tuple]]:
    engine = make_engine(url)
    out = {}
    async with engine.connect() as conn:
        for model in STATS_TABLES:
            cols = [c for c in model.__table__.columns if c.name not in VOLATILE]
            rows = (await conn.execute(select(*cols).order_by(*cols[:3]))).all()
            out[model.__tablename__] = [tuple(r) for r in rows]
    await engine.dispose()
    return out


async def test_tables_match_the_reference(world) -> None:  # noqa: ANN001
    url, ds = world
    calendar = BusinessCalendar(TZ, clock=lambda: NOW)
    engine = writer(url)
    report = await aggregate(engine, calendar=calendar)
    await engine.dispose()
    today = calendar.today()
    assert report.last_day == today - timedelta(days=1)
    want = {d["date"]: d for d in ref.daily(ds, user_id=None, first_day=report.first_day, last_day=report.last_day, tz=TZ)}
    engine = make_engine(url)
    async with make_session_factory(engine)() as session:
        rows = (await session.scalars(select(StatsDaily))).all()
        model_rows = (await session.scalars(select(StatsDailyModel))).all()
    await engine.dispose()
    assert len(rows) == len(want) == report.days
    for row in rows:
        day = calendar.date_of(row.date)
        assert calendar.day_start(day) == row.date
        w = want[day]
        assert (row.total_requests, row.error_requests, row.input_tokens, row.output_tokens,
                row.cache_creation_tokens, row.cache_read_tokens, row.fallback_count,
                row.unique_models, row.unique_providers) == (
            w["requests"], w["error_requests"], w["input_tokens"], w["output_tokens"],
            w["cache_creation_tokens"], w["cache_read_tokens"], w["fallback_count"],
            w["unique_models"], w["unique_providers"]), day
        assert row.total_cost == pytest.approx(w["cost"], rel=1e-9, abs=1e-12)
        assert row.avg_response_time_ms / 1000 == pytest.approx(w["avg_response_time"], rel=1e-9, abs=1e-12)
        breakdown = sorted((m.model, m.total_requests) for m in model_rows if m.date == row.date)
        assert breakdown == sorted((b["model"], b["requests"]) for b in w["model_breakdown"]), day


async def test_user_model_rows_match_the_reference(world) -> None:  # noqa: ANN001
    url, ds = world
    calendar = BusinessCalendar(TZ, clock=lambda: NOW)
    engine = writer(url)
    report = await aggregate(engine, calendar=calendar)
    await engine.dispose()
    engine = make_engine(url)
    async with make_session_factory(engine)() as session:
        rows = (await session.scalars(select(OwnUserDailyModel))).all()
    await engine.dispose()
    got = {
        (r.user_id, calendar.date_of(r.date), r.model): (
            r.total_requests,
            r.input_tokens + r.output_tokens + r.cache_creation_tokens + r.cache_read_tokens,
            r.total_cost,
        )
        for r in rows
    }
    want = {}
    for user in ds.users:
        for day in ref.daily(ds, user_id=user.id, first_day=report.first_day, last_day=report.last_day, tz=TZ):
            for b in day["model_breakdown"]:
                if b["model"] is not None:  # breakdowns leave out rows without a model
                    want[(user.id, day["date"], b["model"])] = (b["requests"], b["total_tokens"], b["cost"])
    assert want and got.keys() == want.keys()
    for key, (requests, tokens, cost) in want.items():
        assert got[key][:2] == (requests, tokens), key
        assert got[key][2] == pytest.approx(cost, rel=1e-9, abs=1e-12), key


async def test_twice_gives_the_same_tables(world) -> None:  # noqa: ANN001
    url, _ = world
    calendar = BusinessCalendar(TZ, clock=lambda: NOW)
    engine = writer(url)
    await aggregate(engine, calendar=calendar)
    first = await snapshot(url)
    await aggregate(engine, calendar=calendar, backfill_days=400)
    second = await snapshot(url)
    await engine.dispose()
    assert first == second
    assert first["stats_daily"] and first["stats_daily_model"] and first["stats_user_daily"]


async def test_two_at_once_give_the_same_tables(world) -> None:  # noqa: ANN001
    url, _ = world
    calendar = BusinessCalendar(TZ, clock=lambda: NOW)
    engine = writer(url)
    await aggregate(engine, calendar=calendar)
    alone = await snapshot(url)
    await engine.dispose()
    await set_state(url, tz=TZ, now=NOW, state="never")
    a, b = writer(url), writer(url)
    await asyncio.gather(
        aggregate(a, calendar=calendar, backfill_days=400), aggregate(b, calendar=calendar, backfill_days=400)
    )
    await a.dispose()
    await b.dispose()
    assert await snapshot(url) == alone


async def test_fills_only_missing_days_and_backfill_repairs(world) -> None:  # noqa: ANN001
    url, _ = world
    calendar = BusinessCalendar(TZ, clock=lambda: NOW)
    await set_state(url, tz=TZ, now=NOW, state="gaps")
    engine = writer(url)
    report = await aggregate(engine, calendar=calendar)
    assert report.days == 4  # the four holes, nothing else
    complete = await snapshot(url)
    day = calendar.day_start(calendar.today() - timedelta(days=2))
    async with engine.begin() as conn:
        await conn.execute(update(StatsDaily).where(StatsDaily.date == day).values(total_requests=999_999))
        await conn.execute(update(StatsUserDaily).where(StatsUserDaily.date == day).values(total_requests=7))
    await aggregate(engine, calendar=calendar, backfill_days=3)
    await engine.dispose()
    assert await snapshot(url) == complete


async def test_aethers_tables_equal_what_aethers_aggregator_writes(world) -> None:  # noqa: ANN001
    """On a never-aggregated database, every column of Aether's four tables (input and output
    cost included) equals what Aether's own aggregator computes for those days."""
    url, ds = world
    calendar = BusinessCalendar(TZ, clock=lambda: NOW)
    engine = writer(url)
    report = await aggregate(engine, calendar=calendar)
    await engine.dispose()
    days = [report.first_day + timedelta(days=i) for i in range(report.days)]
    want = aether_ref.expected_tables(ds, days, TZ, calendar.today_start())
    got = await snapshot(url)
    key_columns = {"stats_daily": ("date",), "stats_daily_model": ("date", "model"),
                   "stats_user_daily": ("user_id", "date"), "stats_summary": ("cutoff_date",)}
    tables = {t.__tablename__: t for t in STATS_TABLES}
    for name, rows in want.items():
        columns = [c.name for c in tables[name].__table__.columns if c.name not in VOLATILE]
        stored = {tuple(r[columns.index(k)] for k in key_columns[name]): dict(zip(columns, r)) for r in got[name]}
        assert len(stored) == len(rows), name
        for row in rows:
            found = stored[tuple(row[k] for k in key_columns[name])]
            for column, value in row.items():
                if isinstance(value, float):
                    assert found[column] == pytest.approx(value, rel=1e-9, abs=1e-9), (name, column, row)
                else:
                    assert found[column] == value, (name, column, row)
            # Every column of the table is checked, the id (and timestamps) aside.
            assert set(columns) - set(row) <= {"id"}, (name, set(columns) - set(row))


async def test_days_aether_aggregated_are_filled_into_statsgraphs_own_tables(world) -> None:  # noqa: ANN001
    """An Aether database after `db init`: `stats_daily` already holds every closed day (Aether's
    aggregator ran), statsgraph's own tables are empty. A plain run (no backfill) fills them."""
    url, _ds = world
    calendar = BusinessCalendar(TZ, clock=lambda: NOW)
    engine = writer(url)
    await aggregate(engine, calendar=calendar)
    full = await snapshot(url)
    async with engine.begin() as conn:
        await conn.execute(delete(OwnUserDaily))
        await conn.execute(delete(OwnUserDailyModel))
    report = await aggregate(engine, calendar=calendar)
    await engine.dispose()
    assert report.days > 0
    again = await snapshot(url)
    assert again["statsgraph_user_daily"] == full["statsgraph_user_daily"] != []
    assert again["statsgraph_user_daily_model"] == full["statsgraph_user_daily_model"] != []
