"""Indexes statsgraph needs beyond Aether's: one start-up warning names each missing one and the
command that creates them, and /readyz lists them (still ready: figures stay exact)."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import text

from statsgraph.db.engine import make_engine
from statsgraph.db.setup import NEEDED_INDEXES, create_indexes
from statsgraph.server.app import create_app
from statsgraph.server.index_check import CREATE_COMMAND
from statsgraph.server.runtime import make_runtime
from tests.conftest import app_client, settings_for, utc

NOW = utc(2026, 3, 10, 15, 30)


async def drop_needed_indexes(url: str) -> None:
    """Leave the database as an Aether one is: without the indexes statsgraph adds."""
    engine = make_engine(url)
    async with engine.begin() as conn:
        for ix in NEEDED_INDEXES:
            await conn.execute(text(f"DROP INDEX IF EXISTS {ix.name}"))
    await engine.dispose()


async def start_and_stop(url: str) -> None:
    settings = settings_for(url)
    runtime = make_runtime(settings, clock=lambda: NOW)
    app = create_app(settings, runtime=runtime)
    async with app.router.lifespan_context(app):
        pass


async def readyz(url: str) -> dict:
    async with app_client(settings_for(url), NOW) as client:
        response = await client.get("/readyz")
    assert response.status_code == 200, response.text
    return response.json()


async def test_missing_indexes_are_warned_once_at_start_and_listed_in_readyz(
    empty_db: str, caplog: pytest.LogCaptureFixture
) -> None:
    await drop_needed_indexes(empty_db)
    with caplog.at_level(logging.INFO, logger="statsgraph.server"):
        await start_and_stop(empty_db)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "index" in r.getMessage()]
    assert len(warnings) == 1, [r.getMessage() for r in caplog.records]
    message = warnings[0].getMessage()
    for ix in NEEDED_INDEXES:
        assert ix.name in message
    assert CREATE_COMMAND in message
    assert (await readyz(empty_db))["missingIndexes"] == [ix.name for ix in NEEDED_INDEXES]

    # Created while the servers run: the next probe says so, no restart needed.
    engine = make_engine(empty_db)
    await create_indexes(engine, [NEEDED_INDEXES[0]])
    await engine.dispose()
    assert (await readyz(empty_db))["missingIndexes"] == [NEEDED_INDEXES[1].name]


async def test_nothing_is_warned_when_every_index_exists(empty_db: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="statsgraph.server"):
        await start_and_stop(empty_db)
    assert not [r for r in caplog.records if "index" in r.getMessage()]
    assert (await readyz(empty_db))["missingIndexes"] == []


async def test_an_unreachable_database_at_start_is_not_fatal(caplog: pytest.LogCaptureFixture) -> None:
    # The start-up check says the database is unreachable; no index line follows it.
    with caplog.at_level(logging.INFO, logger="statsgraph.server"):
        await start_and_stop("sqlite+aiosqlite:////nonexistent-dir/none.db")
    assert not [r for r in caplog.records if "missing" in r.getMessage() and "index" in r.getMessage()]
