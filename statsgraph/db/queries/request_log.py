"""The request log: one page of usage rows, newest first, after a keyset position."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ...core.analytics import Filter
from ...core.scope import Scope
from ..models import Usage
from .filters import usage_in_scope
from .usage_report import filter_conditions, needs_provider_join, provider_join


async def request_page(
    session: AsyncSession,
    *,
    scope: Scope,
    flt: Filter,
    start: datetime | None,
    end: datetime | None,
    after: tuple[datetime, str] | None,
    limit: int,
) -> list[Usage]:
    stmt = select(Usage).where(usage_in_scope(scope), *filter_conditions(flt))
    if needs_provider_join((), flt):
        stmt = provider_join(stmt)
    if start is not None:
        stmt = stmt.where(Usage.created_at >= start)
    if end is not None:
        stmt = stmt.where(Usage.created_at < end)
    if after is not None:
        at, row_id = after
        stmt = stmt.where(or_(Usage.created_at < at, and_(Usage.created_at == at, Usage.id < row_id)))
    stmt = stmt.order_by(Usage.created_at.desc(), Usage.id.desc()).limit(limit)
    return list(await session.scalars(stmt))


__all__ = ["request_page"]
