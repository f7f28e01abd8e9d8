"""`statsgraph db init`: create what is missing on a database, never altering what exists."""

from __future__ import annotations

from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncEngine

from .models import Base


async def init_database(engine: AsyncEngine) -> list[str]:
    """Create missing tables (with their indexes). Existing tables, Aether's included, are left
    exactly as they are; the README lists the indexes an operator may add to them."""

    def create(sync_conn) -> list[str]:  # noqa: ANN001
        existing = set(inspect(sync_conn).get_table_names())
        missing = [t for t in Base.metadata.sorted_tables if t.name not in existing]
        Base.metadata.create_all(sync_conn, tables=missing)
        return [t.name for t in missing]

    async with engine.begin() as conn:
        return await conn.run_sync(create)


__all__ = ["init_database"]
