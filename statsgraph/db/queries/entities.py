"""Lookups of users, providers and API keys; counts of the scope's keys and of users."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ...core.accounts import Counts
from ...core.scope import Scope, UserScope
from ..models import ApiKey, Provider, User
from .filters import count_if


async def users_by_id(session: AsyncSession, ids: Sequence[str]) -> dict[str, User]:
    rows = await session.scalars(select(User).where(User.id.in_(list(ids))))
    return {u.id: u for u in rows}


async def api_keys_by_id(session: AsyncSession, ids: Sequence[str]) -> dict[str, ApiKey]:
    rows = await session.scalars(select(ApiKey).where(ApiKey.id.in_(list(ids))))
    return {k.id: k for k in rows}


async def providers_by_id_or_name(
    session: AsyncSession, ids: Sequence[str], names: Sequence[str]
) -> list[Provider]:
    if not ids and not names:
        return []
    stmt = select(Provider).where(or_(Provider.id.in_(list(ids)), Provider.name.in_(list(names))))
    return list(await session.scalars(stmt))


async def active_providers(session: AsyncSession) -> list[Provider]:
    return list(await session.scalars(select(Provider).where(Provider.is_active.is_(True))))


async def api_key_counts(session: AsyncSession, *, scope: Scope) -> Counts:
    stmt = select(func.count(ApiKey.id), func.sum(count_if(ApiKey.is_active.is_(True))))
    if isinstance(scope, UserScope):
        stmt = stmt.where(ApiKey.user_id == scope.user_id)
    total, active = (await session.execute(stmt)).one()
    return Counts(int(total or 0), int(active or 0))


async def user_counts(session: AsyncSession) -> Counts:
    stmt = select(func.count(User.id), func.sum(count_if(User.is_active.is_(True)))).where(
        User.is_deleted.is_not(True)
    )
    total, active = (await session.execute(stmt)).one()
    return Counts(int(total or 0), int(active or 0))


__all__ = [
    "active_providers",
    "api_key_counts",
    "api_keys_by_id",
    "providers_by_id_or_name",
    "user_counts",
    "users_by_id",
]
