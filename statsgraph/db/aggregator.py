"""The daily aggregator: fills `stats_daily`, `stats_daily_model`, `stats_user_daily` and
`stats_summary` with the meaning Aether's own aggregator gives them, so both can share a database,
and statsgraph's own `stats_user_daily_detail` and `stats_user_daily_model`.

Each run works in chunks of days; a chunk is one transaction of grouped statements (never one
statement per model, user or day) that replaces the chunk's rows, so running twice gives the same
tables. Concurrent runs are serialised: a PostgreSQL advisory lock held for the whole run, or
SQLite's write lock per chunk (`BEGIN IMMEDIATE`)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import delete, event, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from ..core.calendar import BusinessCalendar, Window, iter_days
from ..core.figures import DayFigures, ModelDay
from ..core.scope import GLOBAL
from .companions import COMPANION_TABLES, companions_present
from .models import (
    ApiKey,
    RequestCandidate,
    StatsDaily,
    StatsDailyModel,
    StatsSummary,
    StatsUserDaily,
    StatsUserDailyDetail,
    StatsUserDailyModel,
    Usage,
    User,
)
from .queries.coverage import in_ranges, ranges_of_days
from .queries.days import day_figures, raw_day_aggregates, raw_usage_columns
from .queries.filters import EXECUTED_CANDIDATE, count_if
from .queries.model_days import raw_model_days
from .sqlexpr import as_date, business_date

log = logging.getLogger("statsgraph.aggregator")

# Any fixed number works; it only has to be the same for every statsgraph instance.
ADVISORY_LOCK_KEY = 0x5747_5241_5048  # "SGRAPH"
CHUNK_DAYS = 31
_ID_NAMESPACE = uuid.UUID("6f1d3c2e-5a4b-4c1d-9e8f-7a6b5c4d3e2f")


@dataclass(frozen=True, slots=True)
class AggregateReport:
    days: int
    first_day: date | None
    last_day: date | None


def _stable_id(*parts: object) -> str:
    # Deterministic ids: re-aggregating a day writes byte-identical rows.
    return str(uuid.uuid5(_ID_NAMESPACE, "|".join(str(p) for p in parts)))


def serialise_sqlite_writers(engine: AsyncEngine) -> None:
    """Make every transaction of this SQLite engine take the write lock when it begins."""

    @event.listens_for(engine.sync_engine, "connect")
    def _no_implicit_begin(dbapi_conn, _record) -> None:  # noqa: ANN001
        dbapi_conn.isolation_level = None

    @event.listens_for(engine.sync_engine, "begin")
    def _begin_immediate(conn) -> None:  # noqa: ANN001
        conn.exec_driver_sql("BEGIN IMMEDIATE")


async def aggregate(
    engine: AsyncEngine,
    *,
    calendar: BusinessCalendar,
    backfill_days: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> AggregateReport:
    """Aggregate every closed day not yet aggregated (or, with `backfill_days`, recompute the
    last N closed days whatever their state), then rewrite the summary. On PostgreSQL a run
    holds an advisory lock, and a second run waits for the first to end."""
    report = await _run(engine, calendar=calendar, backfill_days=backfill_days, progress=progress, wait=True)
    assert report is not None, "a waiting run always runs"
    return report


async def aggregate_unless_running(
    engine: AsyncEngine,
    *,
    calendar: BusinessCalendar,
    progress: Callable[[int, int], None] | None = None,
) -> AggregateReport | None:
    """Like `aggregate`, but None at once when another run holds the PostgreSQL lock: for
    schedules that fire on every instance, where one run is enough."""
    return await _run(engine, calendar=calendar, backfill_days=None, progress=progress, wait=False)


async def _run(
    engine: AsyncEngine,
    *,
    calendar: BusinessCalendar,
    backfill_days: int | None,
    progress: Callable[[int, int], None] | None,
    wait: bool,
) -> AggregateReport | None:
    is_pg = engine.dialect.name == "postgresql"
    async with engine.connect() as conn:
        if is_pg:
            # Session-level lock on this connection, held until the run ends.
            if wait:
                await conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": ADVISORY_LOCK_KEY})
            else:
                taken = await conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": ADVISORY_LOCK_KEY})
                if not taken.scalar():
                    await conn.rollback()
                    return None
            await conn.commit()
        try:
            companions = await companions_present(conn)
            if not companions:
                log.warning(
                    "tables %s are missing: writing Aether's tables only; run `statsgraph db init` "
                    "so that user scopes read pre-aggregates too", ", ".join(COMPANION_TABLES),
                )
            targets = await _target_days(conn, calendar, backfill_days)
            # End the read transaction so each chunk's session owns its own.
            await conn.commit()
            done = 0
            for i in range(0, len(targets), CHUNK_DAYS):
                chunk = targets[i : i + CHUNK_DAYS]
                async with AsyncSession(bind=conn, expire_on_commit=False) as session:
                    await _aggregate_days(session, calendar, chunk, companions=companions)
                    await session.commit()
                done += len(chunk)
                if progress:
                    progress(done, len(targets))
            async with AsyncSession(bind=conn) as session:
                await _write_summary(session, calendar)
                await session.commit()
        finally:
            if is_pg:
                await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": ADVISORY_LOCK_KEY})
                await conn.commit()
    return AggregateReport(len(targets), targets[0] if targets else None, targets[-1] if targets else None)


async def _target_days(
    conn: AsyncConnection, calendar: BusinessCalendar, backfill_days: int | None
) -> list[date]:
    yesterday = calendar.today() - timedelta(days=1)
    earliest = (await conn.execute(select(func.min(Usage.created_at)))).scalar()
    if earliest is None:
        return []
    if earliest.tzinfo is None:  # SQLite aggregates bypass the column type
        earliest = datetime.fromisoformat(str(earliest)).replace(tzinfo=calendar.now().tzinfo)
    first = calendar.date_of(earliest)
    if backfill_days is not None:
        first = max(first, calendar.today() - timedelta(days=backfill_days))
        return list(iter_days(first, yesterday))
    done = {
        calendar.date_of(d)
        for (d,) in await conn.execute(select(StatsDaily.date).where(StatsDaily.date < calendar.today_start()))
    }
    return [d for d in iter_days(first, yesterday) if d not in done]


async def _aggregate_days(
    session: AsyncSession, calendar: BusinessCalendar, days: list[date], *, companions: bool
) -> None:
    window = calendar.days_window(days[0], days[-1])
    figures = await day_figures(
        session, scope=GLOBAL, window=window, calendar=calendar, covered=frozenset(), raw_days=days
    )
    models, user_models = await raw_model_days(session, days=days, calendar=calendar)
    users = await _user_days(session, calendar, days, window)
    active_users = list(
        await session.scalars(select(User.id).where(User.is_active.is_(True), User.is_deleted.is_not(True)))
    )

    now = calendar.now()
    starts = [calendar.day_start(d) for d in days]
    await session.execute(delete(StatsDaily).where(StatsDaily.date.in_(starts)))
    await session.execute(delete(StatsDailyModel).where(StatsDailyModel.date.in_(starts)))
    await session.execute(delete(StatsUserDaily).where(StatsUserDaily.date.in_(starts)))
    if companions:
        await session.execute(delete(StatsUserDailyDetail).where(StatsUserDailyDetail.date.in_(starts)))
        await session.execute(delete(StatsUserDailyModel).where(StatsUserDailyModel.date.in_(starts)))

    await session.execute(
        insert(StatsDaily),
        [_daily_row(figures.get(d) or DayFigures(d), calendar.day_start(d), now) for d in days],
    )
    if models:
        await session.execute(
            insert(StatsDailyModel),
            [
                {"id": _stable_id("model", m.day, m.model), **_model_row(m, calendar, now), "updated_at": now}
                for m in models
            ],
        )
    # Like Aether: a row for every user active now (zeros included) and for anyone with usage.
    user_rows, detail_rows = [], []
    for day in days:
        seen = users.get(day, {})
        for user_id in sorted(set(active_users) | set(seen)):
            figs = seen.get(user_id)
            user_rows.append(_user_row(user_id, day, calendar.day_start(day), figs, now))
            detail_rows.append(_user_detail_row(user_id, day, calendar.day_start(day), figs, now))
    if user_rows:
        await session.execute(insert(StatsUserDaily), user_rows)
    if not companions:
        return
    if detail_rows:
        await session.execute(insert(StatsUserDailyDetail), detail_rows)
    if user_models:
        await session.execute(
            insert(StatsUserDailyModel),
            [
                {"id": _stable_id("user-model", user_id, m.day, m.model), "user_id": user_id,
                 **_model_row(m, calendar, now)}
                for user_id, m in user_models
            ],
        )


async def _user_days(
    session: AsyncSession, calendar: BusinessCalendar, days: list[date], window: Window
) -> dict[date, dict[str, dict[str, float]]]:
    dialect = session.get_bind().dialect.name
    ranges = ranges_of_days(days, calendar)
    u = Usage
    rows = (
        select(
            business_date(u.created_at, dialect=dialect, calendar=calendar, window=window).label("day"),
            u.user_id,
            *raw_usage_columns(),
        )
        .where(u.user_id.is_not(None), in_ranges(u.created_at, ranges))
        .subquery()
    )
    c = rows.c
    stmt = select(c.day, c.user_id, *raw_day_aggregates(c)).group_by(c.day, c.user_id)
    out: dict[date, dict[str, dict[str, float]]] = {}
    for r in await session.execute(stmt):
        out.setdefault(as_date(r.day), {})[r.user_id] = r._asdict()

    # Fallbacks per user-day: a candidate belongs to the user of the usage row of its request.
    rc = RequestCandidate
    executed = (
        select(
            business_date(rc.created_at, dialect=dialect, calendar=calendar, window=window).label("day"),
            rc.request_id,
            u.user_id,
        )
        .join(u, u.request_id == rc.request_id)
        .where(rc.status.in_(EXECUTED_CANDIDATE), u.user_id.is_not(None), in_ranges(rc.created_at, ranges))
        .subquery()
    )
    fallbacks = (
        select(executed.c.day, executed.c.user_id)
        .group_by(executed.c.day, executed.c.request_id, executed.c.user_id)
        .having(func.count() > 1)
        .subquery()
    )
    stmt = select(fallbacks.c.day, fallbacks.c.user_id, func.count()).group_by(fallbacks.c.day, fallbacks.c.user_id)
    for day, user_id, n in await session.execute(stmt):
        out.setdefault(as_date(day), {}).setdefault(user_id, {})["fallbacks"] = int(n)
    return out


def _daily_row(f: DayFigures, start: datetime, now: datetime) -> dict[str, object]:
    return {
        "id": _stable_id("daily", f.day),
        "date": start,
        "total_requests": f.requests,
        "success_requests": f.requests - f.error_requests,
        "error_requests": f.error_requests,
        "input_tokens": f.input_tokens,
        "output_tokens": f.output_tokens,
        "cache_creation_tokens": f.cache_creation_tokens,
        "cache_read_tokens": f.cache_read_tokens,
        "total_cost": f.cost,
        "actual_total_cost": f.actual_cost,
        "input_cost": 0.0,
        "output_cost": 0.0,
        "cache_creation_cost": f.cache_creation_cost,
        "cache_read_cost": f.cache_read_cost,
        "avg_response_time_ms": f.avg_response_ms,
        "fallback_count": f.fallback_count,
        "unique_models": f.unique_models,
        "unique_providers": f.unique_providers,
        "created_at": now,
        "updated_at": now,
    }


def _model_row(m: ModelDay, calendar: BusinessCalendar, now: datetime) -> dict[str, object]:
    return {
        "date": calendar.day_start(m.day),
        "model": m.model,
        "total_requests": m.requests,
        "input_tokens": m.input_tokens,
        "output_tokens": m.output_tokens,
        "cache_creation_tokens": m.cache_creation_tokens,
        "cache_read_tokens": m.cache_read_tokens,
        "total_cost": m.cost,
        "avg_response_time_ms": m.avg_response_ms,
        "created_at": now,
    }


def _user_row(
    user_id: str, day: date, start: datetime, figs: dict[str, float] | None, now: datetime
) -> dict[str, object]:
    f = figs or {}
    requests = int(f.get("requests") or 0)
    errors = int(f.get("error_requests") or 0)
    return {
        "id": _stable_id("user", user_id, day),
        "user_id": user_id,
        "date": start,
        "total_requests": requests,
        "success_requests": requests - errors,
        "error_requests": errors,
        "input_tokens": int(f.get("input_tokens") or 0),
        "output_tokens": int(f.get("output_tokens") or 0),
        "cache_creation_tokens": int(f.get("cache_creation_tokens") or 0),
        "cache_read_tokens": int(f.get("cache_read_tokens") or 0),
        "total_cost": float(f.get("cost") or 0),
        "created_at": now,
        "updated_at": now,
    }


def _user_detail_row(
    user_id: str, day: date, start: datetime, figs: dict[str, float] | None, now: datetime
) -> dict[str, object]:
    f = figs or {}
    return {
        "id": _stable_id("user-detail", user_id, day),
        "user_id": user_id,
        "date": start,
        "total_requests": int(f.get("requests") or 0),
        "error_requests": int(f.get("error_requests") or 0),
        "input_tokens": int(f.get("input_tokens") or 0),
        "output_tokens": int(f.get("output_tokens") or 0),
        "cache_creation_tokens": int(f.get("cache_creation_tokens") or 0),
        "cache_read_tokens": int(f.get("cache_read_tokens") or 0),
        "total_cost": float(f.get("cost") or 0),
        "actual_total_cost": float(f.get("actual_cost") or 0),
        "cache_creation_cost": float(f.get("cache_creation_cost") or 0),
        "cache_read_cost": float(f.get("cache_read_cost") or 0),
        "avg_response_time_ms": float(f.get("avg_response_ms") or 0),
        "fallback_count": int(f.get("fallbacks") or 0),
        "unique_models": int(f.get("unique_models") or 0),
        "unique_providers": int(f.get("unique_providers") or 0),
        "created_at": now,
    }


async def _write_summary(session: AsyncSession, calendar: BusinessCalendar) -> None:
    """Aether's summary: the stats_daily rows before today, and user and key counts now."""
    cutoff = calendar.today_start()
    d = StatsDaily
    sums = (
        await session.execute(
            select(
                func.sum(d.total_requests), func.sum(d.success_requests), func.sum(d.error_requests),
                func.sum(d.input_tokens), func.sum(d.output_tokens), func.sum(d.cache_creation_tokens),
                func.sum(d.cache_read_tokens), func.sum(d.total_cost), func.sum(d.actual_total_cost),
            ).where(d.date < cutoff)
        )
    ).one()
    users = (
        await session.execute(select(func.count(User.id), func.sum(count_if(User.is_active.is_(True)))))
    ).one()
    keys = (
        await session.execute(select(func.count(ApiKey.id), func.sum(count_if(ApiKey.is_active.is_(True)))))
    ).one()
    now = calendar.now()
    values = {
        "cutoff_date": cutoff,
        "all_time_requests": int(sums[0] or 0),
        "all_time_success_requests": int(sums[1] or 0),
        "all_time_error_requests": int(sums[2] or 0),
        "all_time_input_tokens": int(sums[3] or 0),
        "all_time_output_tokens": int(sums[4] or 0),
        "all_time_cache_creation_tokens": int(sums[5] or 0),
        "all_time_cache_read_tokens": int(sums[6] or 0),
        "all_time_cost": float(sums[7] or 0),
        "all_time_actual_cost": float(sums[8] or 0),
        "total_users": int(users[0] or 0),
        "active_users": int(users[1] or 0),
        "total_api_keys": int(keys[0] or 0),
        "active_api_keys": int(keys[1] or 0),
        "updated_at": now,
    }
    existing = (await session.execute(select(StatsSummary.id).limit(1))).scalar()
    if existing is None:
        await session.execute(insert(StatsSummary).values(id=_stable_id("summary"), created_at=now, **values))
    else:
        # The Table itself (`__table__` is typed as any FromClause): a Core UPDATE of the one row.
        summary = StatsSummary.metadata.tables[StatsSummary.__tablename__]
        await session.execute(summary.update().values(**values))


__all__ = ["ADVISORY_LOCK_KEY", "AggregateReport", "aggregate", "aggregate_unless_running", "serialise_sqlite_writers"]
