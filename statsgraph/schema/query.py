"""The Query root. Root resolvers decide the scope once and hand over to the types below."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from ..resolvers import activity, daily
from ..resolvers.cache import FieldCache
from ..resolvers.context import Context
from .common import ViewerType
from .daily import DailyStatsReport
from .dashboard import DashboardStats
from .requests import ProviderStatus, RecentRequest

Ctx = Info[Context, None]


# Root fields are nullable: a root that fails (forbidden, bad input) is null with its error
# while its siblings still answer.
@strawberry.type(description="Usage statistics of the Aether gateway, scoped by the viewer's role.")
class Query:
    @strawberry.field(description="The authenticated user.")
    def viewer(self, info: Ctx) -> ViewerType | None:
        return ViewerType.of(info.context.require_viewer())

    @strawberry.field(
        description=(
            "Dashboard figures. An admin sees the global scope, or one user's with `userId`; "
            "a user sees their own."
        )
    )
    async def dashboard_stats(self, info: Ctx, user_id: strawberry.ID | None = None) -> DashboardStats | None:
        return DashboardStats(scope=await info.context.decide_scope(user_id))

    @strawberry.field(description="The newest requests of the scope, newest first. `limit` 1..100.")
    async def recent_requests(
        self, info: Ctx, limit: int = 10, user_id: strawberry.ID | None = None
    ) -> list[RecentRequest] | None:
        scope = await info.context.decide_scope(user_id)
        return [RecentRequest.of(u) for u in await activity.recent_usage(info.context, scope, limit)]

    @strawberry.field(
        description=(
            "Active providers, most requests in the last 24 h first, counted in the viewer's "
            "scope. `limit` 1..100; default 10 for an admin, 5 for a user."
        ),
        extensions=[FieldCache("provider_status")],
    )
    async def provider_status(self, info: Ctx, limit: int | None = None) -> list[ProviderStatus] | None:
        ctx = info.context
        return [ProviderStatus.of(t) for t in await activity.provider_status(ctx, ctx.scope_of(None, {}), limit)]

    @strawberry.field(description="A daily report of the last `days` (1..366) business days, today included.")
    async def daily_stats(
        self, info: Ctx, days: int = 7, user_id: strawberry.ID | None = None
    ) -> DailyStatsReport | None:
        scope = await info.context.decide_scope(user_id)
        first, last = daily.report_days(info.context, days)
        return DailyStatsReport(scope=scope, first=first, last=last)


__all__ = ["Query"]
