"""The daily report: per-day figures, per-day model breakdowns, the period's model summary."""

from __future__ import annotations

import asyncio
from datetime import date

import strawberry
from strawberry.types import Info

from ..core.figures import ModelDay, ModelTotals
from ..core.scope import Scope
from ..resolvers import daily
from ..resolvers.cache import FieldCache
from ..resolvers.context import Context
from ..resolvers.selection import selected_names
from .scalars import BigInt

Ctx = Info[Context, None]


@strawberry.type(description="The dates a report covers, in the business time zone.")
class Period:
    start_date: date = strawberry.field(description="First day, included.")
    end_date: date = strawberry.field(description="Last day (today), included.")
    days: int = strawberry.field(description="Number of days.")


@strawberry.type(description="One model's share of one day.")
class ModelBreakdown:
    model: str = strawberry.field(description="Model name.")
    requests: int = strawberry.field(description="Requests.")
    total_tokens: BigInt = strawberry.field(description="All four kinds of tokens.")
    cost: float = strawberry.field(description="Cost, USD.")

    @classmethod
    def of(cls, m: ModelDay) -> ModelBreakdown:
        return cls(model=m.model, requests=m.requests, total_tokens=BigInt(m.total_tokens), cost=m.cost)


@strawberry.type(description="One model over a report's period.")
class ModelSummary:
    model: str = strawberry.field(description="Model name.")
    requests: int = strawberry.field(description="Requests.")
    total_tokens: BigInt = strawberry.field(description="All four kinds of tokens.")
    cost: float = strawberry.field(description="Cost, USD.")
    avg_response_time: float = strawberry.field(
        description="Seconds; the model's daily means weighted by its daily requests."
    )
    cost_per_request: float = strawberry.field(description="cost / requests.")
    tokens_per_request: float = strawberry.field(description="totalTokens / requests.")

    @classmethod
    def of(cls, m: ModelTotals) -> ModelSummary:
        return cls(
            model=m.model, requests=m.requests, total_tokens=BigInt(m.total_tokens), cost=m.cost,
            avg_response_time=m.avg_response_time, cost_per_request=m.cost_per_request,
            tokens_per_request=m.tokens_per_request,
        )


def _series_variant(source: DailyStatsReport, info: Info) -> str:
    return daily.series_variant(selected_names(info))


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
    # Filled by the report's `days` when selected, so the series' one cache entry holds them
    # (left empty otherwise: the entry's key says it was computed without them).
    model_breakdown: list[ModelBreakdown] = strawberry.field(
        default_factory=list, description="Each model's share of the day, most cost first."
    )

    def cache_identity(self) -> str:
        return self.date.isoformat()


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
        extensions=[FieldCache("daily_stats", vary=_series_variant)],
    )
    async def days(self, info: Ctx) -> list[DailyStat]:
        ctx = info.context
        today = ctx.calendar.today()
        selected = selected_names(info)
        series = daily.day_series(ctx, self.scope, self.first, self.last, selected)
        if daily.wants_breakdowns(selected):
            figures, breakdowns = await asyncio.gather(
                series, daily.model_breakdowns(ctx, self.scope, self.first, self.last)
            )
        else:
            figures, breakdowns = await series, None
        return [
            DailyStat(
                scope=self.scope, closed=d.day < today, date=d.day, requests=d.requests,
                error_requests=d.error_requests, input_tokens=BigInt(d.input_tokens),
                output_tokens=BigInt(d.output_tokens), cache_creation_tokens=BigInt(d.cache_creation_tokens),
                cache_read_tokens=BigInt(d.cache_read_tokens), total_tokens=BigInt(d.total_tokens),
                cost=d.cost, avg_response_time=d.avg_response_ms / 1000, unique_models=d.unique_models,
                unique_providers=d.unique_providers, fallback_count=d.fallback_count,
                model_breakdown=[] if breakdowns is None else [ModelBreakdown.of(m) for m in breakdowns[i]],
            )
            for i, d in enumerate(figures)
        ]

    @strawberry.field(
        description="Per model over the period, most cost first.", extensions=[FieldCache("daily_stats")]
    )
    async def model_summary(self, info: Ctx) -> list[ModelSummary]:
        return [ModelSummary.of(m) for m in await daily.model_summary(info.context, self.scope, self.first, self.last)]


__all__ = ["DailyStat", "DailyStatsReport", "ModelBreakdown", "ModelSummary", "Period"]
