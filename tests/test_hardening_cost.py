"""A query's cost is known before it runs: returned on every response, and over the limit the
document is refused with nothing executed."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from graphql import parse

from statsgraph.db.engine import count_statements
from statsgraph.schema import build_schema
from statsgraph.schema.cost import DEFAULT_MAX_QUERY_COST, query_cost
from statsgraph.server.app import create_app
from statsgraph.server.runtime import make_runtime
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
OPERATIONS = Path(__file__).resolve().parents[1] / "operations"
DAY = ("date requests errorRequests inputTokens outputTokens cacheCreationTokens cacheReadTokens totalTokens "
       "cost avgResponseTime uniqueModels uniqueProviders fallbackCount modelBreakdown { model requests totalTokens cost }")
SUMMARY = "modelSummary { model requests totalTokens cost avgResponseTime costPerRequest tokensPerRequest }"
# The review's document: 30 aliases of a full daily report, 337..366 days each.
ATTACK = "{ " + " ".join(
    f"d{i}: dailyStats(days: {366 - i}) {{ period {{ days }} days {{ {DAY} }} {SUMMARY} }}" for i in range(30)
) + " }"


@pytest.fixture(scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    url = sqlite_url(tmp_path_factory, "hardening-cost")
    ds = await load_dataset(url, now=NOW, tz="Asia/Shanghai")
    return url, live_admin(ds), live_users(ds)[0]


def cost(document: str, variables: dict | None = None, operation: str | None = None) -> int:
    return query_cost(build_schema()._schema, parse(document), variables, operation)


def test_cost_follows_days_limits_aliases_and_nesting() -> None:
    one = cost("{ dailyStats(days: 10) { days { date } } }")
    assert cost("{ dailyStats(days: 100) { days { date } } }") > 5 * one
    assert cost("{ a: dailyStats(days: 10) { days { date } } b: dailyStats(days: 10) { days { date } } }") == 2 * one
    nested = cost("{ dailyStats(days: 10) { days { date modelBreakdown { model cost } } } }")
    assert nested > 2 * one
    assert cost("{ recentRequests(limit: 100) { id } }") > 5 * cost("{ recentRequests(limit: 10) { id } }")
    # The argument's default when it is not given.
    assert cost("{ recentRequests { id } }") == cost("{ recentRequests(limit: 10) { id } }")


def test_fragments_are_expanded_and_variables_resolved() -> None:
    inline = cost("{ dailyStats(days: 50) { days { date cost modelBreakdown { model } } } }")
    assert cost(
        "fragment D on DailyStat { date cost modelBreakdown { model } } "
        "query { dailyStats(days: 50) { days { ...D } } }"
    ) == inline
    assert cost("{ dailyStats(days: 50) { days { ... on DailyStat { date cost modelBreakdown { model } } } } }") == inline
    doc = "query Q($d: Int! = 7) { dailyStats(days: $d) { days { date cost modelBreakdown { model } } } }"
    assert cost(doc, {"d": 50}) == inline
    assert cost(doc, {}) == cost("{ dailyStats(days: 7) { days { date cost modelBreakdown { model } } } }")
    # Of several operations, the one asked for.
    two = "query A { viewer { id } } query B { dailyStats(days: 50) { days { date cost modelBreakdown { model } } } }"
    assert cost(two, None, "B") == inline
    assert cost(two, None, "A") < inline


def test_the_dashboards_operations_are_well_under_the_limit() -> None:
    for path in sorted(OPERATIONS.glob("*.graphql")):
        assert cost(path.read_text(), {}) < DEFAULT_MAX_QUERY_COST / 20, path.name
    assert cost(ATTACK) > DEFAULT_MAX_QUERY_COST


async def test_every_response_carries_its_cost(world) -> None:  # noqa: ANN001
    url, admin, _ = world
    settings = settings_for(url)
    async with app_client(settings, NOW) as client:
        api = Api(client, token_for(admin.id, settings))
        body = (await api.post("{ viewer { id } }")).json()
        assert body["extensions"]["cost"] == {"requested": cost("{ viewer { id } }"), "limit": settings.max_query_cost}
        body = (await api.post("{ dailyStats(days: 0) { period { days } } }")).json()
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        assert body["extensions"]["cost"]["requested"] > 0


async def test_an_expensive_document_is_refused_before_anything_runs(world) -> None:  # noqa: ANN001
    url, admin, alice = world
    settings = settings_for(url)
    async with app_client(settings, NOW) as client:
        for who in (admin, alice):
            api = Api(client, token_for(who.id, settings))
            async with count_statements() as counter:
                response = await api.post(ATTACK)
            body = response.json()
            assert body["data"] is None, str(body)[:300]
            assert [e["extensions"]["code"] for e in body["errors"]] == ["QUERY_TOO_EXPENSIVE"]
            assert body["extensions"]["cost"] == {"requested": cost(ATTACK), "limit": settings.max_query_cost}
            assert counter.count <= 1, "only authentication may run"
            assert response.headers["cache-control"] == "no-store"


async def test_the_limit_is_a_setting(world) -> None:  # noqa: ANN001
    url, admin, _ = world
    settings = settings_for(url, max_query_cost=20)
    doc = "{ dailyStats(days: 30) { days { date } } }"
    async with app_client(settings, NOW) as client:
        body = (await Api(client, token_for(admin.id, settings)).post(doc)).json()
    assert body["errors"][0]["extensions"]["code"] == "QUERY_TOO_EXPENSIVE"
    assert body["extensions"]["cost"]["limit"] == 20


class CountingBackend:
    def __init__(self, inner) -> None:  # noqa: ANN001
        self.inner = inner
        self.calls = 0

    def __getattr__(self, name: str):  # noqa: ANN204
        attr = getattr(self.inner, name)
        if name in ("get", "set", "try_lock", "unlock", "exists"):
            async def counted(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
                self.calls += 1
                return await attr(*args, **kwargs)
            return counted
        return attr


async def test_a_report_does_not_cost_a_cache_round_trip_per_day(world) -> None:  # noqa: ANN001
    url, admin, _ = world
    settings = settings_for(url)
    runtime = make_runtime(settings, clock=lambda: NOW)
    counting = CountingBackend(runtime.cache.backend)
    runtime.cache.backend = counting  # type: ignore[assignment]
    app = create_app(settings, runtime=runtime)
    doc = f"{{ dailyStats(days: 200) {{ days {{ {DAY} }} {SUMMARY} }} }}"
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            api = Api(client, token_for(admin.id, settings))
            cold = await api.query(doc)
            cold_calls = counting.calls
            warm = await api.query(doc)
            warm_calls = counting.calls - cold_calls
    finally:
        await app.state.lane.close(timeout=5)
        await runtime.engine.dispose()
    assert cold == warm
    assert len(cold["dailyStats"]["days"]) == 200
    assert cold_calls <= 10 and warm_calls <= 10, (cold_calls, warm_calls)


MEASURES = "requests cost responseTime { p50 p99 }"
GROUP = "isOther key { model apiKey { name } } measures { " + MEASURES + " }"


def report(range_: str, granularity: str | None, group_by: str, limit: int | None = None) -> str:
    args = [f"range: {{{range_}}}", f"groupBy: [{group_by}]"]
    if granularity:
        args.append(f"granularity: {granularity}")
    if limit is not None:
        args.append(f"limit: {limit}")
    return ("{ usage(" + ", ".join(args) + ") { totals { " + MEASURES + " } groups { " + GROUP + " } "
            "buckets { start totals { " + MEASURES + " } groups { " + GROUP + " } } } }")


def test_a_report_costs_its_buckets_times_its_groups() -> None:
    week = 'from: "2026-03-01T00:00:00Z", to: "2026-03-08T00:00:00Z"'
    day = 'from: "2026-03-07T00:00:00Z", to: "2026-03-08T00:00:00Z"'
    hourly_week = cost(report(week, "HOUR", "MODEL", 5))
    assert hourly_week > 5 * cost(report(day, "HOUR", "MODEL", 5))
    assert cost(report(week, "HOUR", "MODEL", 50)) > 5 * hourly_week
    assert cost(report(week, "DAY", "MODEL", 5)) * 10 < hourly_week
    # Without groupBy every list holds one group whatever the limit; without granularity no bucket.
    assert cost(report(week, "HOUR", "", 100)) == cost(report(week, "HOUR", "", 1))
    assert cost(report(week, None, "MODEL", 5)) * 20 < hourly_week
    # Dates count as their days in any zone; a range without an end runs to the server's clock.
    assert cost(report('startDate: "2026-03-01", endDate: "2026-03-07"', "HOUR", "MODEL", 5)) >= hourly_week
    open_ended = report('startDate: "2026-03-01"', "HOUR", "MODEL", 5)
    assert query_cost(build_schema()._schema, parse(open_ended), {}, None, NOW) >= hourly_week
    # Variables are priced as sent.
    doc = "query($r: TimeRange!, $l: Int!) { usage(range: $r, granularity: HOUR, groupBy: [MODEL], limit: $l) { buckets { groups { " + GROUP + " } } } }"
    assert cost(doc, {"r": {"from": "2026-03-01T00:00:00Z", "to": "2026-03-08T00:00:00Z"}, "l": 50}) > 5 * cost(
        doc, {"r": {"from": "2026-03-01T00:00:00Z", "to": "2026-03-08T00:00:00Z"}, "l": 5}
    )


def test_a_page_of_the_request_log_costs_its_size() -> None:
    page = "{ requests(first: %d) { edges { cursor node { id model cost apiKey { name } user { id } } } pageInfo { hasNextPage } } }"
    assert cost(page % 100) > 5 * cost(page % 10)
    assert cost("{ requests { edges { node { id } } } }") == cost("{ requests(first: 20) { edges { node { id } } } }")


async def test_a_huge_report_is_refused_and_the_analytics_page_is_not(world) -> None:  # noqa: ANN001
    url, admin, _ = world
    settings = settings_for(url)
    month_hourly = report('startDate: "2026-02-08"', "HOUR", "API_KEY, MODEL", 100)
    analytics = (OPERATIONS / "Analytics.graphql").read_text()
    async with app_client(settings, NOW) as client:
        api = Api(client, token_for(admin.id, settings))
        async with count_statements() as counter:
            body = (await api.post(month_hourly)).json()
        assert [e["extensions"]["code"] for e in body["errors"]] == ["QUERY_TOO_EXPENSIVE"]
        assert body["data"] is None
        assert counter.count <= 1, "only authentication may run"
        # What the dashboard's analytics view asks: 90 days by day, the top ten models.
        variables = {"range": {"startDate": "2025-12-11"}, "granularity": "DAY", "groupBy": ["MODEL"]}
        body = (await api.post(analytics, variables)).json()
        assert "errors" not in body, body.get("errors")
        assert body["extensions"]["cost"]["requested"] < settings.max_query_cost
        assert len(body["data"]["usage"]["buckets"]) == 90


def test_key_fields_of_dimensions_not_grouped_by_cost_little() -> None:
    key = "key { model provider { id name displayName } apiKey { id name } user { id username } apiFormat isStream outcome statusCode }"
    doc = ('{ usage(range: {from: "2026-03-01T00:00:00Z", to: "2026-03-08T00:00:00Z"}, granularity: DAY, '
           "groupBy: [%s]) { buckets { groups { " + key + " } } } }")
    one = cost(doc % "MODEL")
    every = cost(doc % "MODEL, PROVIDER, API_KEY, USER, API_FORMAT, STREAM, OUTCOME, STATUS_CODE")
    assert every > 2 * one
    assert cost(doc % "MODEL") < cost(doc % "USER")  # a user's ref resolves, a model is a string


async def test_a_repeated_document_keeps_its_cost_and_an_open_range_follows_the_clock(world) -> None:  # noqa: ANN001
    # Costs that do not read the clock are kept per document and variables; one that does (a
    # range without an end runs to now) is priced again on every request.
    url, admin, _ = world
    settings = settings_for(url)
    clock = [NOW]
    open_ended = report('from: "2026-03-09T00:00:00Z"', "HOUR", "MODEL", 5)
    closed = "query($d: Int!) { dailyStats(days: $d) { days { date requests } } }"
    async with app_client(settings, lambda: clock[0]) as client:
        api = Api(client, token_for(admin.id, settings))

        async def priced(document: str, variables: dict | None = None) -> int:
            return (await api.post(document, variables)).json()["extensions"]["cost"]["requested"]

        for days in (7, 30, 7):
            assert await priced(closed, {"d": days}) == cost(closed, {"d": days})
        assert cost(closed, {"d": 30}) > cost(closed, {"d": 7})
        now_cost = await priced(open_ended)
        clock[0] = NOW + timedelta(days=2)
        later_cost = await priced(open_ended)
    schema = build_schema()._schema
    assert now_cost == query_cost(schema, parse(open_ended), {}, None, NOW)
    assert later_cost == query_cost(schema, parse(open_ended), {}, None, NOW + timedelta(days=2))
    assert later_cost > now_cost
