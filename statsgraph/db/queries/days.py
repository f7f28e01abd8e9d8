"""Per-business-day figures of a window: pre-aggregated days plus raw rows, in one statement."""

from __future__ import annotations

import enum
from datetime import date
from typing import Any

from sqlalchemy import Select, distinct, func, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from ...core.calendar import BusinessCalendar, Window
from ...core.figures import DayFigures
from ...core.scope import Scope, UserScope
from ..models import RequestCandidate, StatsDaily, StatsUserDaily, StatsUserDailyDetail, Usage
from ..sqlexpr import as_date, business_date
from .coverage import covered_in, in_ranges, ranges_of_days, raw_ranges
from .filters import (
    EXECUTED_CANDIDATE,
    candidates_in_scope,
    count_if,
    is_error,
    usage_in_scope,
)


class Figures(enum.Enum):
    """Which figures a caller needs; decides which user pre-aggregate can serve them.

    Aether's `stats_user_daily` holds counts, tokens and cost only (BASIC); statsgraph's
    `stats_user_daily_detail` holds every figure (FULL). Each covers the days it has rows for."""

    BASIC = "basic"
    FULL = "full"


_COLUMNS = (
    "requests", "error_requests", "input_tokens", "output_tokens", "cache_creation_tokens",
    "cache_read_tokens", "cost", "actual_cost", "cache_creation_cost", "cache_read_cost",
    "avg_response_ms", "unique_models", "unique_providers", "fallback_count",
    "ok_response_ms_sum", "ok_response_count",
)
_INTS = {
    "requests", "error_requests", "input_tokens", "output_tokens", "cache_creation_tokens",
    "cache_read_tokens", "unique_models", "unique_providers", "fallback_count", "ok_response_count",
}


def _zero(name: str):  # noqa: ANN202
    return literal(0).label(name) if name in _INTS else literal(0.0).label(name)


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
) -> dict[date, DayFigures]:
    """Figures of every business day in the window that has any; days without rows are absent.

    `raw_days` (sorted) computes just those days from raw rows, whatever is pre-aggregated:
    the aggregator's own input. `distinct_counts=False` skips the per-day distinct models and
    providers (a sort per day over raw rows), which period totals never show."""
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
        parts.append(_usage_part(scope, ranges, calendar, dialect, window, distinct_counts))
        if figures is Figures.FULL:
            parts.append(_fallback_part(scope, ranges, calendar, dialect, window))
    if not parts:
        return {}

    out: dict[date, DayFigures] = {}
    for row in await session.execute(union_all(*parts) if len(parts) > 1 else parts[0]):
        day = as_date(row.day)
        figs = out.setdefault(day, DayFigures(day))
        for name in _COLUMNS:
            value = getattr(row, name)
            if value:
                current = getattr(figs, name)
                setattr(figs, name, current + (int(value) if name in _INTS else float(value)))
    return out


def _preaggregated_part(
    scope: Scope, figures: Figures, days: list[date], calendar: BusinessCalendar, dialect: str, window: Window
) -> Select:
    starts = [calendar.day_start(d) for d in days]
    if isinstance(scope, UserScope) and figures is Figures.FULL:
        x = StatsUserDailyDetail
        columns = _every_figure(x, dialect=dialect, calendar=calendar, window=window)
        return select(*columns).where(x.user_id == scope.user_id, x.date.in_(starts))
    if isinstance(scope, UserScope):
        t = StatsUserDaily
        return select(
            business_date(t.date, dialect=dialect, calendar=calendar, window=window).label("day"),
            t.total_requests.label("requests"),
            t.error_requests.label("error_requests"),
            t.input_tokens.label("input_tokens"),
            t.output_tokens.label("output_tokens"),
            t.cache_creation_tokens.label("cache_creation_tokens"),
            t.cache_read_tokens.label("cache_read_tokens"),
            t.total_cost.label("cost"),
            *(_zero(n) for n in _COLUMNS[7:]),
        ).where(t.user_id == scope.user_id, t.date.in_(starts))
    columns = _every_figure(StatsDaily, dialect=dialect, calendar=calendar, window=window)
    return select(*columns).where(StatsDaily.date.in_(starts))


def _every_figure(
    t: type[StatsDaily] | type[StatsUserDailyDetail], *, dialect: str, calendar: BusinessCalendar, window: Window
) -> list:
    """The columns of a pre-aggregate that holds every day figure, in `_COLUMNS` order."""
    return [
        business_date(t.date, dialect=dialect, calendar=calendar, window=window).label("day"),
        t.total_requests.label("requests"),
        t.error_requests.label("error_requests"),
        t.input_tokens.label("input_tokens"),
        t.output_tokens.label("output_tokens"),
        t.cache_creation_tokens.label("cache_creation_tokens"),
        t.cache_read_tokens.label("cache_read_tokens"),
        t.total_cost.label("cost"),
        t.actual_total_cost.label("actual_cost"),
        t.cache_creation_cost.label("cache_creation_cost"),
        t.cache_read_cost.label("cache_read_cost"),
        func.coalesce(t.avg_response_time_ms, 0.0).label("avg_response_ms"),
        t.unique_models.label("unique_models"),
        t.unique_providers.label("unique_providers"),
        t.fallback_count.label("fallback_count"),
        _zero("ok_response_ms_sum"),
        _zero("ok_response_count"),
    ]


def _usage_part(
    scope: Scope,
    ranges: list[Window],
    calendar: BusinessCalendar,
    dialect: str,
    window: Window,
    distinct_counts: bool,
) -> Select:
    u = Usage
    ok_time = u.response_time_ms.is_not(None) & (u.status_code == 200)
    rows = (
        select(
            business_date(u.created_at, dialect=dialect, calendar=calendar, window=window).label("day"),
            *raw_usage_columns(),
            func.coalesce(u.response_time_ms, 0).label("rt_or_zero"),
            count_if(ok_time).label("ok_time"),
        )
        .where(usage_in_scope(scope), in_ranges(u.created_at, ranges))
        .subquery()
    )
    c = rows.c
    return select(
        c.day,
        *raw_day_aggregates(c, distinct_counts=distinct_counts),
        _zero("fallback_count"),
        func.sum(c.rt_or_zero * c.ok_time).label("ok_response_ms_sum"),
        func.sum(c.ok_time).label("ok_response_count"),
    ).group_by(c.day)


def raw_usage_columns() -> list:
    """The usage columns `raw_day_aggregates` sums (besides `day`)."""
    u = Usage
    return [
        count_if(is_error()).label("is_error"),
        u.input_tokens, u.output_tokens, u.cache_creation_input_tokens, u.cache_read_input_tokens,
        u.total_cost_usd, u.actual_total_cost_usd, u.cache_creation_cost_usd, u.cache_read_cost_usd,
        u.response_time_ms, u.model, u.provider_name,
    ]


def raw_day_aggregates(c: Any, *, distinct_counts: bool = True) -> list:
    """A day's figures from a subquery of `raw_usage_columns`, named as in `_COLUMNS`."""
    return [
        func.count().label("requests"),
        func.sum(c.is_error).label("error_requests"),
        func.sum(c.input_tokens).label("input_tokens"),
        func.sum(c.output_tokens).label("output_tokens"),
        func.sum(c.cache_creation_input_tokens).label("cache_creation_tokens"),
        func.sum(c.cache_read_input_tokens).label("cache_read_tokens"),
        func.sum(c.total_cost_usd).label("cost"),
        func.sum(c.actual_total_cost_usd).label("actual_cost"),
        func.sum(c.cache_creation_cost_usd).label("cache_creation_cost"),
        func.sum(c.cache_read_cost_usd).label("cache_read_cost"),
        func.coalesce(func.avg(c.response_time_ms), 0.0).label("avg_response_ms"),
        func.count(distinct(c.model)).label("unique_models") if distinct_counts else _zero("unique_models"),
        (
            func.count(distinct(c.provider_name)).label("unique_providers")
            if distinct_counts
            else _zero("unique_providers")
        ),
    ]


def _fallback_part(
    scope: Scope, ranges: list[Window], calendar: BusinessCalendar, dialect: str, window: Window
) -> Select:
    rc = RequestCandidate
    executed = (
        select(
            business_date(rc.created_at, dialect=dialect, calendar=calendar, window=window).label("day"),
            rc.request_id,
        )
        .where(
            rc.status.in_(EXECUTED_CANDIDATE),
            in_ranges(rc.created_at, ranges),
            candidates_in_scope(scope),
        )
        .subquery()
    )
    per_request = (
        select(executed.c.day, executed.c.request_id)
        .group_by(executed.c.day, executed.c.request_id)
        .having(func.count() > 1)
        .subquery()
    )
    names = [n for n in _COLUMNS if n != "fallback_count"]
    cols = [_zero(n) for n in names]
    cols.insert(_COLUMNS.index("fallback_count"), func.count().label("fallback_count"))
    return select(per_request.c.day, *cols).group_by(per_request.c.day)


__all__ = ["Figures", "day_figures", "raw_day_aggregates", "raw_usage_columns"]
