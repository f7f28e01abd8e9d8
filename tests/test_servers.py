"""The throwaway servers answer, go away when stopped, and come back on the same port."""

from __future__ import annotations

import asyncpg
import pytest
import redis.asyncio as aioredis
import redis.exceptions

from tests.servers import PostgresServer, RedisServer, available, skip_or_fail


def require(kind: str) -> None:
    reason = available(kind)
    if reason:
        skip_or_fail(reason)


def plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def pg_value(url: str, sql: str = "SELECT 1") -> object:
    conn = await asyncpg.connect(plain(url), timeout=5)
    try:
        return await conn.fetchval(sql)
    finally:
        await conn.close()


async def test_postgres_stop_and_restart() -> None:
    require("postgres")
    with PostgresServer() as server:
        url = server.url
        assert await pg_value(url) == 1
        await pg_value(url, "CREATE TABLE kept (x int)")

        server.stop()
        with pytest.raises((OSError, asyncpg.PostgresError)):
            await pg_value(url)

        server.start()
        assert server.url == url
        assert await pg_value(url) == 1
        assert await pg_value(url, "SELECT count(*) FROM kept") == 0  # same data dir


async def test_postgres_extra_database() -> None:
    require("postgres")
    with PostgresServer() as server:
        url = server.create_database("extra")
        assert url.endswith("/extra") and url != server.url
        assert await pg_value(url) == 1


async def test_redis_stop_and_restart() -> None:
    require("redis")
    with RedisServer() as server:
        url = server.url
        client = aioredis.from_url(url, socket_timeout=2)
        try:
            assert await client.ping()

            server.stop()
            with pytest.raises(redis.exceptions.ConnectionError):
                await client.ping()

            server.start()
            assert server.url == url
            assert await client.ping()  # the same client reconnects
        finally:
            await client.aclose()


def test_require_servers_turns_a_skip_into_a_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STATSGRAPH_REQUIRE_SERVERS", raising=False)
    with pytest.raises(pytest.skip.Exception):
        skip_or_fail("no binaries")
    monkeypatch.setenv("STATSGRAPH_REQUIRE_SERVERS", "1")
    with pytest.raises(pytest.fail.Exception):
        skip_or_fail("no binaries")
