"""Types of the `usage` report: any range, any granularity, any breakdown."""

from __future__ import annotations

import enum
from datetime import date, datetime

import strawberry
from strawberry.types import Info

from ..core import analytics as core
from ..core.latency import Latency as LatencyFigures
from ..core.latency import seconds
from ..db.models import ApiKey
from ..resolvers import activity
from ..resolvers.context import Context
from ..resolvers.permissions import IsAdmin
from .common import ProviderRef, UserRef
from .scalars import BigInt

Ctx = Info[Context, None]


@strawberry.enum(description="Calendar units of the query's time zone; weeks start on Monday.")
class Granularity(enum.Enum):
    HOUR = "hour"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


@strawberry.enum(description="What a report can be grouped by.")
class Dimension(enum.Enum):
    MODEL = "model"
    PROVIDER = "provider"
    API_KEY = "api_key"
    USER = "user"
    API_FORMAT = "api_format"
    STREAM = "stream"
    OUTCOME = "outcome"
    STATUS_CODE = "status_code"


@strawberry.enum(description="Whether a request is an error (status_code >= 400 or an error message).")
class Outcome(enum.Enum):
    SUCCESS = "SUCCESS"
    ERROR = "ERROR"


@strawberry.enum(description="How groups are ranked; ties break by the key, ascending.")
class UsageOrder(enum.Enum):
    COST_DESC = "cost_desc"
    REQUESTS_DESC = "requests_desc"
    TOKENS_DESC = "tokens_desc"
    KEY_ASC = "key_asc"


@strawberry.input(description="A time range: exactly one of from/startDate, at most one of to/endDate.")
class TimeRange:
    from_: datetime | None = strawberry.field(default=None, name="from", description="Inclusive instant.")
    to: datetime | None = strawberry.field(default=None, description="Exclusive instant; default now.")
    start_date: date | None = strawberry.field(default=None, description="First day in timeZone, inclusive.")
    end_date: date | None = strawberry.field(
        default=None, description="Last day in timeZone, inclusive (default today)."
    )


@strawberry.input(description="Which requests a report holds. Every list means any of; absent means no filter.")
class UsageFilter:
    models: list[str] | None = strawberry.field(default=None, description="Models (usage.model).")
    provider_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Providers the requests belong to."
    )
    api_key_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="API keys; someone else's key matches nothing for a user."
    )
    user_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Users; a user viewer may name only themselves."
    )
    api_formats: list[str] | None = strawberry.field(default=None, description="API formats (usage.api_format).")
    is_stream: bool | None = strawberry.field(default=None, description="Streamed requests only, or unstreamed only.")
    outcome: Outcome | None = strawberry.field(default=None, description="Errors only, or successes only.")
    status_codes: list[int] | None = strawberry.field(default=None, description="HTTP status codes.")

    def to_core(self) -> core.Filter:
        def tup(values: list | None) -> tuple | None:
            return None if values is None else tuple(str(v) for v in values)

        return core.Filter(
            models=tup(self.models), provider_ids=tup(self.provider_ids), api_key_ids=tup(self.api_key_ids),
            user_ids=tup(self.user_ids), api_formats=tup(self.api_formats), is_stream=self.is_stream,
            error=None if self.outcome is None else self.outcome is Outcome.ERROR,
            status_codes=None if self.status_codes is None else tuple(self.status_codes),
        )


@strawberry.type(description="A distribution of latencies, in seconds; every figure but count is null when count is 0.")
class Latency:
    figures: strawberry.Private[LatencyFigures]

    @strawberry.field(description="Requests that recorded this latency.")
    def count(self) -> BigInt:
        return BigInt(self.figures.count)

    @strawberry.field(description="Exact mean, seconds.")
    def mean(self) -> float | None:
        return seconds(self.figures.mean_ms)

    @strawberry.field(description="Median, seconds (fixed ~2 % buckets, nearest rank; within 1 %).")
    def p50(self) -> float | None:
        return seconds(self.figures.percentile_ms(50))

    @strawberry.field(description="90th percentile, seconds (fixed buckets, nearest rank).")
    def p90(self) -> float | None:
        return seconds(self.figures.percentile_ms(90))

    @strawberry.field(description="95th percentile, seconds (fixed buckets, nearest rank).")
    def p95(self) -> float | None:
        return seconds(self.figures.percentile_ms(95))

    @strawberry.field(description="99th percentile, seconds (fixed buckets, nearest rank).")
    def p99(self) -> float | None:
        return seconds(self.figures.percentile_ms(99))

    @strawberry.field(description="Exact maximum, seconds.")
    def max(self) -> float | None:
        return seconds(self.figures.max_ms)


@strawberry.type(description="Figures of a set of requests. Every count, token and cost figure adds up across groups and buckets.")
class UsageMeasures:
    m: strawberry.Private[core.Measures]
    requests: BigInt = strawberry.field(description="Requests (usage rows).")
    success_requests: BigInt = strawberry.field(description="Requests that are not errors.")
    error_requests: BigInt = strawberry.field(description="Requests with status_code >= 400 or an error message.")
    error_rate: float = strawberry.field(description="errorRequests / requests × 100; 0 with no requests.")
    input_tokens: BigInt = strawberry.field(description="Input tokens, cache reads excluded.")
    output_tokens: BigInt = strawberry.field(description="Output tokens.")
    cache_creation_tokens: BigInt = strawberry.field(description="Tokens written to the prompt cache.")
    cache_read_tokens: BigInt = strawberry.field(description="Tokens read from the prompt cache.")
    total_tokens: BigInt = strawberry.field(description="input + output + cacheCreation + cacheRead.")
    cache_hit_rate: float = strawberry.field(description="cacheRead / (input + cacheRead) × 100; 0 when both are 0.")
    cost: float = strawberry.field(description="List-price cost, USD (unrounded).")
    cache_creation_cost: float = strawberry.field(description="Cost of cache writes, USD.")
    cache_read_cost: float = strawberry.field(description="Cost of cache reads, USD.")

    @strawberry.field(description="What the gateway pays upstream, USD. ADMIN viewers only.", permission_classes=[IsAdmin])
    def actual_cost(self) -> float | None:
        return self.m.actual_cost

    @strawberry.field(description="cost − actualCost, USD. ADMIN viewers only.", permission_classes=[IsAdmin])
    def cost_savings(self) -> float | None:
        return self.m.cost_savings

    @strawberry.field(description="Response time over the requests that recorded one.")
    def response_time(self) -> Latency:
        return Latency(figures=self.m.response)

    @strawberry.field(description="Time to the first byte over the requests that recorded one (streams).")
    def first_byte_time(self) -> Latency:
        return Latency(figures=self.m.first_byte)

    @classmethod
    def of(cls, m: core.Measures) -> UsageMeasures:
        return cls(
            m=m, requests=BigInt(m.requests), success_requests=BigInt(m.success_requests),
            error_requests=BigInt(m.error_requests), error_rate=m.error_rate,
            input_tokens=BigInt(m.input_tokens), output_tokens=BigInt(m.output_tokens),
            cache_creation_tokens=BigInt(m.cache_creation_tokens), cache_read_tokens=BigInt(m.cache_read_tokens),
            total_tokens=BigInt(m.total_tokens), cache_hit_rate=m.cache_hit_rate, cost=m.cost,
            cache_creation_cost=m.cache_creation_cost, cache_read_cost=m.cache_read_cost,
        )


@strawberry.type(description="A reference to an API key.")
class ApiKeyRef:
    id: strawberry.ID = strawberry.field(description="API key id.")
    name: str | None = strawberry.field(description="Its name, when it has one.")
    is_active: bool = strawberry.field(description="Whether the key is enabled.")

    @classmethod
    def of(cls, k: ApiKey) -> ApiKeyRef:
        return cls(id=strawberry.ID(k.id), name=k.name, is_active=bool(k.is_active))


@strawberry.type(description="The key of a group: only the dimensions grouped by are set.")
class GroupKey:
    values: strawberry.Private[dict[core.Dimension, object]]

    @strawberry.field(description="Model (MODEL).")
    def model(self) -> str | None:
        v = self.values.get(core.Dimension.MODEL)
        return None if v is None else str(v)

    @strawberry.field(description="The provider the requests belong to (PROVIDER); null when none.")
    async def provider(self, info: Ctx) -> ProviderRef | None:
        v = self.values.get(core.Dimension.PROVIDER)
        p = None if v is None else await activity.provider_ref(info.context, str(v), None)
        return None if p is None else ProviderRef.of(p)

    @strawberry.field(description="API key (API_KEY); null for requests without one.")
    async def api_key(self, info: Ctx) -> ApiKeyRef | None:
        v = self.values.get(core.Dimension.API_KEY)
        k = None if v is None else await info.context.loaders.api_keys.load(str(v))
        return None if k is None else ApiKeyRef.of(k)

    @strawberry.field(description="User (USER); null once the user is gone.")
    async def user(self, info: Ctx) -> UserRef | None:
        v = self.values.get(core.Dimension.USER)
        u = None if v is None else await activity.user_ref(info.context, str(v))
        return None if u is None else UserRef.of(u)

    @strawberry.field(description="API format (API_FORMAT).")
    def api_format(self) -> str | None:
        v = self.values.get(core.Dimension.API_FORMAT)
        return None if v is None else str(v)

    @strawberry.field(description="Whether streamed (STREAM).")
    def is_stream(self) -> bool | None:
        v = self.values.get(core.Dimension.STREAM)
        return None if v is None else bool(v)

    @strawberry.field(description="Error or success (OUTCOME).")
    def outcome(self) -> Outcome | None:
        v = self.values.get(core.Dimension.OUTCOME)
        return None if v is None else Outcome(v)

    @strawberry.field(description="HTTP status code (STATUS_CODE); null when absent.")
    def status_code(self) -> int | None:
        v = self.values.get(core.Dimension.STATUS_CODE)
        return None if v is None else int(v)  # type: ignore[call-overload]


@strawberry.type(description="One group of a breakdown, or the remainder beyond `limit`.")
class UsageGroup:
    key: GroupKey = strawberry.field(description="The group's dimension values; all null for the isOther group.")
    is_other: bool = strawberry.field(description="True for the one group holding every group beyond `limit`.")
    measures: UsageMeasures = strawberry.field(description="The group's figures.")

    @classmethod
    def of(cls, g: core.Group, dims: tuple[core.Dimension, ...]) -> UsageGroup:
        values = {} if g.is_other else dict(zip(dims, g.key))
        return cls(key=GroupKey(values=values), is_other=g.is_other, measures=UsageMeasures.of(g.measures))


@strawberry.type(description="One granularity unit of the range.")
class UsageBucket:
    start: datetime = strawberry.field(description="First instant (UTC), inclusive.")
    end: datetime = strawberry.field(description="Last instant (UTC), exclusive.")
    totals: UsageMeasures = strawberry.field(description="Every request of the bucket.")
    groups: list[UsageGroup] = strawberry.field(description="The bucket's top `limit` groups, then isOther.")


@strawberry.type(description="Usage over a range: totals, a breakdown and buckets, all adding up.")
class UsageReport:
    from_: datetime = strawberry.field(name="from", description="First instant (UTC), inclusive.")
    to: datetime = strawberry.field(description="Last instant (UTC), exclusive.")
    time_zone: str = strawberry.field(description="The IANA zone of the buckets and dates.")
    granularity: Granularity | None = strawberry.field(description="The bucket unit; null without buckets.")
    totals: UsageMeasures = strawberry.field(description="The whole range, every group.")
    groups: list[UsageGroup] = strawberry.field(
        description=(
            "The whole range by groupBy: the top `limit` groups (ties by key), then one isOther group "
            "holding the rest when there is a rest. Without groupBy, one group with an empty key."
        )
    )
    buckets: list[UsageBucket] = strawberry.field(
        description="One per granularity unit, oldest first, zero-filled; empty without granularity."
    )

    @classmethod
    def of(cls, r: core.Report) -> UsageReport:
        dims = r.dimensions
        return cls(
            from_=r.start, to=r.end, time_zone=r.time_zone,
            granularity=None if r.granularity is None else Granularity[r.granularity.name],
            totals=UsageMeasures.of(r.totals), groups=[UsageGroup.of(g, dims) for g in r.groups],
            buckets=[
                UsageBucket(start=b.start, end=b.end, totals=UsageMeasures.of(b.totals),
                            groups=[UsageGroup.of(g, dims) for g in b.groups])
                for b in r.buckets
            ],
        )


__all__ = [
    "ApiKeyRef",
    "Dimension",
    "Granularity",
    "GroupKey",
    "Latency",
    "Outcome",
    "TimeRange",
    "UsageBucket",
    "UsageFilter",
    "UsageGroup",
    "UsageMeasures",
    "UsageOrder",
    "UsageReport",
]
