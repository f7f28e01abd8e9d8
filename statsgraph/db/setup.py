"""`statsgraph db init`: create what is missing on a database, never altering what exists.

Three jobs: create missing tables (statsgraph's own included; an hourly rollup made before all
of its tables existed is cleared, to be rolled up again whole), move statsgraph's own rows from
the table names earlier versions used (`stats_user_daily_detail`, `stats_user_daily_model`,
names later Aether versions take for tables of their own) to `statsgraph_*`, and list (or, on
request, create) the indexes statsgraph's queries need beyond Aether's own."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete, inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

from .models import Base, OwnUserDaily, OwnUserDailyModel
from .queries.filters import CandidateIndex
from .rollup_tables import HourlyFallback, RollupHour, UsageHourlyNames

# Tables the hourly rollup gained after its first version.
_ADDED_TO_HOURS = frozenset({UsageHourlyNames.__tablename__, HourlyFallback.__tablename__})

# Old name → new table; a copy, never a move: the old name may belong to Aether by now.
_RENAMED = {"stats_user_daily_detail": OwnUserDaily, "stats_user_daily_model": OwnUserDailyModel}


@dataclass(frozen=True, slots=True)
class NeededIndex:
    name: str
    table: str
    columns: tuple[str, ...]
    why: str

    def ddl(self, *, concurrently: bool) -> str:
        how = "CONCURRENTLY " if concurrently else ""
        return f"CREATE INDEX {how}IF NOT EXISTS {self.name} ON {self.table} ({', '.join(self.columns)})"


# Beyond Aether's seed-era indexes (`usage`: request_id, created_at, status, (user_id, created_at),
# (api_key_id, created_at), (provider_name, model, created_at); `request_candidates`:
# request_id, status, provider_id).
CANDIDATES_BY_TIME = NeededIndex(
    "ix_request_candidates_created_at", "request_candidates", ("created_at",),
    "fallback counts of a day read candidates by time (all executed candidates without it)",
)
NEEDED_INDEXES = (
    CANDIDATES_BY_TIME,
    NeededIndex("ix_usage_provider_created", "usage", ("provider_id", "created_at"),
                "provider status counts the last 24 hours per provider"),
)


class IndexState:
    """What this process last learnt of the needed indexes: at start-up and at every /readyz
    probe, so that an index created while it runs is used without a restart. Until something
    is learnt, every index is assumed present (the statements written for them stay exact
    without them, only slower)."""

    def __init__(self) -> None:
        self._missing: frozenset[str] = frozenset()

    def note(self, missing: Iterable[NeededIndex]) -> None:
        self._missing = frozenset(ix.name for ix in missing)

    @property
    def candidates(self) -> CandidateIndex:
        return CandidateIndex.STATUS if CANDIDATES_BY_TIME.name in self._missing else CandidateIndex.TIME


@dataclass(frozen=True, slots=True)
class InitReport:
    created: list[str]
    migrated: dict[str, int]  # new table → rows copied
    missing_indexes: list[NeededIndex]


async def init_database(engine: AsyncEngine) -> InitReport:
    """Create missing tables (with their indexes) and copy rows from the old names, in one
    transaction, so a server reading meanwhile sees either no own tables (and reads raw rows)
    or complete ones. Existing tables, Aether's included, are left exactly as they are."""

    def create(sync_conn) -> InitReport:  # noqa: ANN001
        inspector = inspect(sync_conn)
        existing = set(inspector.get_table_names())
        missing = [t for t in Base.metadata.sorted_tables if t.name not in existing]
        Base.metadata.create_all(sync_conn, tables=missing)
        migrated = {}
        if RollupHour.__tablename__ in existing and any(t.name in _ADDED_TO_HOURS for t in missing):
            # Hours rolled up before these tables existed lack their entries: they are rolled
            # up again by the next `statsgraph aggregate`, and read raw until then.
            sync_conn.execute(delete(RollupHour))
        for old, model in _RENAMED.items():
            new = model.__tablename__
            if old not in existing:
                continue
            old_columns = {c["name"] for c in inspector.get_columns(old)}
            columns = [c.name for c in model.__table__.columns]
            if not set(columns) <= old_columns:
                continue  # not ours: a table of Aether's own with that name
            if sync_conn.execute(text(f"SELECT 1 FROM {new} LIMIT 1")).first() is not None:
                continue  # copied before
            names = ", ".join(columns)
            moved = sync_conn.execute(text(f"INSERT INTO {new} ({names}) SELECT {names} FROM {old}"))
            migrated[new] = moved.rowcount
        return InitReport([t.name for t in missing], migrated, _missing_indexes(inspect(sync_conn)))

    async with engine.begin() as conn:
        return await conn.run_sync(create)


def _missing_indexes(inspector) -> list[NeededIndex]:  # noqa: ANN001
    out = []
    tables = set(inspector.get_table_names())
    for needed in NEEDED_INDEXES:
        if needed.table not in tables:
            continue
        have = {tuple(ix["column_names"]) for ix in inspector.get_indexes(needed.table)}
        if needed.columns not in have:
            out.append(needed)
    return out


async def missing_indexes(engine: AsyncEngine) -> list[NeededIndex]:
    async with engine.connect() as conn:
        return await conn.run_sync(lambda c: _missing_indexes(inspect(c)))


async def create_indexes(engine: AsyncEngine, indexes: list[NeededIndex]) -> None:
    """Create the given indexes; on PostgreSQL without blocking the gateway's writes
    (`CONCURRENTLY`, which cannot run inside a transaction)."""
    concurrently = engine.dialect.name == "postgresql"
    async with engine.connect() as conn:
        if concurrently:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        for index in indexes:
            await conn.execute(text(index.ddl(concurrently=concurrently)))
        if not concurrently:
            await conn.commit()


__all__ = ["CANDIDATES_BY_TIME", "NEEDED_INDEXES", "IndexState", "InitReport", "NeededIndex", "create_indexes", "init_database", "missing_indexes"]
