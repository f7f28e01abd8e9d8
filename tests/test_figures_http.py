"""Every figure of every root field, over real HTTP, equals the independent reference computed
in plain Python from the same rows, for each role, time zone, database and aggregator state."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from statsgraph.core.calendar import BusinessCalendar
from statsgraph.db.aggregator import aggregate, serialise_sqlite_writers
from statsgraph.db.engine import make_engine
from statsgraph.db.own_tables import OwnTablesState
from statsgraph.db.setup import init_database
from tests import reference as ref
from tests.conftest import (
    Api,
    app_client,
    fresh_database_url,
    load_dataset,
    settings_for,
    token_for,
)
from tests.documents import (
    ADMIN_ONLY,
    BASIC_DOC,
    DAYS,
    FULL_DOC,
    NOW,
    USER_DOC,
    assert_same,
    business_today,
    camel,
    expected_full,
    pick_users,
)
from tests.states import STATES, set_state


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def db_kind(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="module", params=["Asia/Shanghai", "America/New_York"])
def tz(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="module")
async def loaded(db_kind: str, tz: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    url = fresh_database_url(db_kind, request, tmp_path_factory)
    ds = await load_dataset(url, now=NOW, tz=tz)
    return url, ds


@pytest.mark.parametrize("state", STATES)
async def test_every_figure_matches_the_reference(loaded, tz: str, state: str) -> None:  # noqa: ANN001
    url, ds = loaded
    await set_state(url, tz=tz, now=NOW, state=state)
    settings = settings_for(url, tz=tz)
    admin, user, other = pick_users(ds)
    async with app_client(settings, NOW) as client:
        as_admin = Api(client, token_for(admin.id, settings))
        as_user = Api(client, token_for(user.id, settings))

        got = await as_admin.query(FULL_DOC, {"days": DAYS})
        assert_same(got, expected_full(ds, None, tz, admin=True), f"admin/{state}")

        got = await as_admin.query(FULL_DOC, {"days": DAYS, "userId": other.id})
        assert_same(got, expected_full(ds, other.id, tz, admin=True), f"admin-as-{other.username}/{state}")

        got = await as_user.query(USER_DOC, {"days": DAYS})
        assert_same(got, expected_full(ds, user.id, tz, admin=False), f"user/{state}")

        # Fields a user scope can answer from stats_user_daily.
        today = business_today(tz)
        got = await as_user.query(BASIC_DOC)
        want_all = ref.totals(ds, user_id=user.id, first_day=None, last_day=today, tz=tz)
        want_month = ref.totals(ds, user_id=user.id, first_day=today.replace(day=1), last_day=today, tz=tz)
        yday = today - timedelta(days=1)
        want_yday = ref.totals(ds, user_id=user.id, first_day=yday, last_day=yday, tz=tz)
        basic = ["requests", "success_requests", "error_requests", "error_rate", "input_tokens",
                 "output_tokens", "cache_creation_tokens", "cache_read_tokens", "total_tokens",
                 "cache_hit_rate", "cost"]
        assert_same(got["dashboardStats"]["allTime"], camel({k: want_all[k] for k in basic}), "basic.allTime")
        assert_same(
            got["dashboardStats"]["month"],
            camel({k: want_month[k] for k in ("requests", "error_requests", "total_tokens", "cost")}),
            "basic.month",
        )
        assert_same(got["dashboardStats"]["yesterday"], camel({k: want_yday[k] for k in ("requests", "cost")}), "basic.yesterday")

        got = await as_admin.query(ADMIN_ONLY)
        assert_same(
            got["dashboardStats"],
            camel({
                "users": ref.user_counts(ds),
                "systemHealth": ref.system_health(ds, user_id=None, now=NOW, tz=tz),
            }),
            f"admin-only/{state}",
        )
        got = await as_admin.query(
            "query($u: ID){ dashboardStats(userId: $u) { users { total } systemHealth { avgResponseTime errorRate errorRequests fallbackCount totalRequests } } }",
            {"u": other.id},
        )
        assert got["dashboardStats"]["users"] is None
        assert_same(
            got["dashboardStats"]["systemHealth"],
            camel(ref.system_health(ds, user_id=other.id, now=NOW, tz=tz)),
            f"admin-health-of-user/{state}",
        )


async def test_own_tables_missing_is_said_once_and_mended_by_db_init(loaded, tz: str, caplog) -> None:  # noqa: ANN001
    url, ds = loaded
    await set_state(url, tz=tz, now=NOW, state="aether")
    clock = [NOW]
    settings = settings_for(url, tz=tz, ttl_dashboard_user=0, ttl_daily_stats=0, ttl_closed_max=0)
    _, user, _ = pick_users(ds)
    want = ref.totals(ds, user_id=user.id, first_day=None, last_day=business_today(tz), tz=tz)
    doc = "{ dashboardStats { allTime { requests cost } } dailyStats(days: 40) { days { modelBreakdown { model } } } }"

    def missing_warnings() -> int:
        return sum(1 for r in caplog.records if r.name == "statsgraph.db" and "are missing" in r.getMessage())

    async with app_client(settings, lambda: clock[0]) as client:
        api = Api(client, token_for(user.id, settings))
        with caplog.at_level(logging.WARNING, logger="statsgraph.db"):
            for _ in range(3):
                got = await api.query(doc)
                assert got["dashboardStats"]["allTime"]["requests"] == want["requests"]
                clock[0] += timedelta(seconds=10)  # within the recheck interval: no second warning
            assert missing_warnings() == 1

            # `statsgraph db init`, then the aggregator; once the belief expires, the same
            # server finds the tables (a failed lookup would warn again).
            engine = make_engine(url)
            await init_database(engine)
            if engine.dialect.name == "sqlite":
                serialise_sqlite_writers(engine)
            await aggregate(engine, calendar=BusinessCalendar(tz, clock=lambda: NOW))
            await engine.dispose()
            clock[0] += OwnTablesState.RECHECK
            got = await api.query(doc)
            assert missing_warnings() == 1
            assert got["dashboardStats"]["allTime"]["requests"] == want["requests"]
