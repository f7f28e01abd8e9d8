"""The daily aggregator: fills `stats_daily`, `stats_daily_model`, `stats_user_daily` and
`stats_summary` with the meaning Aether's own aggregator gives them, so both can share a database,
and statsgraph's own `statsgraph_user_daily` and `statsgraph_user_daily_model`.

Each run works in chunks of days; a chunk is one transaction of grouped statements (never one
statement per model, user or day) that replaces the chunk's rows, so running twice gives the same
tables. Concurrent runs are serialised: a PostgreSQL advisory lock held for the whole run, or
SQLite's write lock per chunk (`BEGIN IMMEDIATE`)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import event, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from ...core.calendar import BusinessCalendar, iter_days
from ..models import OwnUserDaily, StatsDaily, Usage
from ..own_tables import OWN_TABLE_NAMES, own_tables_present
from ..queries.coverage import aligned_days
from ..rollup_daily import roll_up_days
from ..rollup_hourly import RECHECK, roll_up_hours
from ..rollup_weekly import roll_up_weeks
from .rows import write_days
from .summary import write_summary

log = logging.getLogger("statsgraph.aggregator")

# Any fixed number works; it only has to be the same for every statsgraph instance.
ADVISORY_LOCK_KEY = 0x5747_5241_5048  # "SGRAPH"
CHUNK_DAYS = 31


@dataclass(frozen=True, slots=True)
class AggregateReport:
    days: int
    first_day: date | None
    last_day: date | None


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
    recheck: timedelta = RECHECK,
) -> AggregateReport:
    """Aggregate every closed day not yet aggregated (or, with `backfill_days`, recompute the
    last N closed days whatever their state), then rewrite the summary. On PostgreSQL a run
    holds an advisory lock, and a second run waits for the first to end. Rolled-up hours closed
    within `recheck` are compared figure by figure with their rows (older ones only counted)."""
    report = await _run(engine, calendar=calendar, backfill_days=backfill_days, progress=progress, wait=True,
                        recheck=recheck)
    assert report is not None, "a waiting run always runs"
    return report


async def aggregate_unless_running(
    engine: AsyncEngine,
    *,
    calendar: BusinessCalendar,
    progress: Callable[[int, int], None] | None = None,
    recheck: timedelta = RECHECK,
) -> AggregateReport | None:
    """Like `aggregate`, but None at once when another run holds the PostgreSQL lock: for
    schedules that fire on every instance, where one run is enough."""
    return await _run(engine, calendar=calendar, backfill_days=None, progress=progress, wait=False, recheck=recheck)


async def _run(
    engine: AsyncEngine,
    *,
    calendar: BusinessCalendar,
    backfill_days: int | None,
    progress: Callable[[int, int], None] | None,
    wait: bool,
    recheck: timedelta,
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
            own_tables = await own_tables_present(conn)
            if not own_tables:
                log.warning(
                    "tables %s are missing: writing Aether's tables only; run `statsgraph db init` "
                    "so that user scopes read pre-aggregates too", ", ".join(OWN_TABLE_NAMES),
                )
            targets = await _target_days(conn, calendar, backfill_days, own_tables=own_tables)
            # End the read transaction so each chunk's session owns its own.
            await conn.commit()
            done = 0
            for i in range(0, len(targets), CHUNK_DAYS):
                chunk = targets[i : i + CHUNK_DAYS]
                async with AsyncSession(bind=conn, expire_on_commit=False) as session:
                    await write_days(session, calendar, chunk, own_tables=own_tables)
                    await session.commit()
                done += len(chunk)
                if progress:
                    progress(done, len(targets))
            async with AsyncSession(bind=conn) as session:
                await write_summary(session, calendar)
                await session.commit()
            await roll_up_hours(conn, now=calendar.now(), recheck=recheck)
            await roll_up_days(conn, calendar)
            await roll_up_weeks(conn, calendar)
        finally:
            if is_pg:
                await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": ADVISORY_LOCK_KEY})
                await conn.commit()
    return AggregateReport(len(targets), targets[0] if targets else None, targets[-1] if targets else None)


async def _target_days(
    conn: AsyncConnection, calendar: BusinessCalendar, backfill_days: int | None, *, own_tables: bool
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
    # A day is done when every table this run writes has it, by the readers' own rule of which
    # rows count: on an Aether database Aether's aggregator may have filled `stats_daily` while
    # statsgraph's own tables are still empty.
    before_today = calendar.today_start()

    async def days_of(table: type[StatsDaily] | type[OwnUserDaily]) -> frozenset[date]:
        stmt = select(table.date).where(table.date < before_today).distinct()
        return aligned_days((start for (start,) in await conn.execute(stmt)), calendar)

    done = await days_of(StatsDaily)
    if own_tables:
        # A day with no user at all (no requests, nobody active) stays a target; it writes
        # nothing and costs one grouped read.
        done &= await days_of(OwnUserDaily)
    return [d for d in iter_days(first, yesterday) if d not in done]


__all__ = ["ADVISORY_LOCK_KEY", "AggregateReport", "aggregate", "aggregate_unless_running", "serialise_sqlite_writers"]
