"""Per-business-day figures of a window: pre-aggregated days plus raw rows, in one statement."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Select, func, select, union, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from ...core.analytics import NO_FILTER
from ...core.calendar import BusinessCalendar, Window
from ...core.figures import DayFigures
from ...core.scope import GLOBAL, Scope, UserScope
from ..catalogue import DAY, HOURLY_DAY, HOURLY_SETS, Agg, aggregated, decode, picked, stored
from ..models import OwnUserDaily, RequestCandidate, StatsDaily, StatsUserDaily, Usage
from ..rollup_tables import HourlyFallback, UsageHourly, UsageHourlyNames
from ..sqlexpr import as_date, business_date
from .coverage import covered_in, in_ranges, inside, ranges_of_days, raw_ranges, without
from .filters import (
    CandidateIndex,
    candidates_in_scope,
    executed_candidate,
    usage_in_scope,
)
from .usage_rollups import HOURLY, cell_conditions


class Figures(enum.Enum):
    """Which figures a caller needs; decides which user pre-aggregate can serve them.

    Aether's `stats_user_daily` holds counts, tokens and cost only (BASIC); statsgraph's
    `statsgraph_user_daily` holds every figure (FULL). Each covers the days it has rows for."""

    BASIC = "basic"
    FULL = "full"


async def day_figures(
    session: AsyncSession,
    *,
    scope: Scope,
    window: Window,
    calendar: BusinessCalendar,
    covered: frozenset[date],
    figures: Figures = Figures.FULL,
    raw_days: list[date] | None = None,
    distinct_counts: bool = True,
    fallbacks: bool = True,
    rolled: Sequence[Window] = (),
    candidates: CandidateIndex = CandidateIndex.TIME,
) -> dict[date, DayFigures]:
    """Figures of every business day in the window that has any; days without rows are absent.

    `raw_days` (sorted) computes just those days from raw rows, whatever is pre-aggregated:
    the aggregator's own input. `distinct_counts=False` skips the per-day distinct models and
    providers (a sort per day over raw rows), which period totals never show. `fallbacks=False`
    leaves `request_candidates` unread (fallback counts stay 0): for callers that show none.

    `rolled` are rolled-up hours (UTC windows inside the window's raw days, sorted): their rows
    are read from the hourly rollup instead, so an open day costs its open hour, not its rows.
    Distinct counts are counted once over the hours' names and the raw rows together; fallbacks
    from the hours' candidate entries and, for requests with candidates outside them, raw.
    `candidates` names the index that finds raw candidates by time on this database."""

    dialect = session.get_bind().dialect.name
    if not isinstance(scope, UserScope):
        figures = Figures.FULL  # the global pre-aggregates hold every figure
    if raw_days is not None:
        covered_days, ranges = [], ranges_of_days(raw_days, calendar)
    else:
        covered_days = covered_in(window, covered, calendar)
        ranges = raw_ranges(window, covered_days, calendar)

    parts: list[Select] = []
    if covered_days:
        parts.append(_preaggregated_part(scope, figures, covered_days, calendar, dialect, window))
    if ranges:
        rolled = inside(ranges, rolled)
        usage_ranges = without(ranges, rolled)
        if usage_ranges:
            parts.append(_usage_part(scope, usage_ranges, calendar, dialect, window, distinct_counts and not rolled))
        if rolled:
            parts.append(_hourly_part(scope, rolled, calendar, dialect, window))
            if distinct_counts:
                parts.append(_distinct_part(scope, rolled, usage_ranges, calendar, dialect, window))
        if figures is Figures.FULL and fallbacks:
            parts.append(_fallback_part(scope, ranges, calendar, dialect, window, rolled=rolled,
                                        candidates=candidates))
    if not parts:
        return {}

    out: dict[date, DayFigures] = {}
    for row in await session.execute(union_all(*parts) if len(parts) > 1 else parts[0]):
        day = as_date(row.day)
        decode(DAY, row, out.setdefault(day, DayFigures(day)))
    if rolled:
        # Parts of one day add up but their means do not: the mean comes from the exact sums.
        for day in {calendar.date_of(r.start) for r in rolled if r.start is not None}:
            f = out.get(day)
            if f is not None:
                f.avg_response_ms = f.response_ms_sum / f.response_count if f.response_count else 0.0
    return out


def _hourly_part(scope: Scope, rolled: Sequence[Window], calendar: BusinessCalendar, dialect: str,
                 window: Window) -> Select:
    h = UsageHourly
    where = [in_ranges(h.hour, list(rolled)), *cell_conditions(HOURLY, scope, NO_FILTER)]
    day = business_date(h.hour, dialect=dialect, calendar=calendar, window=window).label("day")
    cols = [HOURLY_DAY[f.name]().label(f.name) if f.name in HOURLY_DAY else f.zero() for f in DAY]
    return select(day, *cols).where(*where).group_by(day)


def _distinct_part(scope: Scope, rolled: Sequence[Window], raw: Sequence[Window], calendar: BusinessCalendar,
                   dialect: str, window: Window) -> Select:
    """The distinct counts of days read in parts: each value once over the rolled-up hours'
    names and the other rows together."""
    n, u = UsageHourlyNames, Usage
    sets = [f for f in DAY if f.name in HOURLY_SETS]
    named = select(
        business_date(n.hour, dialect=dialect, calendar=calendar, window=window).label("day"),
        *(HOURLY_SETS[f.name]().label(f.name) for f in sets),
    ).where(in_ranges(n.hour, list(rolled)))
    if isinstance(scope, UserScope):
        named = named.where(n.user_id == scope.user_id)
    sources = [named]
    if raw:
        sources.append(select(
            business_date(u.created_at, dialect=dialect, calendar=calendar, window=window).label("day"),
            *picked(sets),
        ).where(usage_in_scope(scope), in_ranges(u.created_at, list(raw))))
    values = union_all(*sources).subquery() if len(sources) > 1 else named.subquery()
    cols = [f.raw(values.c) if f in sets else f.zero() for f in DAY]
    return select(values.c.day, *cols).group_by(values.c.day)


async def raw_user_day_figures(
    session: AsyncSession, *, days: list[date], calendar: BusinessCalendar
) -> dict[tuple[date, str], DayFigures]:
    """For the aggregator: every user's figures of the given days from raw rows, in two grouped
    statements (usage and fallbacks) whatever the number of days and users."""
    dialect = session.get_bind().dialect.name
    window = calendar.days_window(days[0], days[-1])
    ranges = ranges_of_days(days, calendar)
    out: dict[tuple[date, str], DayFigures] = {}
    for part in (
        _usage_part(GLOBAL, ranges, calendar, dialect, window, True, by_user=True),
        _fallback_part(GLOBAL, ranges, calendar, dialect, window, by_user=True),
    ):
        for row in await session.execute(part):
            day = as_date(row.day)
            decode(DAY, row, out.setdefault((day, row.user_id), DayFigures(day)))
    return out


def _preaggregated_part(
    scope: Scope, figures: Figures, days: list[date], calendar: BusinessCalendar, dialect: str, window: Window
) -> Select:
    starts = [calendar.day_start(d) for d in days]
    t: type[StatsDaily] | type[StatsUserDaily] | type[OwnUserDaily] = StatsDaily
    if isinstance(scope, UserScope):
        t = OwnUserDaily if figures is Figures.FULL else StatsUserDaily
    stmt = select(
        business_date(t.date, dialect=dialect, calendar=calendar, window=window).label("day"), *stored(t, DAY)
    ).where(t.date.in_(starts))
    if isinstance(scope, UserScope):
        stmt = stmt.where(t.user_id == scope.user_id)  # type: ignore[union-attr]
    return stmt


def _usage_part(
    scope: Scope,
    ranges: list[Window],
    calendar: BusinessCalendar,
    dialect: str,
    window: Window,
    distinct_counts: bool,
    *,
    by_user: bool = False,
) -> Select:
    u = Usage
    where = [usage_in_scope(scope), in_ranges(u.created_at, ranges)]
    if by_user:
        where.append(u.user_id.is_not(None))
    rows = (
        select(
            business_date(u.created_at, dialect=dialect, calendar=calendar, window=window).label("day"),
            u.user_id,
            *picked(DAY),
        )
        .where(*where)
        .subquery()
    )
    c = rows.c
    keys = [c.day, c.user_id] if by_user else [c.day]
    skip = frozenset() if distinct_counts else frozenset({"unique_models", "unique_providers"})
    return select(*keys, *aggregated(c, DAY, skip=skip)).group_by(*keys)


def _fallback_part(
    scope: Scope, ranges: list[Window], calendar: BusinessCalendar, dialect: str, window: Window,
    *, by_user: bool = False, rolled: Sequence[Window] = (), candidates: CandidateIndex = CandidateIndex.TIME,
) -> Select:
    """Fallbacks per day (and user): a candidate belongs to the user of its request's usage row.

    With `rolled` hours: requests from those hours' entries, plus, read raw over the whole
    ranges, every request with a candidate in the rest; each counted once."""
    rc, u = RequestCandidate, Usage

    def day_of(column: Any) -> Any:
        return business_date(column, dialect=dialect, calendar=calendar, window=window).label("day")

    def executed_in(parts: Sequence[Window]) -> list[Any]:
        return [executed_candidate(candidates), in_ranges(rc.created_at, list(parts))]

    if rolled and not by_user:
        raw = without(ranges, rolled)
        hf = HourlyFallback
        from_hours = (
            select(day_of(hf.hour), hf.request_id)
            .where(in_ranges(hf.hour, list(rolled)))
            .group_by(day_of(hf.hour), hf.request_id)
            .having(func.sum(hf.executed) > 1)
        )
        if isinstance(scope, UserScope):
            from_hours = from_hours.where(hf.user_id == scope.user_id)
        found = [from_hours]
        if raw:
            touched = select(rc.request_id).where(*executed_in(raw), candidates_in_scope(scope)).distinct()
            found.append(
                select(day_of(rc.created_at), rc.request_id)
                .where(*executed_in(ranges), rc.request_id.in_(touched.scalar_subquery()))
                .group_by(day_of(rc.created_at), rc.request_id)
                .having(func.count() > 1)
            )
        fallbacks = union(*found).subquery() if len(found) > 1 else from_hours.subquery()
        cols = [func.count().label(f.name) if f.agg is Agg.FALLBACKS else f.zero() for f in DAY]
        return select(fallbacks.c.day, *cols).group_by(fallbacks.c.day)

    picked_rows = select(
        day_of(rc.created_at), rc.request_id, *([u.user_id] if by_user else []),
    ).where(*executed_in(ranges), candidates_in_scope(scope))
    if by_user:
        picked_rows = picked_rows.join(u, u.request_id == rc.request_id).where(u.user_id.is_not(None))
    executed = picked_rows.subquery()
    keys = [executed.c.day, *([executed.c.user_id] if by_user else [])]
    per_request = (
        select(*keys).group_by(*keys, executed.c.request_id).having(func.count() > 1).subquery()
    )
    outer = [per_request.c.day, *([per_request.c.user_id] if by_user else [])]
    cols = [func.count().label(f.name) if f.agg is Agg.FALLBACKS else f.zero() for f in DAY]
    return select(*outer, *cols).group_by(*outer)


__all__ = ["Figures", "day_figures", "raw_user_day_figures"]
