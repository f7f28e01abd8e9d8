"""The daily rollup writer: each business day of `APP_TIMEZONE` from its hourly rollups.

A day is built once every UTC hour in it is rolled up, by summing those hours' cells over user and
API key, so it holds exactly what its hours hold (and inherits their rule: no open row, closed by
a margin). When the hourly writer re-rolls or drops an hour, it removes the day holding it first
(`drop_days_touching`), and the next run builds the day again. Days whose midnights are not whole
UTC hours (Asia/Kolkata) are never built: their hours do not tile them. A day of another zone
(rows written before `APP_TIMEZONE` changed) is replaced where it overlaps one of the current
zone's days, and serves reports meanwhile wherever it lines up with their buckets."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import and_, delete, func, insert, inspect, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ..core.calendar import BusinessCalendar
from .rollup_tables import (
    DAILY_TABLES,
    WEEKLY_TABLES,
    RollupDay,
    RollupHour,
    RollupWeek,
    UsageDaily,
    UsageDailyLatency,
    UsageHourly,
    UsageHourlyLatency,
    UsageWeekly,
    UsageWeeklyLatency,
)

log = logging.getLogger("statsgraph.aggregator")

UTC = timezone.utc
HOUR = timedelta(hours=1)
CHUNK_DAYS = 31
# The dimensions a day keeps, in UsageDaily's order; user and API key are summed over.
DAY_COLUMNS = ("provider_key", "model", "api_format", "is_stream", "status_code", "is_error")
SUMMED = (
    "requests", "input_tokens", "output_tokens", "cache_creation_tokens", "cache_read_tokens", "cost",
    "actual_cost", "cache_creation_cost", "cache_read_cost", "response_count", "response_sum_ms",
    "first_byte_count", "first_byte_sum_ms",
)
MAXED = ("response_max_ms", "first_byte_max_ms")
_NAMESPACE = uuid.UUID("6a1d2c3b-4e5f-4a6b-8c7d-9e0f1a2b3c4d")


async def tables_present(conn: AsyncConnection, tables: Sequence[Any]) -> bool:
    def check(sync_conn) -> bool:  # noqa: ANN001
        inspector = inspect(sync_conn)
        return all(inspector.has_table(t.__tablename__) for t in tables)

    return await conn.run_sync(check)


async def daily_tables_present(conn: AsyncConnection) -> bool:
    return await tables_present(conn, DAILY_TABLES)


async def weekly_tables_present(conn: AsyncConnection) -> bool:
    return await tables_present(conn, WEEKLY_TABLES)


def _drop_touching(marker: Any, cells: Any, latency: Any, windows: Sequence[tuple[datetime, datetime]]) -> list[Any]:
    """Statements removing every built period (day or week) that overlaps one of `windows`:
    its latency rows, its cells, then its entry in `marker` (whose first two columns are the
    period's start and end; the cells' and latency rows' own start column has the same name)."""
    if not windows:
        return []
    start, end = marker.__table__.c[0], marker.__table__.c[1]
    overlapping = or_(*(and_(start < b, end > a) for a, b in windows))
    starts = select(start).where(overlapping)
    return [
        delete(latency).where(latency.__table__.c[start.name].in_(starts)),
        delete(cells).where(cells.__table__.c[start.name].in_(starts)),
        delete(marker).where(overlapping),
    ]


def drop_weeks_touching(windows: Sequence[tuple[datetime, datetime]]) -> list[Any]:
    """Statements removing every built week that overlaps one of `windows`."""
    return _drop_touching(RollupWeek, UsageWeekly, UsageWeeklyLatency, windows)


def drop_days_touching(windows: Sequence[tuple[datetime, datetime]], *, weeks: bool) -> list[Any]:
    """Statements removing every built day that overlaps one of `windows`, and with `weeks`
    (the weekly tables exist) every week holding one."""
    return [
        *(drop_weeks_touching(windows) if weeks else ()),
        *_drop_touching(RollupDay, UsageDaily, UsageDailyLatency, windows),
    ]


def aware(instant: datetime) -> datetime:
    return instant if instant.tzinfo else instant.replace(tzinfo=UTC)


def _whole_hours(instant: datetime) -> bool:
    return instant.minute == 0 and instant.second == 0 and instant.microsecond == 0


async def _candidates(conn: AsyncConnection, calendar: BusinessCalendar) -> list[tuple[datetime, datetime]]:
    rolled = {aware(h) for h in await conn.scalars(select(RollupHour.hour))}
    if not rolled:
        return []
    built = {(aware(s), aware(e)) for s, e in await conn.execute(select(RollupDay.day_start, RollupDay.day_end))}
    out: list[tuple[datetime, datetime]] = []
    day: date = calendar.date_of(min(rolled))
    while True:
        start, end = calendar.day_start(day), calendar.day_start(day + timedelta(days=1))
        if start > max(rolled):
            return out
        day += timedelta(days=1)
        if (start, end) in built or not (_whole_hours(start) and _whole_hours(end)):
            continue
        hours = int((end - start) / HOUR)
        if all(start + i * HOUR in rolled for i in range(hours)):
            out.append((start, end))


def _key(values: Sequence[object]) -> tuple[object, ...]:
    provider_key, model, api_format, is_stream, status_code, err = values
    return (
        provider_key, model, api_format, bool(is_stream),
        None if status_code is None else int(status_code),  # type: ignore[call-overload]
        bool(err),
    )


def day_cell_id(start: datetime, key: Sequence[object]) -> str:
    return str(uuid.uuid5(_NAMESPACE, "|".join([start.isoformat(), *(repr(v) for v in key)])))


async def summed_cells(
    conn: AsyncConnection,
    *,
    cells: Any,
    latency: Any,
    cells_in: Any,
    latency_in: Any,
    cell_id: Callable[[tuple[object, ...]], str],
    placed: dict[str, datetime],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The rows of a longer period from the cells of shorter ones (hours into a day, days into a
    week): summed over everything but DAY_COLUMNS, histograms merged per cell. `cells_in` and
    `latency_in` pick the shorter periods' rows; `placed` is what places the new rows
    (their start and end columns; the latency rows get the first)."""
    dims = [getattr(cells, name) for name in DAY_COLUMNS]
    sums = select(
        *dims, *(func.sum(getattr(cells, name)) for name in SUMMED), *(func.max(getattr(cells, name)) for name in MAXED)
    ).where(cells_in).group_by(*dims)
    out = []
    for row in await conn.execute(sums):
        key = _key(row[: len(DAY_COLUMNS)])
        values = row[len(DAY_COLUMNS):]
        figures = {name: values[i] or 0 for i, name in enumerate(SUMMED)}
        maxima = {name: values[len(SUMMED) + i] for i, name in enumerate(MAXED)}
        out.append({"id": cell_id(key), **placed, **dict(zip(DAY_COLUMNS, key)), **figures, **maxima})
    hist = (
        select(*dims, latency.kind, latency.bucket, func.sum(latency.count))
        .select_from(latency)
        .join(cells, cells.id == latency.cell_id)
        .where(latency_in)
        .group_by(*dims, latency.kind, latency.bucket)
    )
    first = next(iter(placed))
    counts = [
        {"cell_id": cell_id(_key(row[: len(DAY_COLUMNS)])), "kind": int(row[-3]),
         "bucket": int(row[-2]), first: placed[first], "count": int(row[-1])}
        for row in await conn.execute(hist)
    ]
    return out, counts


async def _build(conn: AsyncConnection, start: datetime, end: datetime, now: datetime, *, weeks: bool) -> None:
    cells, latency = await summed_cells(
        conn, cells=UsageHourly, latency=UsageHourlyLatency,
        cells_in=and_(UsageHourly.hour >= start, UsageHourly.hour < end),
        latency_in=and_(UsageHourlyLatency.hour >= start, UsageHourlyLatency.hour < end),
        cell_id=lambda key: day_cell_id(start, key), placed={"day_start": start, "day_end": end},
    )
    for stmt in drop_days_touching([(start, end)], weeks=weeks):
        await conn.execute(stmt)
    if cells:
        await conn.execute(insert(UsageDaily), cells)
    if latency:
        await conn.execute(insert(UsageDailyLatency), latency)
    await conn.execute(insert(RollupDay), [{"day_start": start, "day_end": end, "rolled_at": now}])


async def roll_up_days(conn: AsyncConnection, calendar: BusinessCalendar) -> int:
    """Build every business day whose hours are all rolled up and that is not built yet; the
    number of days built. Commits after each chunk."""
    if not await daily_tables_present(conn):
        log.warning("statsgraph's daily rollup tables are missing: run `statsgraph db init`")
        await conn.commit()
        return 0
    days = await _candidates(conn, calendar)
    weeks = await weekly_tables_present(conn)
    await conn.commit()
    now = calendar.now()
    for i in range(0, len(days), CHUNK_DAYS):
        for start, end in days[i : i + CHUNK_DAYS]:
            await _build(conn, start, end, now, weeks=weeks)
        await conn.commit()
    return len(days)


__all__ = [
    "DAY_COLUMNS", "MAXED", "SUMMED", "aware", "daily_tables_present", "drop_days_touching", "drop_weeks_touching",
    "roll_up_days", "summed_cells", "tables_present", "weekly_tables_present",
]
