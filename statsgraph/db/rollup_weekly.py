"""The weekly rollup writer: each week of `APP_TIMEZONE` (Monday 00:00 to the next Monday) from
its seven built days.

A week is built once all seven of its days are built in the current zone, by summing their cells
and merging their histograms, so it holds exactly what they hold. Whatever removes a day (an hour
re-rolled, a day of an earlier zone replaced) removes the week holding it in the same
transaction (`rollup_daily.drop_days_touching`), and the next run builds it again."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ..core.calendar import BusinessCalendar
from .rollup_daily import aware, drop_weeks_touching, summed_cells, weekly_tables_present
from .rollup_tables import (
    RollupDay,
    RollupWeek,
    UsageDaily,
    UsageDailyLatency,
    UsageWeekly,
    UsageWeeklyLatency,
)

log = logging.getLogger("statsgraph.aggregator")

CHUNK_WEEKS = 8
_NAMESPACE = uuid.UUID("3f0c9a7e-5b21-4d8e-9a64-1c2e7b5d8f90")

Week = tuple[datetime, datetime, list[datetime]]  # start, end, the starts of its seven days


def week_cell_id(start: datetime, key: tuple[object, ...]) -> str:
    return str(uuid.uuid5(_NAMESPACE, "|".join([start.isoformat(), *(repr(v) for v in key)])))


async def _candidates(conn: AsyncConnection, calendar: BusinessCalendar) -> list[Week]:
    built = {(aware(s), aware(e)) for s, e in await conn.execute(select(RollupDay.day_start, RollupDay.day_end))}
    if not built:
        return []
    done = {aware(s) for s in await conn.scalars(select(RollupWeek.week_start))}
    first = calendar.date_of(min(s for s, _ in built))
    last = calendar.date_of(max(s for s, _ in built))
    monday = first - timedelta(days=first.weekday())
    out: list[Week] = []
    while monday <= last:
        days = [(calendar.day_start(monday + timedelta(days=i)), calendar.day_start(monday + timedelta(days=i + 1)))
                for i in range(7)]
        if days[0][0] not in done and all(d in built for d in days):
            out.append((days[0][0], days[-1][1], [s for s, _ in days]))
        monday += timedelta(days=7)
    return out


async def _build(conn: AsyncConnection, week: Week, now: datetime) -> None:
    start, end, day_starts = week
    cells, latency = await summed_cells(
        conn, cells=UsageDaily, latency=UsageDailyLatency,
        cells_in=UsageDaily.day_start.in_(day_starts), latency_in=UsageDailyLatency.day_start.in_(day_starts),
        cell_id=lambda key: week_cell_id(start, key), placed={"week_start": start, "week_end": end},
    )
    for stmt in drop_weeks_touching([(start, end)]):
        await conn.execute(stmt)
    if cells:
        await conn.execute(insert(UsageWeekly), cells)
    if latency:
        await conn.execute(insert(UsageWeeklyLatency), latency)
    await conn.execute(insert(RollupWeek), [{"week_start": start, "week_end": end, "rolled_at": now}])


async def roll_up_weeks(conn: AsyncConnection, calendar: BusinessCalendar) -> int:
    """Build every week whose seven days are built and that is not built yet; the number of
    weeks built. Commits after each chunk."""
    if not await weekly_tables_present(conn):
        log.warning("statsgraph's weekly rollup tables are missing: run `statsgraph db init`")
        await conn.commit()
        return 0
    weeks = await _candidates(conn, calendar)
    await conn.commit()
    now = calendar.now()
    for i in range(0, len(weeks), CHUNK_WEEKS):
        for week in weeks[i : i + CHUNK_WEEKS]:
            await _build(conn, week, now)
        await conn.commit()
    return len(weeks)


__all__ = ["roll_up_weeks", "week_cell_id"]
