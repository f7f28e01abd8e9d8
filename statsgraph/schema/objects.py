"""Object types that are plain data: built from query results, cacheable as they are."""

from __future__ import annotations

import enum
from datetime import date

import strawberry

from ..db.figures import ModelDay, ModelTotals, Totals
from .scalars import BigInt


@strawberry.enum(description="The viewer's role in Aether.")
class Role(enum.Enum):
    ADMIN = "admin"
    USER = "user"


@strawberry.enum(description="Whether a provider takes traffic.")
class ProviderState(enum.Enum):
    ACTIVE = "active"
    INACTIVE = "inactive"


@strawberry.type(description="The authenticated user making the request.")
class Viewer:
    id: strawberry.ID = strawberry.field(description="User id.")
    username: str = strawberry.field(description="Login name.")
    email: str = strawberry.field(description="Email address.")
    role: Role = strawberry.field(description="ADMIN sees every user's data; USER only their own.")


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
    actual_cost: float = strawberry.field(description="Cost after the users' rate multipliers, USD.")
    cost_savings: float = strawberry.field(description="cost − actualCost, USD.")
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

    @classmethod
    def of(cls, t: Totals) -> UsageTotals:
        return cls(
            requests=BigInt(t.requests), success_requests=BigInt(t.success_requests),
            error_requests=BigInt(t.error_requests), error_rate=t.error_rate,
            input_tokens=BigInt(t.input_tokens), output_tokens=BigInt(t.output_tokens),
            cache_creation_tokens=BigInt(t.cache_creation_tokens),
            cache_read_tokens=BigInt(t.cache_read_tokens), total_tokens=BigInt(t.total_tokens),
            cache_hit_rate=t.cache_hit_rate, cost=t.cost, actual_cost=t.actual_cost,
            cost_savings=t.cost_savings, cache_creation_cost=t.cache_creation_cost,
            cache_read_cost=t.cache_read_cost, avg_response_time=t.avg_response_time,
            fallback_count=BigInt(t.fallback_count),
        )


@strawberry.type(description="A count of things and how many of them are active.")
class ActiveCount:
    total: int = strawberry.field(description="All of them (users: those not deleted).")
    active: int = strawberry.field(description="Those marked active.")


@strawberry.type(description="A user's spending quota.")
class Quota:
    limit_usd: float | None = strawberry.field(description="The quota in USD; null means unlimited.")
    used_usd: float = strawberry.field(description="Spent so far, USD.")
    used_percent: float | None = strawberry.field(
        description="used / limit × 100; null when unlimited, 100 when the limit is 0."
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


@strawberry.type(description="A reference to a user.")
class UserRef:
    id: strawberry.ID = strawberry.field(description="User id.")
    username: str = strawberry.field(description="Login name.")


@strawberry.type(description="A reference to a provider.")
class ProviderRef:
    id: strawberry.ID = strawberry.field(description="Provider id.")
    name: str = strawberry.field(description="Unique provider name.")
    display_name: str = strawberry.field(description="Name shown in the dashboard.")


@strawberry.type(description="An active provider and its traffic in the last 24 hours.")
class ProviderStatus:
    id: strawberry.ID = strawberry.field(description="Provider id.")
    name: str = strawberry.field(description="Unique provider name.")
    display_name: str = strawberry.field(description="Name shown in the dashboard.")
    state: ProviderState = strawberry.field(description="ACTIVE or INACTIVE.")
    requests: int = strawberry.field(
        description="Requests in the last 24 hours (rolling) within the viewer's scope."
    )


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


__all__ = [
    "ActiveCount", "ModelBreakdown", "ModelSummary", "Period", "ProviderRef", "ProviderState",
    "ProviderStatus", "Quota", "Role", "SystemHealth", "UsageTotals", "UserRef", "Viewer",
]
