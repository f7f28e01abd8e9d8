"""DATABASE_READ_URL: queries go to the replica; the aggregator writes through DATABASE_URL."""

from __future__ import annotations

import pytest

from statsgraph.server.settings import Settings
from tests.conftest import SECRET, Api, app_client, live_admin, load_dataset, sqlite_url, token_for, utc

NOW = utc(2026, 3, 10, 15, 30)


async def test_queries_read_from_the_replica(tmp_path_factory) -> None:  # noqa: ANN001
    replica = sqlite_url(tmp_path_factory, "replica")
    ds = await load_dataset(replica, now=NOW, tz="Asia/Shanghai")
    # The primary is unreachable: every answer below can only have come from the replica.
    settings = Settings(
        database_url="sqlite+aiosqlite:////nonexistent-dir/primary.db",
        database_read_url=replica,
        jwt_secret_key=SECRET,
    )
    assert settings.read_url == replica
    admin = live_admin(ds)
    async with app_client(settings, NOW) as client:
        got = await Api(client, token_for(admin.id, settings)).query("{ dashboardStats { allTime { requests } } }")
    assert got["dashboardStats"]["allTime"]["requests"] == len(ds.usage)


def test_aether_urls_map_to_async_drivers() -> None:
    s = Settings(
        database_url="postgresql://aether:pw@db:5432/aether",
        database_read_url="postgres://aether:pw@replica:5432/aether",
        jwt_secret_key=SECRET,
    )
    assert s.database_url == "postgresql+asyncpg://aether:pw@db:5432/aether"
    assert s.read_url == "postgresql+asyncpg://aether:pw@replica:5432/aether"
    assert Settings(database_url="sqlite:///x.db", jwt_secret_key=SECRET).database_url == "sqlite+aiosqlite:///x.db"


def test_placeholder_secrets_are_refused() -> None:
    for secret in ("", "changeme", "statsgraph-demo-secret-not-for-production"):
        with pytest.raises(ValueError, match="JWT_SECRET_KEY"):
            Settings(jwt_secret_key=secret).require_jwt_secret()
    assert Settings(demo_mode=True).require_jwt_secret()
