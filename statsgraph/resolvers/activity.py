"""Resolvers of request-level lists: recent requests and provider status."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from ..core.scope import GlobalScope, Scope
from ..db.models import Provider, Usage, User
from ..db.queries import entities, traffic
from .context import Context
from .entity_loaders import ProviderCountKey, ProviderKey
from .errors import BadUserInput

MAX_LIMIT = 100


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise BadUserInput(f"limit must be between 1 and {MAX_LIMIT}", argumentName="limit")
    return limit


async def recent_usage(ctx: Context, scope: Scope, limit: int) -> list[Usage]:
    async with ctx.sessions() as session:
        return await traffic.recent_requests(session, scope=scope, limit=check_limit(limit))


async def user_ref(ctx: Context, user_id: str | None) -> User | None:
    return None if user_id is None else await ctx.loaders.users.load(user_id)


async def provider_ref(ctx: Context, provider_id: str | None, provider_name: str | None) -> Provider | None:
    if provider_id is None and not provider_name:
        return None
    return await ctx.loaders.providers.load(ProviderKey(provider_id, provider_name))


@dataclass(frozen=True, slots=True)
class ProviderTraffic:
    """An active provider and its requests in the last 24 hours, in the scope."""

    provider: Provider
    requests: int


async def provider_status(ctx: Context, scope: Scope, limit: int | None) -> list[ProviderTraffic]:
    if limit is None:
        limit = 10 if isinstance(scope, GlobalScope) else 5
    check_limit(limit)
    async with ctx.sessions() as session:
        providers = await entities.active_providers(session)
    since = ctx.calendar.now() - timedelta(hours=24)
    counts = await ctx.loaders.provider_counts.load_many(
        [ProviderCountKey(scope, p.id, p.name, since) for p in providers]
    )
    rows = [ProviderTraffic(p, n) for p, n in zip(providers, counts)]
    rows.sort(key=lambda r: (-r.requests, r.provider.name))
    return rows[:limit]


__all__ = ["ProviderTraffic", "check_limit", "provider_ref", "provider_status", "recent_usage", "user_ref"]
