"""The open day is read once per request: every window reaching today shares one computation of
today's raw rows per scope, and the figures stay exact."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from statsgraph.core.calendar import BusinessCalendar, Window
from statsgraph.core.periods import NamedPeriod, window_of
from statsgraph.core.scope import GLOBAL, UserScope
from statsgraph.db.engine import count_statements, make_engine, make_session_factory
from statsgraph.db.queries.days import Figures
from statsgraph.resolvers import loaders as loaders_module
from statsgraph.resolvers.loaders import Loaders, OpenDayNeeds, WindowKey, split_open_day
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
from tests.documents import ADMIN_ONLY, FULL_DOC, USER_DOC

NOW = utc(2026, 3, 10, 15, 30)
TZ = "Asia/Shanghai"
NY = BusinessCalendar("America/New_York", clock=lambda: datetime(2026, 3, 8, 16, tzinfo=timezone.utc))


# --- splitting a window (no database) ---------------------------------------------------------


def test_windows_reaching_today_split_into_closed_days_and_the_open_day() -> None:
    today_start = NY.today_start()
    for period in (NamedPeriod.ALL_TIME, NamedPeriod.MONTH):
        key = WindowKey(GLOBAL, window_of(period, NY), distinct_counts=False, fallbacks=True)
        closed, needs = split_open_day(key, NY)
        assert closed is not None and closed.window == Window(key.window.start, today_start)
        assert needs == OpenDayNeeds(distinct_counts=False, fallbacks=True)
    today = WindowKey(GLOBAL, window_of(NamedPeriod.TODAY, NY), fallbacks=False)
    assert split_open_day(today, NY) == (None, OpenDayNeeds(distinct_counts=True, fallbacks=False))
    yesterday = WindowKey(GLOBAL, window_of(NamedPeriod.YESTERDAY, NY))
    assert split_open_day(yesterday, NY) == (yesterday, None)


def test_the_open_day_of_a_dst_day_is_the_whole_23_hour_day() -> None:
    # 8 March 2026 in New York lasts 23 hours; the closed part ends at its local midnight.
    series = WindowKey(GLOBAL, NY.days_window(date(2026, 3, 2), date(2026, 3, 8)))
    closed, needs = split_open_day(series, NY)
    assert closed is not None and closed.window.end == NY.day_start(date(2026, 3, 8))
    assert needs == OpenDayNeeds(distinct_counts=True, fallbacks=True)
    assert NY.day_window(NY.today()).end - NY.today_start() == timedelta(hours=23)


def test_a_users_counts_only_totals_need_no_fallbacks_of_the_open_day() -> None:
    key = WindowKey(UserScope("u1"), window_of(NamedPeriod.MONTH, NY), Figures.BASIC, distinct_counts=False)
    assert split_open_day(key, NY)[1] == OpenDayNeeds(distinct_counts=False, fallbacks=False)


def test_needs_cover_and_union() -> None:
    plain, full = OpenDayNeeds(False, False), OpenDayNeeds(True, True)
    assert full.covers(plain) and not plain.covers(full)
    assert OpenDayNeeds(True, False).union(OpenDayNeeds(False, True)) == full


# --- one computation per request (SQLite and PostgreSQL) --------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
async def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    url = fresh_database_url(request.param, request, tmp_path_factory)
    ds = await load_dataset(url, now=NOW, tz=TZ)
    return url, ds


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[Window]:
    """The windows of every day-figures read the loaders make."""
    seen: list[Window] = []
    real = loaders_module.day_figures

    async def spy(session, **kw):  # noqa: ANN001, ANN003, ANN202
        seen.append(kw["window"])
        return await real(session, **kw)

    monkeypatch.setattr(loaders_module, "day_figures", spy)
    return seen


def reaching_today(windows: list[Window]) -> list[Window]:
    cal = BusinessCalendar(TZ, clock=lambda: NOW)
    return [w for w in windows if w.end > cal.today_start()]


COMBINED = FULL_DOC.replace("apiKeys { total active }", "apiKeys { total active } systemHealth "
                            "{ avgResponseTime errorRate errorRequests fallbackCount totalRequests }")


@pytest.mark.parametrize("as_user", [False, True], ids=["admin", "user"])
async def test_every_period_shares_one_open_day(world, reads: list[Window], as_user: bool) -> None:  # noqa: ANN001
    url, ds = world
    admin = live_admin(ds)
    user = live_users(ds)[0]
    settings = settings_for(url, tz=TZ, **COLD_TTLS)
    cal = BusinessCalendar(TZ, clock=lambda: NOW)
    today = cal.today()
    async with app_client(settings, NOW) as client:
        api = Api(client, token_for(user.id if as_user else admin.id, settings))
        doc = USER_DOC if as_user else COMBINED  # a user may not read the operator figures
        data = await api.query(doc, {"days": 30})
    assert reaching_today(reads) == [cal.day_window(today)], reads

    scope_id = user.id if as_user else None
    stats = data["dashboardStats"]
    for name, first in (("today", today), ("month", today.replace(day=1)), ("allTime", None)):
        want = ref.totals(ds, user_id=scope_id, first_day=first, last_day=today, tz=TZ)
        assert stats[name]["requests"] == want["requests"], name
        assert stats[name]["fallbackCount"] == want["fallback_count"], name
        assert stats[name]["cost"] == pytest.approx(want["cost"], rel=1e-9, abs=1e-12), name
    days = ref.daily(ds, user_id=scope_id, first_day=today - timedelta(days=29), last_day=today, tz=TZ)
    got_today = data["dailyStats"]["days"][-1]
    assert got_today["date"] == today.isoformat()
    assert (got_today["requests"], got_today["uniqueModels"], got_today["fallbackCount"]) == (
        days[-1]["requests"], days[-1]["unique_models"], days[-1]["fallback_count"]
    )
    if not as_user:
        health = ref.system_health(ds, user_id=None, now=NOW, tz=TZ)
        assert stats["systemHealth"]["totalRequests"] == health["total_requests"]
        assert stats["systemHealth"]["fallbackCount"] == health["fallback_count"]
        assert stats["systemHealth"]["avgResponseTime"] == pytest.approx(health["avg_response_time"])


async def test_an_admin_reading_two_scopes_reads_each_open_day_once(world, reads: list[Window]) -> None:  # noqa: ANN001
    url, ds = world
    user = live_users(ds)[0]
    settings = settings_for(url, tz=TZ, **COLD_TTLS)
    doc = """query ($u: ID) { a: dashboardStats { today { requests } month { requests } allTime { cost } }
                              b: dashboardStats(userId: $u) { today { requests } month { requests } } }"""
    async with app_client(settings, NOW) as client:
        api = Api(client, token_for(live_admin(ds).id, settings))
        await api.query(doc, {"u": user.id})
    cal = BusinessCalendar(TZ, clock=lambda: NOW)
    assert reaching_today(reads) == [cal.day_window(cal.today())] * 2


async def test_the_open_day_is_reused_by_a_later_narrower_need(world, reads: list[Window]) -> None:  # noqa: ANN001
    # systemHealth asks for today after month in the same request; the earlier computation
    # (with fallbacks) covers it, so no second read.
    url, ds = world
    settings = settings_for(url, tz=TZ, **COLD_TTLS)
    async with app_client(settings, NOW) as client:
        api = Api(client, token_for(live_admin(ds).id, settings))
        await api.query(ADMIN_ONLY)
    assert len(reaching_today(reads)) == 1


async def test_a_window_alone_keeps_its_open_day_in_its_own_statement_and_shares_it(world, reads: list[Window]) -> None:  # noqa: ANN001
    # allTime alone: one statement (no separate open-day one); a later window reaching today in
    # the same request reuses the open day that statement computed.
    url, ds = world
    engine = make_engine(url)
    try:
        cal = BusinessCalendar(TZ, clock=lambda: NOW)
        loaders = Loaders(make_session_factory(engine), cal)
        all_time = await loaders.day_figures.load(WindowKey(GLOBAL, window_of(NamedPeriod.ALL_TIME, cal)))
        today = await loaders.day_figures.load(WindowKey(GLOBAL, window_of(NamedPeriod.TODAY, cal)))
    finally:
        await engine.dispose()
    assert reads == [window_of(NamedPeriod.ALL_TIME, cal)]
    assert today == {cal.today(): all_time[cal.today()]}
    want = ref.totals(ds, user_id=None, first_day=cal.today(), last_day=cal.today(), tz=TZ)
    assert today[cal.today()].requests == want["requests"]
    assert today[cal.today()].fallback_count == want["fallback_count"]


async def test_a_period_alone_costs_what_it_did(world) -> None:  # noqa: ANN001
    url, ds = world
    settings = settings_for(url, tz=TZ, **COLD_TTLS)
    async with app_client(settings, NOW) as client:
        api = Api(client, token_for(live_admin(ds).id, settings))
        async with count_statements() as counter:
            await api.query("{ dashboardStats { allTime { requests fallbackCount } } }")
    # Authentication; coverage, today's rolled-up hours, then one statement for the window.
    assert counter.count == 1 + 3
