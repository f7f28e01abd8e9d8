"""The field cache trusts nothing it reads: hostile values written into the real Redis under the
real keys never change an answer, never make it an error, and are overwritten by the next miss."""

from __future__ import annotations

import json

import pytest
import redis.asyncio as aioredis

from statsgraph.core.scope import GLOBAL, UserScope
from statsgraph.resolvers.cache import codec
from tests.conftest import (
    Api,
    app_client,
    live_admin,
    live_users,
    load_dataset,
    settings_for,
    sqlite_url,
    token_for,
    utc,
)

NOW = utc(2026, 3, 10, 15, 30)
DOC = """{
  dashboardStats { allTime { requests cost } today { requests cost } apiKeys { total active } quota { usedUsd } }
  providerStatus { name requests }
  dailyStats(days: 5) {
    days { date requests cost modelBreakdown { model requests cost } }
    modelSummary { model requests cost }
  }
}"""


@pytest.fixture(scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    url = sqlite_url(tmp_path_factory, "hardening-cache-trust")
    ds = await load_dataset(url, now=NOW, tz="Asia/Shanghai")
    return url, live_admin(ds), live_users(ds)[0]


def _with_scope(value: object, scope: str) -> object:
    """The value with a forged scope added to every object in it, in the old codec's form too."""
    if isinstance(value, dict):
        out = {k: _with_scope(v, scope) for k, v in value.items()}
        out["scope"] = {"$scope": scope}
        return out
    if isinstance(value, list):
        return [_with_scope(v, scope) for v in value]
    return value


def hostile_values(real: bytes) -> dict[str, bytes]:
    item = json.loads(real)
    values = {
        "garbage": b"\x00\xff\xfe not json",
        "not an object": b"[1, 2, 3]",
        "no value": json.dumps({"at": item["at"]}).encode(),
        "wrong shape": json.dumps({"v": {"unexpected": 1}, "at": item["at"]}).encode(),
        "wrong types": json.dumps({"v": _stringify(item["v"]), "at": item["at"]}).encode(),
        "bad instant": json.dumps({"v": item["v"], "at": {"$dt": "yesterday"}}).encode(),
        "forged scope": json.dumps({"v": _with_scope(item["v"], "global"), "at": item["at"]}).encode(),
        "huge": json.dumps({"v": item["v"], "at": item["at"], "pad": "x" * (3 * 1024 * 1024)}).encode(),
        "deep": ("[" * 100_000 + "]" * 100_000).encode(),
    }
    if _stringify(item["v"]) == item["v"]:
        del values["wrong types"]  # nothing to stringify (a null quota, say)
    if item["v"] is None:
        del values["forged scope"]
    return values


def _stringify(value: object) -> object:
    if isinstance(value, dict):
        return {k: _stringify(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_stringify(v) for v in value]
    if isinstance(value, bool | int | float):
        return str(value)
    return value


async def test_hostile_values_under_the_real_keys_change_no_answer(world, redis_server) -> None:  # noqa: ANN001
    url, admin, alice = world
    settings = settings_for(url, redis_url=redis_server.url)
    r = aioredis.from_url(redis_server.url)
    await r.flushdb()
    try:
        async with app_client(settings, NOW) as client:
            viewers = {"admin": Api(client, token_for(admin.id, settings)), "alice": Api(client, token_for(alice.id, settings))}
            truth = {name: await api.query(DOC) for name, api in viewers.items()}
            assert truth["admin"] != truth["alice"]
            keys = sorted(k for k in await r.keys("statsgraph:field:*") if not k.endswith(b":lock"))
            assert len(keys) >= 8, keys
            for key in keys:
                real = await r.get(key)
                assert real is not None
                assert b"$scope" not in real, "a cached value carries no scope"
                for label, value in hostile_values(real).items():
                    await r.set(key, value, ex=600)
                    for name, api in viewers.items():
                        response = await api.post(DOC)
                        body = response.json()
                        assert response.status_code == 200
                        assert not body.get("errors"), (key, label, name, body.get("errors"))
                        assert body["data"] == truth[name], (key, label, name)
                    healed = await r.get(key)
                    assert healed != value, f"{label} value under {key!r} was not overwritten"
    finally:
        await r.aclose()


def test_the_codec_never_writes_a_scope() -> None:
    with pytest.raises(TypeError):
        codec.dumps(GLOBAL)
    with pytest.raises(TypeError):
        codec.dumps({"s": UserScope("u1")})
    # An old-style tagged scope reads back as plain data, never as a scope.
    assert codec.loads(b'{"$scope": "global"}') == {"$scope": "global"}
