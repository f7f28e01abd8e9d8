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
from ..resolvers.request_log import Page
from .analytics import ApiKeyRef
from .common import ProviderRef, ProviderState, UserRef
from .scalars import BigInt

Ctx = Info[Context, None]


@strawberry.type(description="One proxied request.")
class RecentRequest:
    user_id: strawberry.Private[str | None]
    provider_id: strawberry.Private[str | None]
    provider_name: strawberry.Private[str | None]
    api_key_id: strawberry.Private[str | None]
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
    api_format: str | None = strawberry.field(description="The client API's wire format, when recorded.")
    status: str = strawberry.field(description="pending, streaming, completed or failed.")
    error_request: bool = strawberry.field(description="status_code >= 400 or an error message.")
    response_time: float | None = strawberry.field(description="Response time, seconds; null when not recorded.")
    first_byte_time: float | None = strawberry.field(
        description="Time to the first byte (streams), seconds; null when not recorded."
    )
    cache_creation_tokens: BigInt = strawberry.field(description="Tokens written to the prompt cache.")
    cache_read_tokens: BigInt = strawberry.field(description="Tokens read from the prompt cache.")

    @strawberry.field(description="The API key it was sent with; null when none or gone.")
    async def api_key(self, info: Ctx) -> ApiKeyRef | None:
        key = None if self.api_key_id is None else await info.context.loaders.api_keys.load(self.api_key_id)
        return None if key is None else ApiKeyRef.of(key)

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
            user_id=u.user_id, provider_id=u.provider_id, provider_name=u.provider_name, api_key_id=u.api_key_id,
            id=strawberry.ID(u.id), request_id=u.request_id, created_at=u.created_at, model=u.model or "",
            is_stream=bool(u.is_stream), status_code=u.status_code,
            input_tokens=BigInt(u.input_tokens or 0), output_tokens=BigInt(u.output_tokens or 0),
            total_tokens=BigInt(total_tokens(
                u.input_tokens or 0, u.output_tokens or 0,
                u.cache_creation_input_tokens or 0, u.cache_read_input_tokens or 0,
            )),
            cost=float(u.total_cost_usd or 0), api_format=u.api_format, status=u.status or "",
            error_request=(u.status_code is not None and u.status_code >= 400) or u.error_message is not None,
            response_time=None if u.response_time_ms is None else u.response_time_ms / 1000,
            first_byte_time=None if u.first_byte_time_ms is None else u.first_byte_time_ms / 1000,
            cache_creation_tokens=BigInt(u.cache_creation_input_tokens or 0),
            cache_read_tokens=BigInt(u.cache_read_input_tokens or 0),
        )


@strawberry.type(description="One request of the log and its cursor.")
class RequestEdge:
    cursor: str = strawberry.field(description="Opaque; pass as `after` to continue after this request.")
    node: RecentRequest = strawberry.field(description="The request.")


@strawberry.type(description="Where a page of the request log ends.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="Whether older requests follow.")
    end_cursor: str | None = strawberry.field(description="The last edge's cursor; null on an empty page.")


@strawberry.type(description="A page of the request log, newest first.")
class RequestConnection:
    edges: list[RequestEdge] = strawberry.field(description="The page's requests, newest first.")
    page_info: PageInfo = strawberry.field(description="Whether more follow, and from where.")

    @classmethod
    def of(cls, page: Page) -> RequestConnection:
        return cls(
            edges=[RequestEdge(cursor=c, node=RecentRequest.of(u)) for c, u in page.rows],
            page_info=PageInfo(has_next_page=page.has_next, end_cursor=page.end_cursor),
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


__all__ = ["PageInfo", "ProviderStatus", "RecentRequest", "RequestConnection", "RequestEdge"]
