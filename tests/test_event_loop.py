"""Database work never blocks the event loop: while one request waits on PostgreSQL (here, on a
lock another session holds), the same process keeps answering other requests, and the waiting
one completes with the right figures once the lock is gone.

(SQLite goes through aiosqlite, which runs every statement on its own thread by construction.)"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from statsgraph.db.engine import make_engine
from tests import reference as ref
from tests.conftest import Api, app_client, live_admin, load_dataset, settings_for, token_for, utc

pytestmark = pytest.mark.slow

NOW = utc(2026, 3, 10, 15, 30)
TZ = "Asia/Shanghai"


async def test_a_query_waiting_on_the_database_leaves_the_loop_free(postgres) -> None:  # noqa: ANN001
    url = postgres.create_database("event_loop")
    ds = await load_dataset(url, now=NOW, tz=TZ)
    admin = live_admin(ds)
    settings = settings_for(url, tz=TZ)
    holder = make_engine(url)
    async with app_client(settings, NOW) as client:
        api = Api(client, token_for(admin.id, settings))
        async with holder.connect() as conn:
            # Until this transaction ends, every read of `usage` waits in PostgreSQL.
            await conn.execute(text("LOCK TABLE usage IN ACCESS EXCLUSIVE MODE"))
            waiting = asyncio.create_task(api.post("{ dashboardStats { allTime { requests } } }"))
            await asyncio.sleep(1.0)
            assert not waiting.done(), "the query should be waiting on the lock"

            # Meanwhile the loop serves others: probes, and queries that do not read `usage`.
            for _ in range(5):
                assert (await asyncio.wait_for(client.get("/healthz"), timeout=5)).status_code == 200
                viewer = await asyncio.wait_for(api.query("{ viewer { id } }"), timeout=5)
                assert viewer["viewer"]["id"] == admin.id
            assert not waiting.done()
            await conn.rollback()

        response = await asyncio.wait_for(waiting, timeout=30)
    await holder.dispose()
    want = ref.totals(ds, user_id=None, first_day=None, last_day=ref.business_day(NOW, TZ), tz=TZ)
    assert response.json()["data"]["dashboardStats"]["allTime"]["requests"] == want["requests"]
