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
        if "+asyncpg" in url:
            kwargs["connect_args"] = _with_session_settings(kwargs.get("connect_args"))
    engine = create_async_engine(url, **kwargs)
    event.listen(engine.sync_engine, "before_cursor_execute", _on_execute)
    if url.startswith("sqlite"):
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


# asyncpg prepares every statement. After five executions PostgreSQL may switch a prepared
# statement to a generic plan, built for an average parameter: for a scope's user id that is an
# average user, and the heaviest user's figures then run a nested loop several times slower than
# their own plan (measured in bench/README.md, "Plans that do not degrade"). Usage is skewed by
# user, so every execution is planned for its own parameters.
CUSTOM_PLANS = {"plan_cache_mode": "force_custom_plan"}
# PostgreSQL's JIT compiles a statement whose estimated cost passes `jit_above_cost`, and the
# latency buckets are a CASE search tree of some 850 branches: the hourly rollup's histogram
# statement over 100,000 rows took 5.0 s with JIT and 0.56 s without (bench/README.md). Nothing
# statsgraph runs is long enough to win a compilation back.
NO_JIT = {"jit": "off"}


def _with_session_settings(connect_args: object) -> dict[str, object]:
    args: dict[str, object] = dict(connect_args) if isinstance(connect_args, dict) else {}
    server_settings = args.get("server_settings")
    merged = dict(server_settings) if isinstance(server_settings, dict) else {}
    for name, value in {**CUSTOM_PLANS, **NO_JIT}.items():
        merged.setdefault(name, value)
    args["server_settings"] = merged
    return args


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
    "CUSTOM_PLANS",
    "NO_JIT",
    "StatementCounter",
    "count_statements",
    "is_postgres",
    "make_engine",
    "make_session_factory",
]
