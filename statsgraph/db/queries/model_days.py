"""Per-(business day, model) figures of a window: pre-aggregated days plus raw rows."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Select, func, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from ..calendar import BusinessCalendar, Window
from ..figures import ModelDay
from ..models import StatsDailyModel, Usage
from ..scope import GlobalScope, Scope
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
    raw_days: list[date] | None = None,
) -> list[ModelDay]:
    """One row per model and business day with requests, in the window.

    Rows without a model are left out, as Aether's aggregator leaves them out of
    `stats_daily_model`; the day totals still count them. There is no per-user model
    pre-aggregate, so a user scope always reads raw rows (indexed by user and time)."""
    dialect = session.get_bind().dialect.name
    if raw_days is not None:
        covered_days, ranges = [], ranges_of_days(raw_days, calendar)
    else:
        covered_days = covered_in(window, covered, calendar) if isinstance(scope, GlobalScope) else []
        ranges = raw_ranges(window, covered_days, calendar)
    parts: list[Select] = []
    if covered_days:
        m = StatsDailyModel
        parts.append(
            select(
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
        )
    if ranges:
        u = Usage
        rows = (
            select(
                business_date(u.created_at, dialect=dialect, calendar=calendar, window=window).label("day"),
                u.model, u.input_tokens, u.output_tokens, u.cache_creation_input_tokens,
                u.cache_read_input_tokens, u.total_cost_usd, u.response_time_ms,
            )
            .where(usage_in_scope(scope), in_ranges(u.created_at, ranges), u.model.is_not(None))
            .subquery()
        )
        c = rows.c
        parts.append(
            select(
                c.day,
                c.model,
                func.count().label("requests"),
                func.sum(c.input_tokens).label("input_tokens"),
                func.sum(c.output_tokens).label("output_tokens"),
                func.sum(c.cache_creation_input_tokens).label("cache_creation_tokens"),
                func.sum(c.cache_read_input_tokens).label("cache_read_tokens"),
                func.sum(c.total_cost_usd).label("cost"),
                func.coalesce(func.avg(c.response_time_ms), literal(0.0)).label("avg_response_ms"),
            ).group_by(c.day, c.model)
        )
    if not parts:
        return []
    result = await session.execute(union_all(*parts) if len(parts) > 1 else parts[0])
    return [
        ModelDay(
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
        for r in result
    ]


__all__ = ["model_days"]
