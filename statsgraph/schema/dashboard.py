"""The dashboard's figures: usage totals of named periods, counts, health and quota."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from ..core.figures import HealthFigures, Totals
from ..core.periods import NamedPeriod
from ..core.scope import Scope
from ..resolvers import dashboard
from ..resolvers.cache import FieldCache
from ..resolvers.context import Context
from ..resolvers.permissions import AdminViewerOnly, IsAdmin
from ..resolvers.selection import selected_names
from .common import ActiveCount, Quota
from .scalars import BigInt

Ctx = Info[Context, None]


@strawberry.type(description="Usage figures of one period, summed over the requests of the scope.")
class UsageTotals:
    requests: BigInt = strawberry.field(description="Requests (usage rows) in the period.")
    success_requests: BigInt = strawberry.field(description="Requests that are not errors.")
    error_requests: BigInt = strawberry.field(
        description="Requests with status_code >= 400 or an error message."
    )
    error_rate: float = strawberry.field(description="errorRequests / requests × 100; 0 with no requests.")
    input_tokens: BigInt = strawberry.field(description="Input tokens, cache reads excluded.")
    output_tokens: BigInt = strawberry.field(description="Output tokens.")
    cache_creation_tokens: BigInt = strawberry.field(description="Tokens written to the prompt cache.")
    cache_read_tokens: BigInt = strawberry.field(description="Tokens read from the prompt cache.")
    total_tokens: BigInt = strawberry.field(description="input + output + cacheCreation + cacheRead.")
    cache_hit_rate: float = strawberry.field(
        description="cacheRead / (input + cacheRead) × 100; 0 when both are 0."
    )
    cost: float = strawberry.field(description="List-price cost in USD (unrounded).")
    # Operator figures: held as data (so the field cache round-trips them) and exposed through
    # resolvers guarded on the viewer's role.
    operator_actual_cost: strawberry.Private[float]
    operator_cost_savings: strawberry.Private[float]
    cache_creation_cost: float = strawberry.field(description="Cost of cache writes, USD.")
    cache_read_cost: float = strawberry.field(description="Cost of cache reads, USD.")
    avg_response_time: float = strawberry.field(
        description=(
            "Seconds: each day's mean response time (over requests that recorded one), "
            "weighted by the day's requests."
        )
    )
    fallback_count: BigInt = strawberry.field(
        description="Requests that ran more than one candidate, summed over the period's days."
    )

    @strawberry.field(
        description="Cost after the users' rate multipliers, USD. ADMIN viewers only, in any scope.",
        permission_classes=[AdminViewerOnly],
    )
    def actual_cost(self) -> float | None:
        return self.operator_actual_cost

    @strawberry.field(
        description="cost − actualCost, USD. ADMIN viewers only, in any scope.",
        permission_classes=[AdminViewerOnly],
    )
    def cost_savings(self) -> float | None:
        return self.operator_cost_savings

    @classmethod
    def of(cls, t: Totals) -> UsageTotals:
        return cls(
            requests=BigInt(t.requests), success_requests=BigInt(t.success_requests),
            error_requests=BigInt(t.error_requests), error_rate=t.error_rate,
            input_tokens=BigInt(t.input_tokens), output_tokens=BigInt(t.output_tokens),
            cache_creation_tokens=BigInt(t.cache_creation_tokens),
            cache_read_tokens=BigInt(t.cache_read_tokens), total_tokens=BigInt(t.total_tokens),
            cache_hit_rate=t.cache_hit_rate, cost=t.cost, operator_actual_cost=t.actual_cost,
            operator_cost_savings=t.cost_savings, cache_creation_cost=t.cache_creation_cost,
            cache_read_cost=t.cache_read_cost, avg_response_time=t.avg_response_time,
            fallback_count=BigInt(t.fallback_count),
        )


@strawberry.type(description="Health of the gateway in the query's scope.")
class SystemHealth:
    avg_response_time: float = strawberry.field(
        description="Seconds: mean response time of today's requests with status 200."
    )
    error_rate: float = strawberry.field(description="This month's error rate, percent.")
    error_requests: BigInt = strawberry.field(description="This month's error requests.")
    fallback_count: BigInt = strawberry.field(description="This month's fallbacks.")
    total_requests: BigInt = strawberry.field(description="This month's requests.")

    @classmethod
    def of(cls, h: HealthFigures) -> SystemHealth:
        return cls(
            avg_response_time=h.avg_response_time, error_rate=h.error_rate,
            error_requests=BigInt(h.error_requests), fallback_count=BigInt(h.fallback_count),
            total_requests=BigInt(h.total_requests),
        )


def _totals_variant(source: DashboardStats, info: Info) -> str:
    return dashboard.totals_variant(source.scope, selected_names(info))


def _health_variant(source: DashboardStats, info: Info) -> str:
    return dashboard.health_variant(selected_names(info))


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
        return UsageTotals.of(await dashboard.usage_totals(info.context, self.scope, NamedPeriod.ALL_TIME, selected_names(info)))

    @strawberry.field(
        description="The current business day so far.",
        extensions=[FieldCache("dashboard", vary=_totals_variant)],
    )
    async def today(self, info: Ctx) -> UsageTotals:
        return UsageTotals.of(await dashboard.usage_totals(info.context, self.scope, NamedPeriod.TODAY, selected_names(info)))

    @strawberry.field(
        description="The previous business day (closed: cached until the day turns).",
        extensions=[FieldCache("dashboard", closed=lambda _s: True, vary=_totals_variant)],
    )
    async def yesterday(self, info: Ctx) -> UsageTotals:
        return UsageTotals.of(await dashboard.usage_totals(info.context, self.scope, NamedPeriod.YESTERDAY, selected_names(info)))

    @strawberry.field(
        description="The calendar month to date, today included.",
        extensions=[FieldCache("dashboard", vary=_totals_variant)],
    )
    async def month(self, info: Ctx) -> UsageTotals:
        return UsageTotals.of(await dashboard.usage_totals(info.context, self.scope, NamedPeriod.MONTH, selected_names(info)))

    @strawberry.field(description="API keys of the scope.", extensions=[FieldCache("dashboard")])
    async def api_keys(self, info: Ctx) -> ActiveCount:
        return ActiveCount.of(await dashboard.api_keys(info.context, self.scope))

    @strawberry.field(
        description="Users (not deleted / also active). ADMIN only; null in a user scope.",
        extensions=[FieldCache("dashboard")],
        permission_classes=[IsAdmin],
    )
    async def users(self, info: Ctx) -> ActiveCount | None:
        counts = await dashboard.users(info.context, self.scope)
        return None if counts is None else ActiveCount.of(counts)

    @strawberry.field(
        description="Gateway health in the query's scope. ADMIN only.",
        extensions=[FieldCache("dashboard", vary=_health_variant)],
        permission_classes=[IsAdmin],
    )
    async def system_health(self, info: Ctx) -> SystemHealth | None:
        return SystemHealth.of(await dashboard.system_health(info.context, self.scope, selected_names(info)))

    @strawberry.field(
        description="The user's quota; null in the global scope.", extensions=[FieldCache("dashboard")]
    )
    async def quota(self, info: Ctx) -> Quota | None:
        q = await dashboard.quota(info.context, self.scope)
        return None if q is None else Quota.of(q)


__all__ = ["DashboardStats", "SystemHealth", "UsageTotals"]
