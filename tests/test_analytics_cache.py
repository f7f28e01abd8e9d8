"""`usage` reports in the field cache, on a real Redis: keyed by the data's scope and the
arguments, a hit equals the miss and runs no SQL, a report that ended before today lives longer,
and an entry that does not decode is a miss."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
import redis.asyncio as aioredis

from statsgraph.core.analytics import Dimension, Granularity, Group, assemble_report
from statsgraph.core.analytics import Measures as CoreMeasures
from statsgraph.db.engine import count_statements
from statsgraph.resolvers.cache import codec
from statsgraph.resolvers.cache.reports import report_from_plain
from tests import reference_analytics as ref
from tests.conftest import Api, app_client, live_admin, load_dataset, settings_for, sqlite_url, token_for, utc
from tests.documents import assert_same

NOW = utc(2026, 3, 10, 15, 30)
TZ = "Asia/Shanghai"
DOC = """query ($range: TimeRange!, $g: Granularity, $by: [Dimension!]!, $userId: ID) {
  usage(range: $range, granularity: $g, groupBy: $by, userId: $userId) {
    totals { requests cost responseTime { count p99 } }
    groups { isOther key { model provider { id } } measures { requests cost } }
    buckets { start totals { requests } }
  }
}"""
NO_PERCENTILES = DOC.replace("responseTime { count p99 }", "responseTime { count }")


@pytest.fixture(scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    url = sqlite_url(tmp_path_factory, "analytics-cache")
    ds = await load_dataset(url, now=NOW, tz=TZ)
    return url, ds


async def flush(url: str) -> None:
    r = aioredis.from_url(url)
    await r.flushdb()
    await r.aclose()


def today():  # noqa: ANN201
    return NOW.astimezone(ref.ZoneInfo(TZ)).date()


def want(ds, start_date, end_date, by: list[str], user_id: str | None) -> dict:  # noqa: ANN001
    tz = ref.ZoneInfo(TZ)
    start = ref.local_midnight(start_date, tz)
    end = ref.local_midnight(end_date + timedelta(days=1), tz)
    return ref.usage_report(ds, start=start, end=end, granularity="DAY", tz=TZ, group_by=by, flt=None,
                            order="COST_DESC", limit=20, user_id=user_id, operator=False)


def variables(start_date, by: list[str], user_id: str | None = None, end_date=None) -> dict:  # noqa: ANN001
    rng = {"startDate": start_date.isoformat()}
    if end_date is not None:
        rng["endDate"] = end_date.isoformat()
    return {"range": rng, "g": "DAY", "by": by, "userId": user_id}


async def test_a_hit_equals_the_miss_and_runs_no_sql(world, redis_server) -> None:  # noqa: ANN001
    url, ds = world
    await flush(redis_server.url)
    settings = settings_for(url, tz=TZ, redis_url=redis_server.url)
    v = variables(today() - timedelta(days=13), ["MODEL"])
    async with app_client(settings, NOW) as client:
        api = Api(client, token_for(live_admin(ds).id, settings))
        async with count_statements() as cold:
            first = (await api.post(DOC, v)).json()
        async with count_statements() as warm:
            second = (await api.post(DOC, v)).json()
    assert first["data"] == second["data"]
    assert cold.count > 2 and warm.count == 1  # authentication only
    assert set(second["extensions"]["cache"]["computedAt"]) == {"usage"}
    assert second["extensions"]["cache"]["computedAt"] == first["extensions"]["cache"]["computedAt"]


async def test_no_viewer_is_served_another_scopes_report(world, redis_server) -> None:  # noqa: ANN001
    url, ds = world
    settings = settings_for(url, tz=TZ, redis_url=redis_server.url)
    admin = live_admin(ds)
    alice = next(u for u in ds.users if u.username == "alice")
    bob = next(u for u in ds.users if u.username == "bob")
    first = today() - timedelta(days=9)
    # (viewer, userId argument, whose rows the answer holds)
    asks = {"admin": (admin, None, None), "alice": (alice, None, alice.id), "bob": (bob, None, bob.id),
            "admin-as-bob": (admin, bob.id, bob.id)}
    doc = DOC.replace("cost responseTime", "responseTime").replace("requests cost }", "requests }")
    for order in itertools.permutations(asks):
        await flush(redis_server.url)
        async with app_client(settings, NOW) as client:
            for name in order:
                viewer, arg, rows_of = asks[name]
                got = await Api(client, token_for(viewer.id, settings)).query(doc, variables(first, ["MODEL"], arg))
                expected = want(ds, first, today(), ["MODEL"], rows_of)
                assert got["usage"]["totals"]["requests"] == expected["totals"]["requests"], f"{order}: {name}"
                assert [g["measures"]["requests"] for g in got["usage"]["groups"]] == [
                    g["measures"]["requests"] for g in expected["groups"]], f"{order}: {name}"


async def test_other_arguments_or_percentiles_are_other_entries(world, redis_server) -> None:  # noqa: ANN001
    url, ds = world
    await flush(redis_server.url)
    settings = settings_for(url, tz=TZ, redis_url=redis_server.url)
    first = today() - timedelta(days=6)
    async with app_client(settings, NOW) as client:
        api = Api(client, token_for(live_admin(ds).id, settings))
        plain = await api.query(NO_PERCENTILES, variables(first, ["MODEL"]))
        assert "p99" not in plain["usage"]["totals"]["responseTime"]
        # The same report with a percentile: computed again, with its histograms.
        got = await api.query(DOC, variables(first, ["MODEL"]))
        expected = want(ds, first, today(), ["MODEL"], None)
        assert got["usage"]["totals"]["responseTime"]["p99"] == expected["totals"]["responseTime"]["p99"]
        assert got["usage"]["totals"]["responseTime"]["p99"] is not None
        by_provider = await api.query(DOC, variables(first, ["PROVIDER"]))
        assert len(by_provider["usage"]["groups"]) == len(want(ds, first, today(), ["PROVIDER"], None)["groups"])
        assert by_provider["usage"]["groups"] != got["usage"]["groups"]


async def test_a_report_that_ended_before_today_lives_longer(world, redis_server) -> None:  # noqa: ANN001
    url, ds = world
    await flush(redis_server.url)
    settings = settings_for(url, tz=TZ, redis_url=redis_server.url, ttl_analytics=7)
    first, yesterday = today() - timedelta(days=6), today() - timedelta(days=1)
    async with app_client(settings, NOW) as client:
        api = Api(client, token_for(live_admin(ds).id, settings))
        open_range = await api.post(DOC, variables(first, ["MODEL"]))
        closed = await api.post(DOC, variables(first, ["MODEL"], end_date=yesterday))
    assert "max-age=7" in open_range.headers["cache-control"]
    until_midnight = int((ref.local_midnight(today() + timedelta(days=1), ref.ZoneInfo(TZ)) - NOW).total_seconds())
    assert f"max-age={until_midnight}" in closed.headers["cache-control"]
    assert_same(closed.json()["data"]["usage"]["totals"]["requests"],
                want(ds, first, yesterday, ["MODEL"], None)["totals"]["requests"])


def test_a_report_round_trips_and_a_tampered_one_is_refused() -> None:
    edges = [utc(2026, 3, 1), utc(2026, 3, 2), utc(2026, 3, 3)]
    m = CoreMeasures(requests=3, error_requests=1, cost=0.25)
    m.response.add_value(120)
    m.response.add_value(4_000)
    n = CoreMeasures(requests=2, input_tokens=10)
    n.first_byte.add_value(80)
    other = CoreMeasures(requests=2, input_tokens=10)
    other.first_byte.add_value(80)
    report = assemble_report(
        [Group(("gpt-4o", None), m), Group((), other, is_other=True)],
        [[Group(("gpt-4o", None), m)], [Group(("claude", 200), n)]], edges=edges, time_zone=TZ,
        granularity=Granularity.DAY, dimensions=(Dimension.MODEL, Dimension.STATUS_CODE),
    )
    plain = codec.loads(codec.dumps(report))
    assert report_from_plain(plain) == report
    for tamper in (
        lambda p: p["totals"].__setitem__("requests", "3"),
        lambda p: p["groups"][0].__setitem__("key", [{"x": 1}, None]),
        lambda p: p["groups"][0].__setitem__("key", ["only one"]),
        lambda p: p.__setitem__("dimensions", ["no_such_dimension"]),
        lambda p: p["buckets"][0]["totals"]["response"].__setitem__("buckets", {"1": 1.5}),
        lambda p: p.__setitem__("start", "2026-03-01"),
    ):
        bad = codec.loads(codec.dumps(report))
        tamper(bad)
        with pytest.raises((ValueError, KeyError, TypeError)):
            report_from_plain(bad)
