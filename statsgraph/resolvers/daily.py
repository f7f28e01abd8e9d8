"""Resolvers of the daily report: the day series, per-day model breakdowns, model summary."""

from __future__ import annotations

from datetime import date, timedelta

from ..core.calendar import iter_days
from ..core.figures import DayFigures, ModelDay, ModelTotals, by_cost, model_totals_of
from ..core.scope import Scope
from .context import Context
from .errors import BadUserInput
from .loaders import ModelDayKey, WindowKey

MAX_DAYS = 366


def report_days(ctx: Context, days: int) -> tuple[date, date]:
    if not 1 <= days <= MAX_DAYS:
        raise BadUserInput(f"days must be between 1 and {MAX_DAYS}", argumentName="days")
    last = ctx.calendar.today()
    return last - timedelta(days=days - 1), last


# DailyStat fields that cost work of their own: distinct counts per day, and fallbacks (read
# from request_candidates). Without them selected, that work is skipped.
DISTINCT_FIELDS = frozenset({"uniqueModels", "uniqueProviders"})
FALLBACK_FIELDS = frozenset({"fallbackCount"})
# Model breakdowns travel with the days they break down, so a cached series answers them too.
BREAKDOWN_FIELDS = frozenset({"modelBreakdown"})
_COSTLY = (("distinct", DISTINCT_FIELDS), ("fallbacks", FALLBACK_FIELDS), ("models", BREAKDOWN_FIELDS))


def series_variant(selected: set[str]) -> str:
    """Part of the day series' cache key: which costly figures it was computed with."""
    return "+".join(name for name, fields in _COSTLY if not fields.isdisjoint(selected))


def wants_breakdowns(selected: set[str]) -> bool:
    return not BREAKDOWN_FIELDS.isdisjoint(selected)


async def day_series(
    ctx: Context, scope: Scope, first: date, last: date, selected: set[str] | None = None
) -> list[DayFigures]:
    """`selected` (the DailyStat fields asked for) decides which costly figures are computed;
    None computes all."""
    window = ctx.calendar.days_window(first, last)
    distinct = selected is None or not DISTINCT_FIELDS.isdisjoint(selected)
    fallbacks = selected is None or not FALLBACK_FIELDS.isdisjoint(selected)
    found = await ctx.loaders.day_figures.load(
        WindowKey(scope, window, distinct_counts=distinct, fallbacks=fallbacks)
    )
    return [found.get(d) or DayFigures(d) for d in iter_days(first, last)]


async def model_breakdowns(ctx: Context, scope: Scope, first: date, last: date) -> list[list[ModelDay]]:
    """Each day's models, most cost first, from one batch of the per-day model loader."""
    per_day = await ctx.loaders.model_days.load_many([ModelDayKey(scope, d) for d in iter_days(first, last)])
    return [by_cost(rows) for rows in per_day]


async def model_summary(ctx: Context, scope: Scope, first: date, last: date) -> list[ModelTotals]:
    per_day = await ctx.loaders.model_days.load_many([ModelDayKey(scope, d) for d in iter_days(first, last)])
    return model_totals_of(r for rows in per_day for r in rows)


__all__ = ["day_series", "model_breakdowns", "model_summary", "report_days", "series_variant", "wants_breakdowns"]
