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


async def day_series(ctx: Context, scope: Scope, first: date, last: date) -> list[DayFigures]:
    window = ctx.calendar.days_window(first, last)
    found = await ctx.loaders.day_figures.load(WindowKey(scope, window))
    return [found.get(d) or DayFigures(d) for d in iter_days(first, last)]


async def model_breakdown(ctx: Context, scope: Scope, day: date) -> list[ModelDay]:
    return by_cost(await ctx.loaders.model_days.load(ModelDayKey(scope, day)))


async def model_summary(ctx: Context, scope: Scope, first: date, last: date) -> list[ModelTotals]:
    per_day = await ctx.loaders.model_days.load_many([ModelDayKey(scope, d) for d in iter_days(first, last)])
    return model_totals_of(r for rows in per_day for r in rows)


__all__ = ["day_series", "model_breakdown", "model_summary", "report_days"]
