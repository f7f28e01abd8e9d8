"""A figure that is not selected costs nothing: no candidates read without a fallback figure,
no per-day distinct counts without uniqueModels/uniqueProviders; and the field cache never
serves a value computed without a figure to a query that asks for it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from statsgraph.db.engine import count_statements
from tests import reference as ref
from tests.conftest import (
    COLD_TTLS,
    Api,
    app_client,
    fresh_database_url,
    live_admin,
    live_users,
    load_dataset,
    settings_for,
    token_for,
    utc,
)
from tests.documents import assert_same, camel

NOW = utc(2026, 3, 10, 15, 30)
TZ = "Asia/Shanghai"


@pytest.fixture(params=["sqlite", "postgresql"])
async def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    url = fresh_database_url(request.param, request, tmp_path_factory)
    ds = await load_dataset(url, now=NOW, tz=TZ)
    return url, ds


async def captured(url: str, viewer_id: str, query: str) -> tuple[dict, list[str]]:
    """The answer and the SQL text of one request to a fresh, cold server."""
    settings = settings_for(url, tz=TZ, **COLD_TTLS)
    async with app_client(settings, NOW) as client:
        api = Api(client, token_for(viewer_id, settings))
        async with count_statements() as counter:
            data = await api.query(query)
    return data, [s.lower() for s in counter.statements]


def reads_candidates(statements: list[str]) -> bool:
    return any("request_candidates" in s for s in statements)


def counts_distinct(statements: list[str]) -> bool:
    return any("count(distinct" in s for s in statements)


UNSELECTED = [
    "{ dashboardStats { today { requests } } }",
    "{ dashboardStats { today { requests cost avgResponseTime } month { requests } allTime { totalTokens } } }",
    "{ dashboardStats { systemHealth { errorRate avgResponseTime totalRequests } } }",
    "{ dailyStats(days: 7) { days { date requests cost avgResponseTime } } }",
]


@pytest.mark.parametrize("query", UNSELECTED)
async def test_unselected_fallbacks_and_distinct_counts_cost_nothing(world, query: str) -> None:  # noqa: ANN001
    url, ds = world
    _, statements = await captured(url, live_admin(ds).id, query)
    assert statements
    assert not reads_candidates(statements), statements
    assert not counts_distinct(statements), statements


async def test_today_requests_alone_is_one_statement_without_candidates(world) -> None:  # noqa: ANN001
    url, ds = world
    data, statements = await captured(url, live_admin(ds).id, "{ dashboardStats { today { requests } } }")
    want = ref.totals(ds, user_id=None, first_day=NOW.date(), last_day=NOW.date(), tz=TZ)
    assert data["dashboardStats"]["today"]["requests"] == want["requests"]
    # authentication's user row, today's rolled-up hours, then the day's one aggregate
    assert len(statements) == 3 and not reads_candidates(statements)


async def test_selected_figures_are_read_and_exact(world) -> None:  # noqa: ANN001
    url, ds = world
    today = ref.business_day(NOW, TZ)
    query = """{ dashboardStats { allTime { fallbackCount } systemHealth { fallbackCount } }
                 dailyStats(days: 40) { days { date uniqueModels uniqueProviders fallbackCount } } }"""
    data, statements = await captured(url, live_admin(ds).id, query)
    assert reads_candidates(statements) and counts_distinct(statements)
    all_time = ref.totals(ds, user_id=None, first_day=None, last_day=today, tz=TZ)
    assert all_time["fallback_count"] > 0, "the dataset must hold fallbacks for this test to mean anything"
    assert data["dashboardStats"]["allTime"]["fallbackCount"] == all_time["fallback_count"]
    health = ref.system_health(ds, user_id=None, now=NOW, tz=TZ)
    assert data["dashboardStats"]["systemHealth"]["fallbackCount"] == health["fallback_count"]
    want = ref.daily(ds, user_id=None, first_day=today - timedelta(days=39), last_day=today, tz=TZ)
    got = data["dailyStats"]["days"]
    assert [d["date"] for d in got] == [w["date"].isoformat() for w in want]
    for g, w in zip(got, want):
        assert (g["uniqueModels"], g["uniqueProviders"], g["fallbackCount"]) == (
            w["unique_models"], w["unique_providers"], w["fallback_count"]
        ), g["date"]


async def test_cache_never_serves_a_value_computed_without_the_figure(world) -> None:  # noqa: ANN001
    # Warm cache (default TTLs): each field is first computed without the costly figures, then
    # asked for with them; the second answer must be computed, not the cached zeros.
    url, ds = world
    today = ref.business_day(NOW, TZ)
    settings = settings_for(url, tz=TZ)
    all_time = ref.totals(ds, user_id=None, first_day=None, last_day=today, tz=TZ)
    health = ref.system_health(ds, user_id=None, now=NOW, tz=TZ)
    week = ref.daily(ds, user_id=None, first_day=today - timedelta(days=6), last_day=today, tz=TZ)
    async with app_client(settings, NOW) as client:
        api = Api(client, token_for(live_admin(ds).id, settings))
        await api.query("""{ dashboardStats { allTime { requests } systemHealth { errorRate } }
                             dailyStats(days: 7) { days { date requests } } }""")
        data = await api.query("""{ dashboardStats { allTime { requests fallbackCount }
                                                     systemHealth { errorRate fallbackCount } }
                                    dailyStats(days: 7) { days { date uniqueModels fallbackCount } } }""")
    assert data["dashboardStats"]["allTime"] == {
        "requests": all_time["requests"], "fallbackCount": all_time["fallback_count"]
    }
    assert data["dashboardStats"]["systemHealth"]["fallbackCount"] == health["fallback_count"]
    assert [(d["uniqueModels"], d["fallbackCount"]) for d in data["dailyStats"]["days"]] == [
        (w["unique_models"], w["fallback_count"]) for w in week
    ]


@pytest.mark.parametrize("as_user", [False, True], ids=["admin", "user"])
async def test_model_breakdowns_are_cached_with_their_days(world, as_user: bool) -> None:  # noqa: ANN001
    # The day series computed without breakdowns must not answer a query for them; computed
    # with them, it answers the next page whole, reading nothing per model again.
    url, ds = world
    viewer = live_users(ds)[0] if as_user else live_admin(ds)
    today = ref.business_day(NOW, TZ)
    week = ref.daily(ds, user_id=viewer.id if as_user else None, first_day=today - timedelta(days=6),
                     last_day=today, tz=TZ)
    assert any(w["model_breakdown"] for w in week), "the week must hold models for this test to mean anything"
    with_models = "{ dailyStats(days: 7) { days { date requests modelBreakdown { model requests totalTokens cost } } } }"
    settings = settings_for(url, tz=TZ)
    async with app_client(settings, NOW) as client:
        api = Api(client, token_for(viewer.id, settings))
        await api.query("{ dailyStats(days: 7) { days { date requests } } }")
        answers = []
        for _ in range(2):
            async with count_statements() as counter:
                answers.append((await api.query(with_models), [s.lower() for s in counter.statements]))
    want = [{"date": w["date"].isoformat(), "requests": w["requests"], "modelBreakdown": camel(w["model_breakdown"])}
            for w in week]
    for data, _ in answers:
        assert_same(data["dailyStats"]["days"], want)
    first, second = (statements for _, statements in answers)
    assert any("group by" in s and "model" in s.rsplit("group by", 1)[1] for s in first), first
    # The second page is authentication alone.
    assert len(second) == 1 and second[0].startswith("select users."), second
