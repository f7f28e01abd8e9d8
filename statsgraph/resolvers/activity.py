"""Resolvers of request-level lists: recent requests and provider status."""

from __future__ import annotations

from datetime import timedelta

import strawberry

from ..db.models import Usage
from ..db.queries import entities, traffic
from ..db.scope import GlobalScope, Scope
from ..schema.objects import ProviderRef, ProviderState, ProviderStatus, UserRef
from .context import Context
from .errors import BadUserInput
from .loaders import ProviderCountKey, ProviderKey

MAX_LIMIT = 100


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise BadUserInput(f"limit must be between 1 and {MAX_LIMIT}", argumentName="limit")
    return limit


async def recent_usage(ctx: Context, scope: Scope, limit: int) -> list[Usage]:
    async with ctx.sessions() as session:
        return await traffic.recent_requests(session, scope=scope, limit=check_limit(limit))


async def user_ref(ctx: Context, user_id: str | None) -> UserRef | None:
    if user_id is None:
        return None
    user = await ctx.loaders.users.load(user_id)
    return None if user is None else UserRef(id=strawberry.ID(user.id), username=user.username)


async def provider_ref(ctx: Context, provider_id: str | None, provider_name: str | None) -> ProviderRef | None:
    if provider_id is None and not provider_name:
        return None
    provider = await ctx.loaders.providers.load(ProviderKey(provider_id, provider_name))
    if provider is None:
        return None
    return ProviderRef(
        id=strawberry.ID(provider.id), name=provider.name, display_name=provider.display_name or provider.name
    )


async def provider_status(ctx: Context, scope: Scope, limit: int | None) -> list[ProviderStatus]:
    if limit is None:
        limit = 10 if isinstance(scope, GlobalScope) else 5
    check_limit(limit)
    async with ctx.sessions() as session:
        providers = await entities.active_providers(session)
    since = ctx.calendar.now() - timedelta(hours=24)
    counts = await ctx.loaders.provider_counts.load_many(
        [ProviderCountKey(scope, p.id, p.name, since) for p in providers]
    )
    rows = [
        ProviderStatus(
            id=strawberry.ID(p.id), name=p.name, display_name=p.display_name or p.name,
            state=ProviderState.ACTIVE if p.is_active else ProviderState.INACTIVE, requests=n,
        )
        for p, n in zip(providers, counts)
    ]
    rows.sort(key=lambda r: (-r.requests, r.name))
    return rows[:limit]


__all__ = ["check_limit", "provider_ref", "provider_status", "recent_usage", "user_ref"]
