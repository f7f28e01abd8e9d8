"""An Aether database as it is has no `request_candidates (created_at)` index: once the server
has learnt that (at start-up or from /readyz), fallbacks are read through Aether's status index
instead of keeping the planner off it, and once the index exists, by time again. Either way the
figures equal the reference's."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from statsgraph.db.engine import count_statements, make_engine
from statsgraph.db.setup import CANDIDATES_BY_TIME, create_indexes
from tests import reference as ref
from tests.conftest import (
    COLD_TTLS,
    Api,
    app_client,
    fresh_database_url,
    live_admin,
    live_users,
    load_dataset,
    run_sql,
    settings_for,
    token_for,
    utc,
)
from tests.test_indexes_reported import drop_needed_indexes

NOW = utc(2026, 3, 10, 15, 30)
TZ = "Asia/Shanghai"
DOC = """query ($u: ID) {
  dashboardStats(userId: $u) { today { fallbackCount } month { fallbackCount } allTime { fallbackCount } }
  dailyStats(days: 7, userId: $u) { days { date fallbackCount } }
}"""


@pytest.fixture(params=["sqlite", "postgresql"])
async def aether_as_is(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    url = fresh_database_url(request.param, request, tmp_path_factory)
    ds = await load_dataset(url, now=NOW, tz=TZ)
    await drop_needed_indexes(url)
    # Aether's own index on the candidates' status, which statsgraph's models do not declare.
    await run_sql(url, text("CREATE INDEX idx_request_candidates_status ON request_candidates (status)"))
    return url, ds


def expected(ds, user_id: str | None) -> dict:  # noqa: ANN001
    today = ref.business_day(NOW, TZ)
    first = ref.business_day(NOW - timedelta(days=6), TZ)

    def fallbacks(first_day, last_day) -> int:  # noqa: ANN001
        return ref.totals(ds, user_id=user_id, first_day=first_day, last_day=last_day, tz=TZ)["fallback_count"]

    return {
        "dashboardStats": {
            "today": {"fallbackCount": fallbacks(today, today)},
            "month": {"fallbackCount": fallbacks(today.replace(day=1), today)},
            "allTime": {"fallbackCount": fallbacks(None, today)},
        },
        "dailyStats": {"days": [
            {"date": d["date"].isoformat(), "fallbackCount": d["fallback_count"]}
            for d in ref.daily(ds, user_id=user_id, first_day=first, last_day=today, tz=TZ)
        ]},
    }


def keeps_planner_off_status(statement: str) -> bool:
    return "status || " in statement


async def test_fallbacks_follow_the_indexes_there_are_and_stay_exact(aether_as_is) -> None:  # noqa: ANN001
    url, ds = aether_as_is
    assert expected(ds, None)["dashboardStats"]["allTime"]["fallbackCount"] > 0
    settings = settings_for(url, tz=TZ, **COLD_TTLS)
    async with app_client(settings, NOW) as client:

        async def forms(viewers: list) -> set[bool]:  # noqa: ANN001
            """Checks each viewer's figures; the forms its candidate statements took."""
            seen = set()
            for viewer in viewers:
                async with count_statements() as counter:
                    data = await Api(client, token_for(viewer.id, settings)).query(DOC)
                assert data == expected(ds, None if viewer.role == "admin" else viewer.id)
                found = [s for s in counter.statements if "request_candidates" in s]
                assert found, counter.statements
                seen |= {keeps_planner_off_status(s) for s in found}
            return seen

        async def missing() -> list[str]:
            return (await client.get("/readyz")).json()["missingIndexes"]

        viewers = [live_admin(ds), live_users(ds)[0]]
        # Before anything is learnt the created_at index is assumed, as on a database `db init` made.
        assert await forms(viewers) == {True}
        assert CANDIDATES_BY_TIME.name in await missing()
        assert await forms(viewers) == {False}

        engine = make_engine(url)
        await create_indexes(engine, [CANDIDATES_BY_TIME])
        await engine.dispose()
        assert CANDIDATES_BY_TIME.name not in await missing()
        assert await forms(viewers) == {True}
