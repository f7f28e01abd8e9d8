"""Resolvers of DashboardStats: usage totals of named periods, counts, health, quota."""

from __future__ import annotations

import asyncio

from ..core.accounts import Counts, QuotaState
from ..core.figures import HealthFigures, Totals, totals_of
from ..core.periods import NamedPeriod, window_of
from ..core.scope import GlobalScope, Scope, UserScope
from ..db.queries import entities
from ..db.queries.days import Figures
from .context import Context
from .loaders import WindowKey

# UsageTotals fields that `stats_user_daily` can answer (see db.queries.days.Figures).
BASIC_FIELDS = frozenset({
    "requests", "successRequests", "errorRequests", "errorRate", "inputTokens", "outputTokens",
    "cacheCreationTokens", "cacheReadTokens", "totalTokens", "cacheHitRate", "cost", "__typename",
})


# Fields whose figure is read from `request_candidates`: without one selected, none is read.
FALLBACK_FIELDS = frozenset({"fallbackCount"})


def figures_for(scope: Scope, selected: set[str]) -> Figures:
    if isinstance(scope, UserScope) and selected <= BASIC_FIELDS:
        return Figures.BASIC
    return Figures.FULL


def wants_fallbacks(selected: set[str]) -> bool:
    return not FALLBACK_FIELDS.isdisjoint(selected)


def totals_variant(scope: Scope, selected: set[str]) -> str:
    """What a UsageTotals computation depends on besides scope and period; part of its cache
    key, so a value computed without a figure is never served to a query asking for it."""
    variant = figures_for(scope, selected).value
    return f"{variant}+fallbacks" if wants_fallbacks(selected) else variant


def health_variant(selected: set[str]) -> str:
    return "fallbacks" if wants_fallbacks(selected) else ""


async def period_totals(
    ctx: Context, scope: Scope, period: NamedPeriod, figures: Figures, *, fallbacks: bool = True
) -> Totals:
    window = window_of(period, ctx.calendar)
    key = WindowKey(scope, window, figures, distinct_counts=False, fallbacks=fallbacks)
    days = await ctx.loaders.day_figures.load(key)
    return totals_of(days.values())


async def usage_totals(ctx: Context, scope: Scope, period: NamedPeriod, selected: set[str]) -> Totals:
    figures = figures_for(scope, selected)
    return await period_totals(ctx, scope, period, figures, fallbacks=wants_fallbacks(selected))


async def api_keys(ctx: Context, scope: Scope) -> Counts:
    async with ctx.sessions() as session:
        return await entities.api_key_counts(session, scope=scope)


async def users(ctx: Context, scope: Scope) -> Counts | None:
    if not isinstance(scope, GlobalScope):
        return None
    async with ctx.sessions() as session:
        return await entities.user_counts(session)


async def system_health(ctx: Context, scope: Scope, selected: set[str] | None = None) -> HealthFigures:
    """`selected` (the SystemHealth fields asked for) decides whether fallbacks are read."""
    fallbacks = selected is None or wants_fallbacks(selected)
    month, today = await asyncio.gather(
        period_totals(ctx, scope, NamedPeriod.MONTH, Figures.FULL, fallbacks=fallbacks),
        period_totals(ctx, scope, NamedPeriod.TODAY, Figures.FULL, fallbacks=False),
    )
    return HealthFigures(
        avg_response_time=today.ok_avg_response_time,
        error_rate=month.error_rate,
        error_requests=month.error_requests,
        fallback_count=month.fallback_count,
        total_requests=month.requests,
    )


async def quota(ctx: Context, scope: Scope) -> QuotaState | None:
    if not isinstance(scope, UserScope):
        return None
    user = await ctx.loaders.users.load(scope.user_id)
    if user is None:
        return None
    limit = None if user.quota_usd is None else float(user.quota_usd)
    return QuotaState(limit_usd=limit, used_usd=float(user.used_usd or 0))


__all__ = [
    "api_keys", "figures_for", "health_variant", "period_totals", "quota", "system_health", "totals_variant",
    "usage_totals", "users", "wants_fallbacks",
]
