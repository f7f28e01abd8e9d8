"""Documents that cost at least EXPENSIVE_QUERY_COST run on a thread of their own: the same
answers, headers, codes, cache and statement counts as on the serving loop, through GraphQL and
the legacy endpoints; a caller that goes away cancels its work; shutdown ends the thread."""

from __future__ import annotations

import asyncio
import threading

import pytest
from graphql import parse

from statsgraph.db.engine import count_statements
from statsgraph.schema import build_schema
from statsgraph.schema.cost import query_cost
from statsgraph.server.expensive_lane import ExpensiveLane
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
DAY = ("date requests errorRequests inputTokens outputTokens totalTokens cost avgResponseTime uniqueModels "
       "fallbackCount modelBreakdown { model requests totalTokens cost }")
HEAVY = "{ a: dailyStats(days: 366) { days { " + DAY + " } } b: recentRequests(limit: 100) { id model cost } }"
LIGHT = "{ viewer { id } dashboardStats { today { requests } } }"


@pytest.fixture(scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    url = sqlite_url(tmp_path_factory, "expensive-lane")
    ds = await load_dataset(url, now=NOW, tz="Asia/Shanghai")
    return url, live_admin(ds), live_users(ds)[0]


def cost(document: str) -> int:
    return query_cost(build_schema()._schema, parse(document), {}, None)


def lane_documents(metrics: str) -> float:
    line = next(x for x in metrics.splitlines() if x.startswith("statsgraph_expensive_documents_total "))
    return float(line.split()[1])


async def answer(settings, who, document: str) -> tuple[dict, dict, int, float]:  # noqa: ANN001
    """The body, headers and statement count of one request, and how many documents the lane ran."""
    async with app_client(settings, NOW) as client:
        api = Api(client, token_for(who.id, settings))
        async with count_statements() as counter:
            response = await api.post(document)
        assert response.status_code == 200, response.text
        ran = lane_documents((await client.get("/metrics")).text)
        return response.json(), dict(response.headers), counter.count, ran


@pytest.mark.parametrize("role", ["admin", "user"])
async def test_an_expensive_document_answers_as_on_the_serving_loop(world, role: str) -> None:  # noqa: ANN001
    url, admin, user = world
    who = admin if role == "admin" else user
    here, here_headers, here_statements, here_ran = await answer(settings_for(url, expensive_query_cost=0), who, HEAVY)
    lane, lane_headers, lane_statements, lane_ran = await answer(settings_for(url), who, HEAVY)
    assert (here_ran, lane_ran) == (0, 1)
    assert not lane.get("errors"), lane["errors"]
    assert len(lane["data"]["a"]["days"]) == 366
    assert lane["data"] == here["data"]
    assert lane["extensions"]["cost"] == here["extensions"]["cost"]
    assert lane["extensions"]["cost"]["requested"] >= settings_for(url).expensive_query_cost
    # Statements are counted through the lane too (the caller's context travels with the work).
    assert lane_statements == here_statements > 1
    for header in ("cache-control", "vary", "x-request-id"):
        assert (header in lane_headers) == (header in here_headers), header
    assert lane_headers["cache-control"] == here_headers["cache-control"]


async def test_a_small_document_stays_on_the_serving_loop(world) -> None:  # noqa: ANN001
    url, admin, _ = world
    body, _headers, _n, ran = await answer(settings_for(url), admin, LIGHT)
    assert not body.get("errors") and ran == 0


async def test_errors_on_the_lane_keep_their_codes_and_the_rest_answers(world) -> None:  # noqa: ANN001
    url, admin, user = world
    document = HEAVY[:-1] + f' c: dashboardStats(userId: "{admin.id}") {{ today {{ requests }} }} }}'
    body, headers, _n, ran = await answer(settings_for(url), user, document)
    assert ran == 1
    assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]
    assert body["data"]["c"] is None and len(body["data"]["a"]["days"]) == 366
    assert headers["cache-control"] == "no-store"


async def test_the_field_cache_is_shared_with_the_serving_loop(world) -> None:  # noqa: ANN001
    url, admin, _ = world
    year = "dailyStats(days: 366) { days { date requests } }"
    small, large = "{ " + year + " }", "{ " + year + " recentRequests(limit: 100) { id } }"
    low, high = cost(small), cost(large)
    assert low < high
    settings = settings_for(url, expensive_query_cost=high)
    async with app_client(settings, NOW) as client:
        api = Api(client, token_for(admin.id, settings))
        first = await api.query(large)
        assert lane_documents((await client.get("/metrics")).text) == 1
        # The small document runs on the serving loop and reads the year the lane stored.
        async with count_statements() as counter:
            again = await api.query(small)
        assert lane_documents((await client.get("/metrics")).text) == 1
        metrics = (await client.get("/metrics")).text
    assert again["dailyStats"] == first["dailyStats"]
    assert 'statsgraph_cache_hits_total{field="DailyStatsReport.days"} 1.0' in metrics
    assert counter.count == 1, counter.statements  # authentication only


async def test_the_legacy_endpoints_use_the_lane_for_a_year(world) -> None:  # noqa: ANN001
    url, admin, _ = world
    results = []
    for cost in (0, 500):
        settings = settings_for(url, expensive_query_cost=cost)
        async with app_client(settings, NOW) as client:
            headers = {"Authorization": f"Bearer {token_for(admin.id, settings)}"}
            response = await client.get("/api/dashboard/daily-stats?days=366", headers=headers)
            assert response.status_code == 200, response.text
            results.append((response.json(), lane_documents((await client.get("/metrics")).text)))
    (here, here_ran), (lane, lane_ran) = results
    assert (here_ran, lane_ran) == (0, 1)
    assert lane == here


async def test_a_caller_that_goes_away_cancels_its_work_and_close_ends_the_thread(world) -> None:  # noqa: ANN001
    url, _admin, _ = world
    settings = settings_for(url)
    rt = make_runtime(settings, clock=lambda: NOW)
    lane = ExpensiveLane(rt, min_cost=1, max_tokens=settings.max_tokens)
    started, cancelled = threading.Event(), threading.Event()
    threads: list[threading.Thread] = []

    async def work(_ctx) -> None:  # noqa: ANN001
        threads.append(threading.current_thread())
        started.set()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    from statsgraph.resolvers.context import Context

    ctx = Context(ttls=rt.ttls(), calendar=rt.calendar(), sessions=rt.sessions, cache=rt.cache, viewer=None)
    caller = asyncio.create_task(lane.run(ctx, work))
    assert await asyncio.to_thread(started.wait, 5)
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    assert await asyncio.to_thread(cancelled.wait, 5), "the lane's work was not cancelled"
    assert [t.name for t in threads] == ["statsgraph-expensive"]
    assert threads[0] is not threading.current_thread()
    await lane.close(timeout=5)
    assert not threads[0].is_alive()
    await rt.engine.dispose()
