"""Request-level types: one proxied request, and a provider's recent traffic."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from ..core.figures import total_tokens
from ..db.models import Usage
from ..resolvers import activity
from ..resolvers.activity import ProviderTraffic
from ..resolvers.context import Context
from .common import ProviderRef, ProviderState, UserRef
from .scalars import BigInt

Ctx = Info[Context, None]


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
        user = await activity.user_ref(info.context, self.user_id)
        return None if user is None else UserRef.of(user)

    @strawberry.field(description="The provider that served it, when known.")
    async def provider(self, info: Ctx) -> ProviderRef | None:
        provider = await activity.provider_ref(info.context, self.provider_id, self.provider_name)
        return None if provider is None else ProviderRef.of(provider)

    @classmethod
    def of(cls, u: Usage) -> RecentRequest:
        return cls(
            user_id=u.user_id, provider_id=u.provider_id, provider_name=u.provider_name,
            id=strawberry.ID(u.id), request_id=u.request_id, created_at=u.created_at, model=u.model or "",
            is_stream=bool(u.is_stream), status_code=u.status_code,
            input_tokens=BigInt(u.input_tokens or 0), output_tokens=BigInt(u.output_tokens or 0),
            total_tokens=BigInt(total_tokens(
                u.input_tokens or 0, u.output_tokens or 0,
                u.cache_creation_input_tokens or 0, u.cache_read_input_tokens or 0,
            )),
            cost=float(u.total_cost_usd or 0),
        )


@strawberry.type(description="An active provider and its traffic in the last 24 hours.")
class ProviderStatus:
    id: strawberry.ID = strawberry.field(description="Provider id.")
    name: str = strawberry.field(description="Unique provider name.")
    display_name: str = strawberry.field(description="Name shown in the dashboard.")
    state: ProviderState = strawberry.field(description="ACTIVE or INACTIVE.")
    requests: int = strawberry.field(
        description="Requests in the last 24 hours (rolling) within the viewer's scope."
    )

    @classmethod
    def of(cls, t: ProviderTraffic) -> ProviderStatus:
        p = t.provider
        return cls(
            id=strawberry.ID(p.id), name=p.name, display_name=p.display_name or p.name,
            state=ProviderState.ACTIVE if p.is_active else ProviderState.INACTIVE, requests=t.requests,
        )


__all__ = ["ProviderStatus", "RecentRequest"]
