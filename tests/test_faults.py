"""PostgreSQL restarted under a running server: clean SERVICE_UNAVAILABLE answers during the
outage, full recovery afterwards without restarting statsgraph, and nothing wrong cached."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.conftest import (
    Api,
    app_client,
    live_admin,
    load_dataset,
    settings_for,
    token_for,
    utc,
)
from tests.servers import PostgresServer, available, skip_or_fail

pytestmark = pytest.mark.slow

NOW = utc(2026, 3, 10, 15, 30)
QUERY = "{ dashboardStats { today { requests } allTime { requests totalTokens } } recentRequests(limit: 3) { id } }"


@pytest.fixture
def own_postgres():  # noqa: ANN201
    reason = available("postgres")
    if reason:
        skip_or_fail(reason)
    with PostgresServer() as server:
        yield server


async def test_postgres_restart_during_traffic(own_postgres: PostgresServer) -> None:
    url = own_postgres.url
    ds = await load_dataset(url, now=NOW, tz="Asia/Shanghai")
    admin = live_admin(ds)
    settings = settings_for(url, ttl_dashboard_global=1)
    async with app_client(settings, NOW) as client:
        api = Api(client, token_for(admin.id, settings))
        healthy = await api.query(QUERY)

        own_postgres.stop()
        try:
            await asyncio.sleep(1.1)  # let the cached figures expire
            for _ in range(3):
                started = time.monotonic()
                response = await api.post(QUERY)
                assert response.status_code == 200
                body = response.json()
                codes = {e["extensions"]["code"] for e in body["errors"]}
                assert codes == {"SERVICE_UNAVAILABLE"}, body
                assert "password" not in response.text and "127.0.0.1" not in response.text
                assert time.monotonic() - started < 10
            ready = await client.get("/readyz")
            assert ready.status_code == 503
        finally:
            own_postgres.start()

        # Recovered without a restart, and the outage left nothing in the cache.
        for _ in range(50):
            response = await api.post(QUERY)
            if "errors" not in response.json():
                break
            await asyncio.sleep(0.2)
        assert response.json()["data"] == healthy
        assert (await client.get("/readyz")).status_code == 200
