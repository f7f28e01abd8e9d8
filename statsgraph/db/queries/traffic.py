"""Request-level reads: the newest requests, and request counts per provider since an instant."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import and_, func, null, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from ...core.analytics import NO_FILTER
from ...core.calendar import Window
from ...core.scope import Scope
from ..models import Provider, Usage
from ..rollup_tables import UsageHourly
from .coverage import in_ranges, inside, without
from .filters import usage_in_scope
from .usage_rollups import HOURLY, cell_conditions

# An open end for "since": rows are never this far ahead of the clock.
_END = datetime(9999, 1, 1, tzinfo=timezone.utc)


async def recent_requests(session: AsyncSession, *, scope: Scope, limit: int) -> list[Usage]:
    stmt = (
        select(Usage)
        .where(usage_in_scope(scope))
        .order_by(Usage.created_at.desc(), Usage.id.desc())
        .limit(limit)
    )
    return list(await session.scalars(stmt))


async def provider_request_counts(
    session: AsyncSession, *, scope: Scope, providers: Sequence[Provider], since: datetime,
    rolled: Sequence[Window] = (),
) -> dict[str, int]:
    """Requests since `since` per provider id. A row belongs to a provider by `provider_id`,
    or by `provider_name` when `provider_id` is null (the hourly rollup's `provider_key`).
    `rolled` are rolled-up hours after `since`, read from the hourly rollup; the rest raw, in
    one statement."""
    if not providers:
        return {}
    ids = [p.id for p in providers]
    names = {p.name: p.id for p in providers}
    after = [Window(since, _END)]
    rolled = inside(after, rolled)
    raw = (
        select(Usage.provider_id, Usage.provider_name, func.count().label("n"))
        .where(
            usage_in_scope(scope),
            in_ranges(Usage.created_at, without(after, rolled)),
            or_(
                Usage.provider_id.in_(ids),
                and_(Usage.provider_id.is_(None), Usage.provider_name.in_(list(names))),
            ),
        )
        .group_by(Usage.provider_id, Usage.provider_name)
    )
    stmt: Any = raw
    if rolled:
        h = UsageHourly
        hourly = (
            select(h.provider_key, null().label("provider_name"), func.sum(h.requests).label("n"))
            .where(in_ranges(h.hour, list(rolled)), h.provider_key.in_(ids), *cell_conditions(HOURLY, scope, NO_FILTER))
            .group_by(h.provider_key)
        )
        stmt = union_all(raw, hourly)
    counts = dict.fromkeys(ids, 0)
    for provider_id, provider_name, n in await session.execute(stmt):
        owner = provider_id
        if owner is None and provider_name is not None:
            owner = names.get(provider_name)
        if owner in counts:
            counts[owner] += int(n)
    return counts


__all__ = ["provider_request_counts", "recent_requests"]
