"""`requests`: the request log pages through every row of the scope newest first, cursors stay
valid while rows arrive, foreign or tampered cursors are refused, refs are batched."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from sqlalchemy import insert

from statsgraph.db.engine import count_statements, make_engine
from statsgraph.db.models import Usage
from tests.conftest import (
    UNPRICED,
    Api,
    app_client,
    assert_forbidden,
    fresh_database_url,
    live_admin,
    load_dataset,
    settings_for,
    token_for,
    utc,
)

NOW = utc(2026, 3, 10, 15, 30)
TZ = "Asia/Shanghai"
DOC = """query ($first: Int!, $after: String, $filter: UsageFilter, $range: TimeRange, $userId: ID) {
  requests(first: $first, after: $after, filter: $filter, range: $range, userId: $userId) {
    edges { cursor node {
      id createdAt model status errorRequest apiFormat responseTime firstByteTime cacheCreationTokens
      cacheReadTokens user { id } provider { id } apiKey { id name isActive }
    } }
    pageInfo { hasNextPage endCursor }
  }
}"""


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
async def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    url = fresh_database_url(request.param, request, tmp_path_factory)
    ds = await load_dataset(url, now=NOW, tz=TZ)
    return url, ds


def is_error(r) -> bool:  # noqa: ANN001
    return (r.status_code is not None and r.status_code >= 400) or r.error_message is not None


def expected_node(ds, r) -> dict:  # noqa: ANN001
    keys = {k.id: k for k in ds.api_keys}
    key = keys.get(r.api_key_id)
    return {
        "id": r.id, "createdAt": r.created_at.isoformat(), "model": r.model, "status": r.status,
        "errorRequest": is_error(r), "apiFormat": r.api_format,
        "responseTime": None if r.response_time_ms is None else r.response_time_ms / 1000,
        "firstByteTime": None if r.first_byte_time_ms is None else r.first_byte_time_ms / 1000,
        "cacheCreationTokens": r.cache_creation_input_tokens, "cacheReadTokens": r.cache_read_input_tokens,
        "user": None if r.user_id is None else {"id": r.user_id},
        "apiKey": None if key is None else {"id": key.id, "name": key.name, "isActive": key.is_active},
    }


async def walk(api: Api, variables: dict, pages: int = 1000) -> list[dict]:
    nodes, after = [], None
    for _ in range(pages):
        got = (await api.query(DOC, {**variables, "after": after}))["requests"]
        nodes += [e["node"] for e in got["edges"]]
        if not got["pageInfo"]["hasNextPage"]:
            break
        after = got["pageInfo"]["endCursor"]
    return nodes


async def test_pages_cover_the_scope_newest_first(world) -> None:  # noqa: ANN001
    url, ds = world
    settings = settings_for(url, tz=TZ, max_query_cost=UNPRICED)
    alice = next(u for u in ds.users if u.username == "alice")
    start = NOW - timedelta(days=3)
    async with app_client(settings, NOW) as client:
        as_admin = Api(client, token_for(live_admin(ds).id, settings))
        as_alice = Api(client, token_for(alice.id, settings))
        newest = sorted(ds.usage, key=lambda r: (r.created_at, r.id), reverse=True)

        got = await walk(as_admin, {"first": 100, "range": {"from": start.isoformat()}})
        want = [expected_node(ds, r) for r in newest if r.created_at >= start]
        assert [n["id"] for n in got] == [n["id"] for n in want]
        for g, w in zip(got, want):
            assert {k: g[k] for k in w} == w

        mine = await walk(as_alice, {"first": 37, "filter": {"outcome": "ERROR"}})
        assert [n["id"] for n in mine] == [r.id for r in newest if r.user_id == alice.id and is_error(r)]

        assert_forbidden((await as_alice.post(DOC, {"first": 5, "userId": live_admin(ds).id})).json())
        for first in (0, 101):
            body = (await as_admin.post(DOC, {"first": first})).json()
            assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_cursors_are_stable_bound_and_signed(world) -> None:  # noqa: ANN001
    url, ds = world
    settings = settings_for(url, tz=TZ, max_query_cost=UNPRICED)
    alice = next(u for u in ds.users if u.username == "alice")
    async with app_client(settings, NOW) as client:
        api = Api(client, token_for(live_admin(ds).id, settings))
        first = (await api.query(DOC, {"first": 10}))["requests"]
        cursor = first["pageInfo"]["endCursor"]
        second = (await api.query(DOC, {"first": 10, "after": cursor}))["requests"]

        # New rows arrive: the next page after the same cursor is unchanged.
        row = next(r for r in ds.usage if r.id == first["edges"][0]["node"]["id"])
        engine = make_engine(url)
        async with engine.begin() as conn:
            await conn.execute(insert(Usage).values(
                id="arrived-later", request_id="arrived-later", user_id=row.user_id, model="gpt-4o",
                provider_name="openai", status="pending", created_at=NOW, input_tokens=0, output_tokens=0,
                total_tokens=0,
            ))
        await engine.dispose()
        again = (await api.query(DOC, {"first": 10, "after": cursor}))["requests"]
        assert again == second
        assert (await api.query(DOC, {"first": 1}))["requests"]["edges"][0]["node"]["id"] == "arrived-later"

        def code(body: dict) -> str:
            return body["errors"][0]["extensions"]["code"]

        # Another query's cursor, another scope's, a tampered one, garbage: all refused.
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        tampered = base64.urlsafe_b64encode(raw.replace(b"2026", b"2025", 1)).decode().rstrip("=")
        for variables in (
            {"first": 10, "after": cursor, "filter": {"isStream": True}},
            {"first": 10, "after": cursor, "userId": alice.id},
            {"first": 10, "after": tampered},
            {"first": 10, "after": "not a cursor"},
            {"first": 10, "after": ""},
        ):
            assert code((await api.post(DOC, variables)).json()) == "BAD_USER_INPUT", variables


async def test_a_page_costs_constant_statements(world) -> None:  # noqa: ANN001
    url, ds = world
    settings = settings_for(url, tz=TZ, max_query_cost=UNPRICED)
    counts = set()
    async with app_client(settings, NOW) as client:
        api = Api(client, token_for(live_admin(ds).id, settings))
        for first in (10, 50, 100):  # pages whose rows have users, providers and keys
            async with count_statements() as counter:
                await api.query(DOC, {"first": first})
            counts.add(counter.count)
    assert counts == {1 + 1 + 3}, counts  # auth, the page, users, providers, keys
