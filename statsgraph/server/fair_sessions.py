"""Sessions per request, bounded: one request's sibling fields and loader batches may open at
most `limit` database sessions at a time, so a document with many aliases cannot take the
whole connection pool and make every other request wait for a connection."""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import cast

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker


class _BoundedSession:
    def __init__(self, factory: async_sessionmaker[AsyncSession], gate: asyncio.Semaphore) -> None:
        self._factory = factory
        self._gate = gate
        self._session: AsyncSession | None = None

    async def __aenter__(self) -> AsyncSession:
        await self._gate.acquire()
        try:
            self._session = self._factory()
            return await self._session.__aenter__()
        except BaseException:
            self._gate.release()
            raise

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            assert self._session is not None
            await self._session.__aexit__(exc_type, exc, tb)
        finally:
            self._gate.release()


class BoundedSessions:
    """Used exactly as a session factory is: `async with sessions() as session`."""

    def __init__(self, factory: async_sessionmaker[AsyncSession], limit: int) -> None:
        self._factory = factory
        self._gate = asyncio.Semaphore(limit)

    def __call__(self) -> _BoundedSession:
        return _BoundedSession(self._factory, self._gate)


def per_request_sessions(factory: async_sessionmaker[AsyncSession], limit: int) -> async_sessionmaker[AsyncSession]:
    # Typed as the factory it stands for: every caller only ever enters it with `async with`.
    return cast(async_sessionmaker[AsyncSession], BoundedSessions(factory, limit))


__all__ = ["BoundedSessions", "per_request_sessions"]
