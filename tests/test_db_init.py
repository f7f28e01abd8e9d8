"""`statsgraph db init` on an existing database: statsgraph's own rows move from the table
names earlier versions used to `statsgraph_*` (copied, never lost, once), a table of Aether's
that took an old name is left alone, and the indexes statsgraph needs are listed and created."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from statsgraph.db.engine import make_engine
from statsgraph.db.models import Base, User
from statsgraph.db.setup import create_indexes, init_database, missing_indexes
from tests.conftest import fresh_database_url

OLD_DETAIL = """CREATE TABLE stats_user_daily_detail (
    id VARCHAR(36) PRIMARY KEY, user_id VARCHAR(36), date TIMESTAMP, total_requests INTEGER,
    error_requests INTEGER, input_tokens BIGINT, output_tokens BIGINT, cache_creation_tokens BIGINT,
    cache_read_tokens BIGINT, total_cost FLOAT, actual_total_cost FLOAT, cache_creation_cost FLOAT,
    cache_read_cost FLOAT, avg_response_time_ms FLOAT, fallback_count INTEGER, unique_models INTEGER,
    unique_providers INTEGER, created_at TIMESTAMP)"""
# Later Aether versions own a `stats_user_daily_model` with columns of their own.
AETHER_USER_MODEL = "CREATE TABLE stats_user_daily_model (id VARCHAR(36) PRIMARY KEY, user_id VARCHAR(36), model VARCHAR(100), day_key VARCHAR(10))"


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    return fresh_database_url(request.param, request, tmp_path_factory)


async def _count(engine, table: str) -> int:  # noqa: ANN001
    async with engine.connect() as conn:
        return int((await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one())


async def test_own_rows_are_copied_to_the_new_names_once_and_aethers_table_is_left_alone(url: str) -> None:
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(lambda c: User.__table__.create(c))
            await conn.execute(text(
                "INSERT INTO users (id, username, password_hash, role, used_usd, is_active, is_deleted, created_at)"
                " VALUES ('u1', 'ann', 'x', 'user', 0, true, false, '2026-11-01 00:00:00')"
            ))
            await conn.execute(text(OLD_DETAIL))
            await conn.execute(text(AETHER_USER_MODEL))
            for i in range(3):
                await conn.execute(text(
                    "INSERT INTO stats_user_daily_detail VALUES (:id, 'u1', '2026-11-0%d 16:00:00', %d, 0, 1, 2, 3, 4,"
                    " 0.5, 0.25, 0.1, 0.2, 120.0, 1, 2, 1, '2026-11-10 00:00:00')" % (i + 1, i + 10)
                ), {"id": f"row-{i}"})
            await conn.execute(text("INSERT INTO stats_user_daily_model VALUES ('a', 'u1', 'gpt', '2026-11-01')"))

        first = await init_database(engine)
        assert "statsgraph_user_daily" in first.created and "statsgraph_user_daily_model" in first.created
        assert first.migrated == {"statsgraph_user_daily": 3}
        async with engine.connect() as conn:
            rows = (await conn.execute(text(
                "SELECT id, total_requests, fallback_count FROM statsgraph_user_daily ORDER BY id"
            ))).all()
        assert [tuple(r) for r in rows] == [("row-0", 10, 1), ("row-1", 11, 1), ("row-2", 12, 1)]

        second = await init_database(engine)  # idempotent: nothing created, nothing copied twice
        assert second.created == [] and second.migrated == {}
        assert await _count(engine, "statsgraph_user_daily") == 3
        # Nothing is ever dropped: the old table and Aether's table keep their rows.
        assert await _count(engine, "stats_user_daily_detail") == 3
        assert await _count(engine, "stats_user_daily_model") == 1
        assert await _count(engine, "statsgraph_user_daily_model") == 0
    finally:
        await engine.dispose()


async def test_missing_indexes_are_listed_then_created(url: str) -> None:
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
            # An Aether database: no index on request_candidates.created_at.
            await conn.execute(text("DROP INDEX ix_request_candidates_created_at"))
        missing = await missing_indexes(engine)
        assert [m.name for m in missing] == ["ix_request_candidates_created_at"]
        await create_indexes(engine, missing)
        assert await missing_indexes(engine) == []
    finally:
        await engine.dispose()
