"""Engines and session factories, plus a per-task count of the SQL statements executed."""

from __future__ import annotations

import contextvars
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine


@dataclass
class StatementCounter:
    count: int = 0
    statements: list[str] = field(default_factory=list)


# The counter of the request being served; tasks spawned by it (loaders, sibling resolvers)
# inherit the context, so they add to the same counter.
_current_counter: contextvars.ContextVar[StatementCounter | None] = contextvars.ContextVar(
    "statsgraph_statement_counter", default=None
)


@asynccontextmanager
async def count_statements() -> AsyncIterator[StatementCounter]:
    counter = StatementCounter()
    token = _current_counter.set(counter)
    try:
        yield counter
    finally:
        _current_counter.reset(token)


def current_statement_counter() -> StatementCounter | None:
    return _current_counter.get()


def _on_execute(conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
    counter = _current_counter.get()
    if counter is not None:
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
    engine = create_async_engine(url, **kwargs)  # type: ignore[arg-type]
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
    "current_statement_counter",
    "is_postgres",
    "make_engine",
    "make_session_factory",
]
