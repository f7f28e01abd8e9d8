"""`usage`: scope escapes, operator figures and bad arguments get their codes, and the
statements a report runs do not grow with its buckets or groups."""

from __future__ import annotations

import pytest

from statsgraph.db.engine import count_statements, make_engine
from statsgraph.db.rollup_hourly import roll_up_hours
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
DOC = """query ($range: TimeRange!, $g: Granularity, $by: [Dimension!]! = [], $f: UsageFilter, $tz: String,
  $limit: Int! = 20, $userId: ID) {
  usage(range: $range, granularity: $g, groupBy: $by, filter: $f, timeZone: $tz, limit: $limit, userId: $userId) {
    totals { requests cost } buckets { start } groups { isOther measures { requests } }
  }
}"""


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
async def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    url = fresh_database_url(request.param, request, tmp_path_factory)
    ds = await load_dataset(url, now=NOW, tz=TZ)
    return url, ds


def codes(body: dict) -> set:
    return {e.get("extensions", {}).get("code") for e in body.get("errors") or []}


async def test_bad_arguments_are_bad_user_input(world) -> None:  # noqa: ANN001
    url, ds = world
    settings = settings_for(url, tz=TZ, max_query_cost=UNPRICED)
    bad = [
        ({"range": {}}, "range"),
        ({"range": {"from": "2026-03-01T00:00:00Z", "startDate": "2026-03-01"}}, "range"),
        ({"range": {"startDate": "2026-03-01", "to": "2026-03-02T00:00:00Z", "endDate": "2026-03-03"}}, "range"),
        ({"range": {"from": "2026-03-05T00:00:00Z", "to": "2026-03-01T00:00:00Z"}}, "range"),
        ({"range": {"startDate": "2024-12-01"}}, "400 days"),
        ({"range": {"startDate": "2026-01-01"}, "g": "HOUR"}, "31 days"),
        # (800 buckets cannot be reached within 400 days and 31 days of hours; the core tests it.)
        ({"range": {"startDate": "2026-03-01"}, "tz": "Mars/Olympus"}, "time zone"),
        ({"range": {"startDate": "2026-03-01"}, "tz": "../../etc/passwd"}, "time zone"),
        ({"range": {"startDate": "2026-03-01"}, "limit": 0}, "limit"),
        ({"range": {"startDate": "2026-03-01"}, "limit": 101}, "limit"),
    ]
    async with app_client(settings, NOW) as client:
        api = Api(client, token_for(live_admin(ds).id, settings))
        for variables, words in bad:
            body = (await api.post(DOC, variables)).json()
            assert codes(body) == {"BAD_USER_INPUT"}, (variables, body)
            assert words in body["errors"][0]["message"], (variables, body["errors"][0]["message"])
        body = (await api.post(DOC, {"range": {"startDate": "2026-03-01"}, "userId": "no-such-user"})).json()
        assert codes(body) == {"BAD_USER_INPUT"}


async def test_scope_escapes_are_forbidden(world) -> None:  # noqa: ANN001
    url, ds = world
    settings = settings_for(url, tz=TZ, max_query_cost=UNPRICED)
    alice = next(u for u in ds.users if u.username == "alice")
    bob = next(u for u in ds.users if u.username == "bob")
    rng = {"startDate": "2026-03-01"}
    async with app_client(settings, NOW) as client:
        as_alice = Api(client, token_for(alice.id, settings))
        assert_forbidden((await as_alice.post(DOC, {"range": rng, "userId": bob.id})).json())
        assert_forbidden((await as_alice.post(DOC, {"range": rng, "f": {"userIds": [alice.id, bob.id]}})).json())
        # Operator figures: null with FORBIDDEN for a user viewer, the rest still answers.
        body = (await as_alice.post("{ usage(range: {startDate: \"2026-03-01\"}) { totals { requests actualCost costSavings } } }")).json()
        assert body["data"]["usage"]["totals"]["actualCost"] is None
        assert body["data"]["usage"]["totals"]["costSavings"] is None
        assert body["data"]["usage"]["totals"]["requests"] > 0
        assert codes(body) == {"FORBIDDEN"}
        # An admin reads them in any scope.
        as_admin = Api(client, token_for(live_admin(ds).id, settings))
        got = await as_admin.query(
            "query($u: ID) { usage(range: {startDate: \"2026-03-01\"}, userId: $u) { totals { actualCost costSavings } } }",
            {"u": alice.id},
        )
        assert got["usage"]["totals"]["actualCost"] is not None
        # No token: unauthenticated.
        body = (await as_alice.post(DOC, {"range": rng}, token=None)).json()
        assert codes(body) == {"UNAUTHENTICATED"}


REFS_DOC = """query ($range: TimeRange!, $g: Granularity, $by: [Dimension!]!, $limit: Int!) {
  usage(range: $range, granularity: $g, groupBy: $by, limit: $limit) {
    totals { requests responseTime { p99 } }
    groups { key { model provider { name } apiKey { name isActive } user { username } } measures { requests firstByteTime { p50 } } }
    buckets { groups { key { provider { displayName } apiKey { id } user { id } } measures { cost } } }
  }
}"""


@pytest.mark.parametrize("rolled_up", [False, True])
async def test_statements_do_not_grow_with_buckets_or_groups(world, rolled_up: bool) -> None:  # noqa: ANN001
    url, ds = world
    if rolled_up:
        engine = make_engine(url)
        async with engine.connect() as conn:
            await roll_up_hours(conn, now=NOW)
        await engine.dispose()
    settings = settings_for(url, tz=TZ, max_query_cost=UNPRICED)
    by = ["PROVIDER", "API_KEY", "USER", "MODEL"]
    shapes = [
        ({"startDate": "2026-03-10"}, None, 1),
        ({"startDate": "2026-03-09"}, "HOUR", 3),
        ({"startDate": "2026-01-01"}, "DAY", 100),
        ({"startDate": "2025-12-01"}, "WEEK", 50),
    ]
    counts = set()
    async with app_client(settings, NOW) as client:
        api = Api(client, token_for(live_admin(ds).id, settings))
        for rng, g, limit in shapes:
            async with count_statements() as counter:
                got = await api.query(REFS_DOC, {"range": rng, "g": g, "by": by, "limit": limit})
            assert got["usage"]["groups"]
            counts.add(counter.count)
    # auth, the rolled-up hours, the ranked sums of every source and their histograms,
    # then one statement per kind of reference
    assert counts == {1 + 1 + 2 + 3}, counts
