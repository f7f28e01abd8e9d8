"""Per-(business day, model) figures of a window: pre-aggregated days plus raw rows."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Row, Select, func, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from ...core.calendar import BusinessCalendar, Window
from ...core.figures import ModelDay
from ...core.scope import GLOBAL, Scope, UserScope
from ..models import StatsDailyModel, StatsUserDailyModel, Usage
from ..sqlexpr import as_date, business_date
from .coverage import covered_in, in_ranges, ranges_of_days, raw_ranges
from .filters import usage_in_scope


async def model_days(
    session: AsyncSession,
    *,
    scope: Scope,
    window: Window,
    calendar: BusinessCalendar,
    covered: frozenset[date],
) -> list[ModelDay]:
    """One row per model and business day with requests, in the window.

    Rows without a model are left out, as Aether's aggregator leaves them out of
    `stats_daily_model`; the day totals still count them. `covered` are the scope's
    pre-aggregated days: `stats_daily_model` for the global scope, statsgraph's
    `stats_user_daily_model` for a user (whose coverage is that of `stats_user_daily_detail`,
    written in the same transaction)."""
    dialect = session.get_bind().dialect.name
    covered_days = covered_in(window, covered, calendar)
    ranges = raw_ranges(window, covered_days, calendar)
    parts: list[Select] = []
    if covered_days:
        m: type[StatsDailyModel] | type[StatsUserDailyModel] = (
            StatsUserDailyModel if isinstance(scope, UserScope) else StatsDailyModel
        )
        stored = select(
            business_date(m.date, dialect=dialect, calendar=calendar, window=window).label("day"),
            m.model.label("model"),
            m.total_requests.label("requests"),
            m.input_tokens.label("input_tokens"),
            m.output_tokens.label("output_tokens"),
            m.cache_creation_tokens.label("cache_creation_tokens"),
            m.cache_read_tokens.label("cache_read_tokens"),
            m.total_cost.label("cost"),
            func.coalesce(m.avg_response_time_ms, literal(0.0)).label("avg_response_ms"),
        ).where(m.date.in_([calendar.day_start(d) for d in covered_days]))
        if isinstance(scope, UserScope):
            stored = stored.where(StatsUserDailyModel.user_id == scope.user_id)
        parts.append(stored)
    if ranges:
        parts.append(_raw(scope, ranges, dialect=dialect, calendar=calendar, window=window, by_user=False))
    if not parts:
        return []
    result = await session.execute(union_all(*parts) if len(parts) > 1 else parts[0])
    return [_model_day(r) for r in result]


async def raw_model_days(
    session: AsyncSession, *, days: list[date], calendar: BusinessCalendar
) -> tuple[list[ModelDay], list[tuple[str, ModelDay]]]:
    """For the aggregator: the given days' model figures from raw rows, for everyone and per
    user (two grouped statements, whatever the number of days, users or models)."""
    dialect = session.get_bind().dialect.name
    window = calendar.days_window(days[0], days[-1])
    ranges = ranges_of_days(days, calendar)
    everyone = await session.execute(
        _raw(GLOBAL, ranges, dialect=dialect, calendar=calendar, window=window, by_user=False)
    )
    per_user = await session.execute(
        _raw(GLOBAL, ranges, dialect=dialect, calendar=calendar, window=window, by_user=True)
    )
    return [_model_day(r) for r in everyone], [(r.user_id, _model_day(r)) for r in per_user]


def _raw(
    scope: Scope, ranges: list[Window], *, dialect: str, calendar: BusinessCalendar, window: Window, by_user: bool
) -> Select:
    u = Usage
    picked = select(
        business_date(u.created_at, dialect=dialect, calendar=calendar, window=window).label("day"),
        u.user_id, u.model, u.input_tokens, u.output_tokens, u.cache_creation_input_tokens,
        u.cache_read_input_tokens, u.total_cost_usd, u.response_time_ms,
    ).where(usage_in_scope(scope), in_ranges(u.created_at, ranges), u.model.is_not(None))
    if by_user:
        picked = picked.where(u.user_id.is_not(None))
    c = picked.subquery().c
    keys = [c.day, c.user_id, c.model] if by_user else [c.day, c.model]
    return select(
        *keys,
        func.count().label("requests"),
        func.sum(c.input_tokens).label("input_tokens"),
        func.sum(c.output_tokens).label("output_tokens"),
        func.sum(c.cache_creation_input_tokens).label("cache_creation_tokens"),
        func.sum(c.cache_read_input_tokens).label("cache_read_tokens"),
        func.sum(c.total_cost_usd).label("cost"),
        func.coalesce(func.avg(c.response_time_ms), literal(0.0)).label("avg_response_ms"),
    ).group_by(*keys)


def _model_day(r: Row[Any]) -> ModelDay:
    return ModelDay(
        day=as_date(r.day),
        model=r.model,
        requests=int(r.requests or 0),
        input_tokens=int(r.input_tokens or 0),
        output_tokens=int(r.output_tokens or 0),
        cache_creation_tokens=int(r.cache_creation_tokens or 0),
        cache_read_tokens=int(r.cache_read_tokens or 0),
        cost=float(r.cost or 0),
        avg_response_ms=float(r.avg_response_ms or 0),
    )


__all__ = ["model_days", "raw_model_days"]
