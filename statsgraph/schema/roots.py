"""Object types with resolvers, and the Query root. Resolvers stay thin: they pick the scope
and hand over to `statsgraph.resolvers`, where loaders and queries do the work."""

from __future__ import annotations

from datetime import date, datetime

import strawberry
from strawberry.types import Info

from ..db.scope import Scope
from ..resolvers import activity, daily, dashboard
from ..resolvers.cache import FieldCache
from ..resolvers.context import Context
from ..resolvers.dashboard import figures_for
from ..resolvers.periods import NamedPeriod
from ..resolvers.permissions import IsAdmin
from ..resolvers.selection import selected_names
from .objects import (
    ActiveCount,
    ModelBreakdown,
    ModelSummary,
    Period,
    ProviderRef,
    ProviderStatus,
    Quota,
    Role,
    SystemHealth,
    UsageTotals,
    UserRef,
    Viewer,
)
from .scalars import BigInt

Ctx = Info[Context, None]


def _totals_variant(source: DashboardStats, info: Info) -> str:
    return figures_for(source.scope, selected_names(info)).value


def _is_past_day(source: DailyStat) -> bool:
    return source.closed


@strawberry.type(description="Usage statistics of the scope: totals per period, counts, health.")
class DashboardStats:
    scope: strawberry.Private[Scope]

    def cache_identity(self) -> str:
        return ""

    @strawberry.field(
        description="Since the first request.",
        extensions=[FieldCache("dashboard", vary=_totals_variant)],
    )
    async def all_time(self, info: Ctx) -> UsageTotals:
        return await dashboard.usage_totals(info.context, self.scope, NamedPeriod.ALL_TIME, selected_names(info))

    @strawberry.field(
        description="The current business day so far.",
        extensions=[FieldCache("dashboard", vary=_totals_variant)],
    )
    async def today(self, info: Ctx) -> UsageTotals:
        return await dashboard.usage_totals(info.context, self.scope, NamedPeriod.TODAY, selected_names(info))

    @strawberry.field(
        description="The previous business day (closed: cached until the day turns).",
        extensions=[FieldCache("dashboard", closed=lambda _s: True, vary=_totals_variant)],
    )
    async def yesterday(self, info: Ctx) -> UsageTotals:
        return await dashboard.usage_totals(info.context, self.scope, NamedPeriod.YESTERDAY, selected_names(info))

    @strawberry.field(
        description="The calendar month to date, today included.",
        extensions=[FieldCache("dashboard", vary=_totals_variant)],
    )
    async def month(self, info: Ctx) -> UsageTotals:
        return await dashboard.usage_totals(info.context, self.scope, NamedPeriod.MONTH, selected_names(info))

    @strawberry.field(description="API keys of the scope.", extensions=[FieldCache("dashboard")])
    async def api_keys(self, info: Ctx) -> ActiveCount:
        return await dashboard.api_keys(info.context, self.scope)

    @strawberry.field(
        description="Users (not deleted / also active). ADMIN only; null in a user scope.",
        extensions=[FieldCache("dashboard")],
        permission_classes=[IsAdmin],
    )
    async def users(self, info: Ctx) -> ActiveCount | None:
        return await dashboard.users(info.context, self.scope)

    @strawberry.field(
        description="Gateway health in the query's scope. ADMIN only.",
        extensions=[FieldCache("dashboard")],
        permission_classes=[IsAdmin],
    )
    async def system_health(self, info: Ctx) -> SystemHealth | None:
        return await dashboard.system_health(info.context, self.scope)

    @strawberry.field(
        description="The user's quota; null in the global scope.", extensions=[FieldCache("dashboard")]
    )
    async def quota(self, info: Ctx) -> Quota | None:
        return await dashboard.quota(info.context, self.scope)


@strawberry.type(description="One business day of the scope.")
class DailyStat:
    scope: strawberry.Private[Scope]
    closed: strawberry.Private[bool]
    date: date = strawberry.field(description="The business day.")
    requests: int = strawberry.field(description="Requests.")
    error_requests: int = strawberry.field(description="Error requests.")
    input_tokens: BigInt = strawberry.field(description="Input tokens.")
    output_tokens: BigInt = strawberry.field(description="Output tokens.")
    cache_creation_tokens: BigInt = strawberry.field(description="Cache creation tokens.")
    cache_read_tokens: BigInt = strawberry.field(description="Cache read tokens.")
    total_tokens: BigInt = strawberry.field(description="All four kinds of tokens.")
    cost: float = strawberry.field(description="Cost, USD.")
    avg_response_time: float = strawberry.field(
        description="Seconds: mean over the day's requests that recorded a response time."
    )
    unique_models: int = strawberry.field(description="Distinct models used.")
    unique_providers: int = strawberry.field(description="Distinct providers used.")
    fallback_count: int = strawberry.field(description="Requests that ran more than one candidate.")

    def cache_identity(self) -> str:
        return self.date.isoformat()

    @strawberry.field(
        description="Each model's share of the day, most cost first.",
        extensions=[FieldCache("daily_stats", closed=_is_past_day)],
    )
    async def model_breakdown(self, info: Ctx) -> list[ModelBreakdown]:
        return await daily.model_breakdown(info.context, self.scope, self.date)


@strawberry.type(description="A daily report over the last `days` business days, today included.")
class DailyStatsReport:
    scope: strawberry.Private[Scope]
    first: strawberry.Private[date]
    last: strawberry.Private[date]

    def cache_identity(self) -> str:
        return f"{self.first.isoformat()}..{self.last.isoformat()}"

    @strawberry.field(description="The dates covered.")
    def period(self) -> Period:
        return Period(start_date=self.first, end_date=self.last, days=(self.last - self.first).days + 1)

    @strawberry.field(
        description="One entry per business day, oldest first, zero-filled.",
        extensions=[FieldCache("daily_stats")],
    )
    async def days(self, info: Ctx) -> list[DailyStat]:
        today = info.context.calendar.today()
        return [
            DailyStat(
                scope=self.scope, closed=d.day < today, date=d.day, requests=d.requests,
                error_requests=d.error_requests, input_tokens=BigInt(d.input_tokens),
                output_tokens=BigInt(d.output_tokens), cache_creation_tokens=BigInt(d.cache_creation_tokens),
                cache_read_tokens=BigInt(d.cache_read_tokens), total_tokens=BigInt(d.total_tokens),
                cost=d.cost, avg_response_time=d.avg_response_ms / 1000, unique_models=d.unique_models,
                unique_providers=d.unique_providers, fallback_count=d.fallback_count,
            )
            for d in await daily.day_series(info.context, self.scope, self.first, self.last)
        ]

    @strawberry.field(
        description="Per model over the period, most cost first.", extensions=[FieldCache("daily_stats")]
    )
    async def model_summary(self, info: Ctx) -> list[ModelSummary]:
        return await daily.model_summary(info.context, self.scope, self.first, self.last)


@strawberry.type(description="One proxied request.")
class RecentRequest:
    user_id: strawberry.Private[str | None]
    provider_id: strawberry.Private[str | None]
    provider_name: strawberry.Private[str | None]
    id: strawberry.ID = strawberry.field(description="Usage row id.")
    request_id: str = strawberry.field(description="Gateway request id.")
    created_at: datetime = strawberry.field(description="When the request was received (UTC).")
    model: str = strawberry.field(description="Model requested.")
    is_stream: bool = strawberry.field(description="Whether the response was streamed.")
    status_code: int | None = strawberry.field(description="HTTP status; null while pending.")
    input_tokens: BigInt = strawberry.field(description="Input tokens.")
    output_tokens: BigInt = strawberry.field(description="Output tokens.")
    total_tokens: BigInt = strawberry.field(description="All four kinds of tokens.")
    cost: float = strawberry.field(description="Cost, USD.")

    @strawberry.field(description="Who sent it; null once the user is gone.")
    async def user(self, info: Ctx) -> UserRef | None:
        return await activity.user_ref(info.context, self.user_id)

    @strawberry.field(description="The provider that served it, when known.")
    async def provider(self, info: Ctx) -> ProviderRef | None:
        return await activity.provider_ref(info.context, self.provider_id, self.provider_name)


@strawberry.type(description="Usage statistics of the Aether gateway, scoped by the viewer's role.")
class Query:
    @strawberry.field(description="The authenticated user.")
    def viewer(self, info: Ctx) -> Viewer:
        v = info.context.require_viewer()
        return Viewer(id=strawberry.ID(v.id), username=v.username, email=v.email, role=Role(v.role))

    @strawberry.field(
        description=(
            "Dashboard figures. An admin sees the global scope, or one user's with `userId`; "
            "a user sees their own."
        )
    )
    async def dashboard_stats(self, info: Ctx, user_id: strawberry.ID | None = None) -> DashboardStats:
        return DashboardStats(scope=await info.context.decide_scope(user_id))

    @strawberry.field(description="The newest requests of the scope, newest first. `limit` 1..100.")
    async def recent_requests(
        self, info: Ctx, limit: int = 10, user_id: strawberry.ID | None = None
    ) -> list[RecentRequest]:
        scope = await info.context.decide_scope(user_id)
        rows = await activity.recent_usage(info.context, scope, limit)
        return [
            RecentRequest(
                user_id=u.user_id, provider_id=u.provider_id, provider_name=u.provider_name,
                id=strawberry.ID(u.id), request_id=u.request_id, created_at=u.created_at, model=u.model or "",
                is_stream=bool(u.is_stream), status_code=u.status_code,
                input_tokens=BigInt(u.input_tokens or 0), output_tokens=BigInt(u.output_tokens or 0),
                total_tokens=BigInt(
                    (u.input_tokens or 0) + (u.output_tokens or 0)
                    + (u.cache_creation_input_tokens or 0) + (u.cache_read_input_tokens or 0)
                ),
                cost=float(u.total_cost_usd or 0),
            )
            for u in rows
        ]

    @strawberry.field(
        description=(
            "Active providers, most requests in the last 24 h first, counted in the viewer's "
            "scope. `limit` 1..100; default 10 for an admin, 5 for a user."
        ),
        extensions=[FieldCache("provider_status")],
    )
    async def provider_status(self, info: Ctx, limit: int | None = None) -> list[ProviderStatus]:
        ctx = info.context
        return await activity.provider_status(ctx, ctx.scope_of(None, {}), limit)

    @strawberry.field(description="A daily report of the last `days` (1..366) business days, today included.")
    async def daily_stats(
        self, info: Ctx, days: int = 7, user_id: strawberry.ID | None = None
    ) -> DailyStatsReport:
        scope = await info.context.decide_scope(user_id)
        first, last = daily.report_days(info.context, days)
        return DailyStatsReport(scope=scope, first=first, last=last)


__all__ = ["DailyStat", "DailyStatsReport", "DashboardStats", "Query", "RecentRequest"]
