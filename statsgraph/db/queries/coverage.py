"""Which closed business days the pre-aggregated tables hold, and the raw ranges left over."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime

from sqlalchemy import ColumnElement, SQLColumnExpression, and_, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from ...core.calendar import BusinessCalendar, Window
from ...core.scope import GlobalScope, Scope, UserScope
from ..models import OwnUserDaily, StatsDaily, StatsUserDaily


async def aggregated_days(
    session: AsyncSession, *, scope: Scope, calendar: BusinessCalendar, detailed: bool = True
) -> frozenset[date]:
    """Closed days with a pre-aggregate row in this scope. For a user, `detailed` asks for
    the days of statsgraph's `statsgraph_user_daily` (every figure) rather than Aether's
    `stats_user_daily` (counts, tokens and cost).

    A row counts only when its `date` is exactly the start of a business day of the current
    time zone: rows written under another APP_TIMEZONE do not line up with our days and are
    ignored (their days come from raw rows), never half-counted."""
    today_start = calendar.today_start()
    if isinstance(scope, UserScope):
        table = OwnUserDaily if detailed else StatsUserDaily
        stmt = select(table.date).where(table.user_id == scope.user_id, table.date < today_start)
    else:
        stmt = select(StatsDaily.date).where(StatsDaily.date < today_start)
    return aligned_days((start for (start,) in await session.execute(stmt)), calendar)


def aligned_days(starts: Iterable[datetime], calendar: BusinessCalendar) -> frozenset[date]:
    """The business days whose start instant is among `starts`. The one rule, for readers and
    the aggregator alike, of which pre-aggregate rows count: a row whose `date` is not exactly
    a business day's start in the current zone was written under another APP_TIMEZONE."""
    days = set()
    for start in starts:
        day = calendar.date_of(start)
        if calendar.day_start(day) == start:
            days.add(day)
    return frozenset(days)


def covered_in(window: Window, covered: Iterable[date], calendar: BusinessCalendar) -> list[date]:
    """The covered days lying wholly inside the window, oldest first."""
    inside = []
    for day in covered:
        w = calendar.day_window(day)
        assert w.start is not None, "a day's window starts at its midnight"
        if (window.start is None or w.start >= window.start) and w.end <= window.end:
            inside.append(day)
    return sorted(inside)


def raw_ranges(window: Window, covered_days: list[date], calendar: BusinessCalendar) -> list[Window]:
    """The parts of the window not covered by pre-aggregated days (`covered_days` sorted)."""
    ranges: list[Window] = []
    cursor = window.start
    for day in covered_days:
        w = calendar.day_window(day)
        assert w.start is not None, "a day's window starts at its midnight"
        if cursor is None or cursor < w.start:
            ranges.append(Window(cursor, w.start))
        cursor = w.end
    if cursor is None or cursor < window.end:
        ranges.append(Window(cursor, window.end))
    return ranges


def ranges_of_days(days: list[date], calendar: BusinessCalendar) -> list[Window]:
    """The UTC ranges of the given business days (sorted), adjacent days merged."""
    ranges: list[Window] = []
    for day in days:
        w = calendar.day_window(day)
        if ranges and ranges[-1].end == w.start:
            ranges[-1] = Window(ranges[-1].start, w.end)
        else:
            ranges.append(w)
    return ranges


def in_ranges(column: SQLColumnExpression[datetime], ranges: list[Window]) -> ColumnElement[bool]:
    parts = []
    for r in ranges:
        if r.start is None:
            parts.append(column < r.end)
        else:
            parts.append(and_(column >= r.start, column < r.end))
    return or_(*parts) if parts else ~true()


def _holds(outer: Window, inner: Window) -> bool:
    return inner.start is not None and (outer.start is None or outer.start <= inner.start) and inner.end <= outer.end


def inside(ranges: list[Window], windows: Sequence[Window]) -> list[Window]:
    """The windows that lie inside one of the ranges."""
    return [w for w in windows if any(_holds(r, w) for r in ranges)]


def without(ranges: list[Window], rolled: Sequence[Window]) -> list[Window]:
    """The ranges with the rolled-up windows (each inside one range) cut out."""
    out: list[Window] = []
    for r in ranges:
        cursor = r.start
        for h in rolled:
            if _holds(r, h):
                if cursor is None or cursor < h.start:  # type: ignore[operator]
                    out.append(Window(cursor, h.start))  # type: ignore[arg-type]
                cursor = h.end
        if cursor is None or cursor < r.end:
            out.append(Window(cursor, r.end))
    return out


def scope_is_global(scope: Scope) -> bool:
    return isinstance(scope, GlobalScope)


__all__ = [
    "aggregated_days", "aligned_days", "covered_in", "in_ranges", "inside", "ranges_of_days", "raw_ranges", "without",
]
