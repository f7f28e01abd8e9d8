"""The Query root. Root resolvers decide the scope once and hand over to the types below."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from ..core import analytics as core_analytics
from ..resolvers import activity, analytics, daily, request_log
from ..resolvers.cache import FieldCache
from ..resolvers.context import Context
from .analytics import Dimension, Granularity, TimeRange, UsageFilter, UsageOrder, UsageReport
from .common import ViewerType
from .daily import DailyStatsReport
from .dashboard import DashboardStats
from .requests import ProviderStatus, RecentRequest, RequestConnection

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

    @strawberry.field(
        description=(
            "Usage over any range: totals, the top `limit` (1..100) groups by `groupBy` plus one isOther "
            "group, and zero-filled buckets per `granularity` unit of `timeZone` (IANA; default the "
            "business zone). Limits: 400 days, 800 buckets, HOUR over 31 days. Scoped like every field."
        )
    )
    async def usage(
        self,
        info: Ctx,
        range: TimeRange,  # noqa: A002
        granularity: Granularity | None = None,
        group_by: list[Dimension] = [],  # noqa: B006
        filter: UsageFilter | None = None,  # noqa: A002
        time_zone: str | None = None,
        order_by: UsageOrder = UsageOrder.COST_DESC,
        limit: int = 20,
        user_id: strawberry.ID | None = None,
    ) -> UsageReport:
        scope = await info.context.decide_scope(user_id)
        report = await analytics.usage_report(
            info.context, scope=scope,
            range_args=analytics.RangeArgs(range.from_, range.to, range.start_date, range.end_date),
            granularity=None if granularity is None else core_analytics.Granularity[granularity.name],
            dims=[core_analytics.Dimension[d.name] for d in group_by],
            flt=filter.to_core() if filter is not None else core_analytics.NO_FILTER,
            time_zone=time_zone, order=core_analytics.UsageOrder[order_by.name], limit=limit,
            histograms=analytics.percentile_kinds(info), families=analytics.measure_families(info),
            path=info.path,
        )
        return UsageReport.of(report)

    @strawberry.field(
        description=(
            "The request log of the scope, newest first (created_at, then id): `first` (1..100) requests "
            "after the cursor `after`. Cursors are opaque, stay valid while requests arrive, and belong "
            "to the query (scope, filter, range) that returned them."
        )
    )
    async def requests(
        self,
        info: Ctx,
        first: int = 20,
        after: str | None = None,
        filter: UsageFilter | None = None,  # noqa: A002
        range: TimeRange | None = None,  # noqa: A002
        user_id: strawberry.ID | None = None,
    ) -> RequestConnection:
        scope = await info.context.decide_scope(user_id)
        page = await request_log.request_log(
            info.context, scope=scope, first=first, after=after,
            flt=filter.to_core() if filter is not None else core_analytics.NO_FILTER,
            range_args=None if range is None else analytics.RangeArgs(
                range.from_, range.to, range.start_date, range.end_date
            ),
        )
        return RequestConnection.of(page)


__all__ = ["Query"]
