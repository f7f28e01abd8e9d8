"""Resolvers of DashboardStats: usage totals of named periods, counts, health, quota."""

from __future__ import annotations

from ..db.figures import Totals, totals_of
from ..db.queries import entities
from ..db.queries.days import Figures
from ..db.scope import GlobalScope, Scope, UserScope
from ..schema.objects import ActiveCount, Quota, SystemHealth, UsageTotals
from ..schema.scalars import BigInt
from .context import Context
from .loaders import WindowKey
from .periods import NamedPeriod, window_of

# UsageTotals fields that `stats_user_daily` can answer (see db.queries.days.Figures).
BASIC_FIELDS = frozenset({
    "requests", "successRequests", "errorRequests", "errorRate", "inputTokens", "outputTokens",
    "cacheCreationTokens", "cacheReadTokens", "totalTokens", "cacheHitRate", "cost", "__typename",
})


def figures_for(scope: Scope, selected: set[str]) -> Figures:
    if isinstance(scope, UserScope) and selected <= BASIC_FIELDS:
        return Figures.BASIC
    return Figures.FULL


async def period_totals(ctx: Context, scope: Scope, period: NamedPeriod, figures: Figures) -> Totals:
    window = window_of(period, ctx.calendar)
    days = await ctx.loaders.day_figures.load(WindowKey(scope, window, figures, distinct_counts=False))
    return totals_of(days.values())


async def usage_totals(ctx: Context, scope: Scope, period: NamedPeriod, selected: set[str]) -> UsageTotals:
    return UsageTotals.of(await period_totals(ctx, scope, period, figures_for(scope, selected)))


async def api_keys(ctx: Context, scope: Scope) -> ActiveCount:
    async with ctx.sessions() as session:
        counts = await entities.api_key_counts(session, scope=scope)
    return ActiveCount(total=counts.total, active=counts.active)


async def users(ctx: Context, scope: Scope) -> ActiveCount | None:
    if not isinstance(scope, GlobalScope):
        return None
    async with ctx.sessions() as session:
        counts = await entities.user_counts(session)
    return ActiveCount(total=counts.total, active=counts.active)


async def system_health(ctx: Context, scope: Scope) -> SystemHealth:
    month = await period_totals(ctx, scope, NamedPeriod.MONTH, Figures.FULL)
    today = await period_totals(ctx, scope, NamedPeriod.TODAY, Figures.FULL)
    return SystemHealth(
        avg_response_time=today.ok_avg_response_time,
        error_rate=month.error_rate,
        error_requests=BigInt(month.error_requests),
        fallback_count=BigInt(month.fallback_count),
        total_requests=BigInt(month.requests),
    )


async def quota(ctx: Context, scope: Scope) -> Quota | None:
    if not isinstance(scope, UserScope):
        return None
    user = await ctx.loaders.users.load(scope.user_id)
    if user is None:
        return None
    used = float(user.used_usd or 0)
    limit = None if user.quota_usd is None else float(user.quota_usd)
    if limit is None:
        percent = None
    elif limit == 0:
        percent = 100.0
    else:
        percent = used / limit * 100
    return Quota(limit_usd=limit, used_usd=used, used_percent=percent)


__all__ = ["api_keys", "figures_for", "quota", "system_health", "usage_totals", "users"]
