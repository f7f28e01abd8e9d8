"""Request-level reads: the newest requests, and request counts per provider since an instant."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ...core.scope import Scope
from ..models import Provider, Usage
from .filters import usage_in_scope


async def recent_requests(session: AsyncSession, *, scope: Scope, limit: int) -> list[Usage]:
    stmt = (
        select(Usage)
        .where(usage_in_scope(scope))
        .order_by(Usage.created_at.desc(), Usage.id.desc())
        .limit(limit)
    )
    return list(await session.scalars(stmt))


async def provider_request_counts(
    session: AsyncSession, *, scope: Scope, providers: Sequence[Provider], since: datetime
) -> dict[str, int]:
    """Requests since `since` per provider id. A row belongs to a provider by `provider_id`,
    or by `provider_name` when `provider_id` is null."""
    if not providers:
        return {}
    ids = [p.id for p in providers]
    names = {p.name: p.id for p in providers}
    stmt = (
        select(Usage.provider_id, Usage.provider_name, func.count())
        .where(
            usage_in_scope(scope),
            Usage.created_at >= since,
            or_(
                Usage.provider_id.in_(ids),
                and_(Usage.provider_id.is_(None), Usage.provider_name.in_(list(names))),
            ),
        )
        .group_by(Usage.provider_id, Usage.provider_name)
    )
    counts = dict.fromkeys(ids, 0)
    for provider_id, provider_name, n in await session.execute(stmt):
        owner = provider_id
        if owner is None and provider_name is not None:
            owner = names.get(provider_name)
        if owner in counts:
            counts[owner] += int(n)
    return counts


__all__ = ["provider_request_counts", "recent_requests"]
