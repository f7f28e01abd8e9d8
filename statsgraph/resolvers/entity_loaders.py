"""Per-request loaders of the things figures refer to: users, API keys and providers by id (or
provider name), and per-provider request counts. Each batch is one statement per scope."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from aiodataloader import DataLoader
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ..core.calendar import Window
from ..core.scope import Scope
from ..db.models import ApiKey, Provider, User
from ..db.queries import entities, traffic


@dataclass(frozen=True, slots=True)
class ProviderCountKey:
    scope: Scope
    provider_id: str
    provider_name: str
    since: datetime


class UserByIdLoader(DataLoader[str, User | None]):
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        super().__init__()
        self._sessions = sessions

    async def batch_load_fn(self, keys: Sequence[str]) -> list[User | None]:
        async with self._sessions() as session:
            found = await entities.users_by_id(session, keys)
        return [found.get(k) for k in keys]


class ApiKeyByIdLoader(DataLoader[str, ApiKey | None]):
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        super().__init__()
        self._sessions = sessions

    async def batch_load_fn(self, keys: Sequence[str]) -> list[ApiKey | None]:
        async with self._sessions() as session:
            found = await entities.api_keys_by_id(session, keys)
        return [found.get(k) for k in keys]


@dataclass(frozen=True, slots=True)
class ProviderKey:
    """How a usage row names its provider: by id, or by name when the id is null."""

    provider_id: str | None
    provider_name: str | None


class ProviderByKeyLoader(DataLoader[ProviderKey, Provider | None]):
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        super().__init__()
        self._sessions = sessions

    async def batch_load_fn(self, keys: Sequence[ProviderKey]) -> list[Provider | None]:
        ids = sorted({k.provider_id for k in keys if k.provider_id is not None})
        names = sorted({k.provider_name for k in keys if k.provider_id is None and k.provider_name})
        async with self._sessions() as session:
            found = await entities.providers_by_id_or_name(session, ids, names)
        by_id = {p.id: p for p in found}
        by_name = {p.name: p for p in found}
        return [
            by_id.get(k.provider_id) if k.provider_id is not None else by_name.get(k.provider_name or "")
            for k in keys
        ]


class RequestCountByProviderLoader(DataLoader[ProviderCountKey, int]):
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession],
        rolled_since: Callable[[datetime], Awaitable[tuple[Window, ...]]],
    ) -> None:
        super().__init__()
        self._sessions = sessions
        self._rolled_since = rolled_since

    async def batch_load_fn(self, keys: Sequence[ProviderCountKey]) -> list[int]:
        groups: dict[tuple[Scope, datetime], list[ProviderCountKey]] = defaultdict(list)
        for k in keys:
            groups[(k.scope, k.since)].append(k)
        counts: dict[ProviderCountKey, int] = {}
        # Rolled-up hours first: waiting for another session while holding this one deadlocks a busy pool.
        rolled = {since: await self._rolled_since(since) for _, since in groups}
        async with self._sessions() as session:
            for (scope, since), group in groups.items():
                providers = [Provider(id=k.provider_id, name=k.provider_name) for k in group]
                found = await traffic.provider_request_counts(
                    session, scope=scope, providers=providers, since=since, rolled=rolled[since]
                )
                for k in group:
                    counts[k] = found.get(k.provider_id, 0)
        return [counts[k] for k in keys]


__all__ = [
    "ApiKeyByIdLoader", "ProviderByKeyLoader", "ProviderCountKey", "ProviderKey", "RequestCountByProviderLoader",
    "UserByIdLoader",
]
