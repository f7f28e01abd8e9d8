"""Engines and session factories, plus a per-task count of the SQL statements executed."""

from __future__ import annotations

import contextvars
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from sqlalchemy import event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


@dataclass
class StatementCounter:
    count: int = 0
    statements: list[str] = field(default_factory=list)


# The counters open around the work being done; tasks spawned by it (loaders, sibling resolvers)
# inherit the context, so they add to the same counters. Nested counters (a benchmark's around
# the server's per-request one) all count.
_counters: contextvars.ContextVar[tuple[StatementCounter, ...]] = contextvars.ContextVar(
    "statsgraph_statement_counters", default=()
)


@asynccontextmanager
async def count_statements() -> AsyncIterator[StatementCounter]:
    counter = StatementCounter()
    token = _counters.set((*_counters.get(), counter))
    try:
        yield counter
    finally:
        _counters.reset(token)


def _on_execute(conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
    for counter in _counters.get():
        counter.count += 1
        counter.statements.append(statement)


def make_engine(url: str, **kwargs: object) -> AsyncEngine:
    if url.startswith("sqlite"):
        # One file shared by concurrent sessions: wait for a writer instead of failing at once.
        kwargs.setdefault("connect_args", {"timeout": 30})
    else:
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 20)
        kwargs.setdefault("pool_pre_ping", True)
    engine = create_async_engine(url, **kwargs)
    event.listen(engine.sync_engine, "before_cursor_execute", _on_execute)
    if url.startswith("sqlite"):
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # noqa: ANN001
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def is_postgres(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "postgresql"


__all__ = [
    "StatementCounter",
    "count_statements",
    "is_postgres",
    "make_engine",
    "make_session_factory",
]
