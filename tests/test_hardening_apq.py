"""Automatic persisted queries store only what an authenticated viewer sent, that parses and
validates, within a byte budget; what is read back is re-hashed before use."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from statsgraph.resolvers.cache import MemoryCache
from statsgraph.server.persisted import MAX_APQ_DOCUMENT_BYTES, sha256_hex
from tests.conftest import app_client, live_admin, load_dataset, settings_for, sqlite_url, token_for, utc

NOW = utc(2026, 3, 10, 15, 30)


@pytest.fixture(scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    url = sqlite_url(tmp_path_factory, "hardening-apq")
    ds = await load_dataset(url, now=NOW, tz="Asia/Shanghai")
    return url, live_admin(ds)


def _ext(document: str) -> dict:
    return {"persistedQuery": {"version": 1, "sha256Hash": sha256_hex(document)}}


async def _register(client, document: str, token: str | None) -> dict:  # noqa: ANN001
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    r = await client.post("/graphql", json={"query": document, "extensions": _ext(document)}, headers=headers)
    assert r.status_code < 500, r.text
    return r.json()


async def _by_hash(client, document: str, token: str) -> dict:  # noqa: ANN001
    r = await client.post("/graphql", json={"extensions": _ext(document)}, headers={"Authorization": f"Bearer {token}"})
    return r.json()


def _code(body: dict) -> str | None:
    errors = body.get("errors") or []
    return errors[0].get("extensions", {}).get("code") if errors else None


@pytest.mark.parametrize("backend", ["memory", "redis"])
async def test_only_valid_documents_of_authenticated_viewers_are_stored(world, backend, request) -> None:  # noqa: ANN001
    url, admin = world
    redis_url = request.getfixturevalue("redis_server").url if backend == "redis" else None
    if redis_url:
        r = aioredis.from_url(redis_url)
        await r.flushdb()
        await r.aclose()
    settings = settings_for(url, redis_url=redis_url)
    token = token_for(admin.id, settings)
    async with app_client(settings, NOW) as client:
        anonymous = "query Anon { viewer { id } }"
        await _register(client, anonymous, None)
        assert _code(await _by_hash(client, anonymous, token)) == "PERSISTED_QUERY_NOT_FOUND"

        invalid = "query Bad { viewer { nope } }"
        await _register(client, invalid, token)
        assert _code(await _by_hash(client, invalid, token)) == "PERSISTED_QUERY_NOT_FOUND"

        unparsable = "query Broken { viewer { id }"
        await _register(client, unparsable, token)
        assert _code(await _by_hash(client, unparsable, token)) == "PERSISTED_QUERY_NOT_FOUND"

        huge = "query Huge { viewer { id } }\n" + "#" * MAX_APQ_DOCUMENT_BYTES + "\n"
        await _register(client, huge, token)
        assert _code(await _by_hash(client, huge, token)) == "PERSISTED_QUERY_NOT_FOUND"

        good = "query Good { viewer { id } }"
        assert (await _register(client, good, token))["data"] == {"viewer": {"id": admin.id}}
        assert (await _by_hash(client, good, token))["data"] == {"viewer": {"id": admin.id}}


async def test_a_tampered_stored_document_is_not_used(world, redis_server) -> None:  # noqa: ANN001
    url, admin = world
    settings = settings_for(url, redis_url=redis_server.url)
    token = token_for(admin.id, settings)
    good = "query Mine { viewer { id } }"
    async with app_client(settings, NOW) as client:
        await _register(client, good, token)
        assert (await _by_hash(client, good, token))["data"] == {"viewer": {"id": admin.id}}
        r = aioredis.from_url(redis_server.url)
        await r.set("statsgraph:apq:" + sha256_hex(good), b"query Other { viewer { email } }")
        await r.aclose()
        assert _code(await _by_hash(client, good, token)) == "PERSISTED_QUERY_NOT_FOUND"


async def test_the_in_process_cache_is_bounded_by_bytes() -> None:
    cache = MemoryCache(max_entries=10_000, max_bytes=100_000)
    for i in range(100):
        await cache.set(f"k{i}", b"x" * 10_000, 60)
    assert cache.size_bytes <= 100_000
    assert await cache.get("k99") == b"x" * 10_000
    assert await cache.get("k0") is None
    await cache.set("big", b"x" * 200_000, 60)
    assert await cache.get("big") is None
