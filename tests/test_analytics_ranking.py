"""The database ranks a report's groups: ties by key in code-point order whatever the database's
collation (PostgreSQL's default collation is often a language's, where "alpha" sorts before
"Zeta"), the rest summed into "other", per bucket and over the whole range. The expected order
is computed here from the rows written."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import text

from statsgraph.db.engine import make_engine, make_session_factory
from tests import reference as ref
from tests.conftest import (
    UNPRICED,
    Api,
    app_client,
    create_tables,
    fresh_database_url,
    settings_for,
    token_for,
    utc,
)
from tests.factories import insert_dataset, make_usage, make_user

NOW = utc(2026, 3, 10, 15, 30)
DAY = utc(2026, 3, 9)
# Equal cost for most: only the key decides between them. Code-point order puts capitals first
# and accented letters after "z"; a language collation would not.
MODELS = {"Zeta": 0.5, "alpha": 0.5, "Éclair": 0.5, "beta": 0.5, "Alpha": 0.5, "zz": 0.5, "mid": 0.75, "b": 0.25}
DOC = """query ($by: [Dimension!]!, $limit: Int!, $order: UsageOrder!, $g: Granularity) {
  usage(range: {startDate: "2026-03-09", endDate: "2026-03-10"}, timeZone: "UTC", granularity: $g,
        groupBy: $by, orderBy: $order, limit: $limit) {
    totals { requests cost }
    groups { isOther key { model } measures { requests cost } }
    buckets { groups { isOther key { model } measures { requests } } }
  }
}"""


async def _icu_database(request: pytest.FixtureRequest) -> str:
    """A database whose default collation is ICU's en-US, unlike the test server's C."""
    server = request.getfixturevalue("postgres")
    name = f"t_icu_{uuid.uuid4().hex[:10]}"
    engine = make_engine(server.url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(
            f"CREATE DATABASE {name} TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C'"
        ))
    await engine.dispose()
    return server.url.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(scope="module", params=["sqlite", "postgresql", "postgresql-icu"])
async def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    if request.param == "postgresql-icu":
        url = await _icu_database(request)
    else:
        url = fresh_database_url(request.param, request, tmp_path_factory)
    await create_tables(url)
    admin = make_user(username="root", role="admin")
    rows = [
        make_usage(created_at=DAY + timedelta(hours=i % 2, minutes=i), user_id=admin.id, model=model,
                   total_cost_usd=cost, actual_total_cost_usd=cost)
        for i, (model, cost) in enumerate(MODELS.items())
    ]
    engine = make_engine(url)
    async with make_session_factory(engine)() as session:
        await insert_dataset(session, ref.Dataset(users=[admin], usage=rows))
    await engine.dispose()
    return url, admin, rows


def expected(rows: list, order: str, limit: int) -> tuple[list[str], int]:
    """Models in rank order for the first `limit`, and the requests of the rest."""
    by_model: dict[str, list[float]] = {}
    for r in rows:
        by_model.setdefault(r.model, []).append(r.total_cost_usd)
    ranked = sorted(by_model, key=(lambda m: (-sum(by_model[m]), m)) if order == "COST_DESC" else (lambda m: m))
    return ranked[:limit], sum(len(by_model[m]) for m in ranked[limit:])


@pytest.mark.parametrize("order", ["COST_DESC", "KEY_ASC"])
@pytest.mark.parametrize("limit", [1, 3, 100])
async def test_ties_rank_by_key_in_code_point_order(world, order: str, limit: int) -> None:  # noqa: ANN001
    url, admin, rows = world
    settings = settings_for(url, max_query_cost=UNPRICED)
    async with app_client(settings, NOW) as client:
        api = Api(client, token_for(admin.id, settings))
        got = (await api.query(DOC, {"by": ["MODEL"], "limit": limit, "order": order}))["usage"]
    top, rest = expected(rows, order, limit)
    groups = got["groups"]
    assert [g["key"]["model"] for g in groups if not g["isOther"]] == top
    others = [g for g in groups if g["isOther"]]
    assert [g["measures"]["requests"] for g in others] == ([rest] if rest else [])
    assert sum(g["measures"]["requests"] for g in groups) == got["totals"]["requests"] == len(rows)


async def test_each_bucket_ranks_its_own_groups(world) -> None:  # noqa: ANN001
    url, admin, rows = world
    settings = settings_for(url, max_query_cost=UNPRICED)
    async with app_client(settings, NOW) as client:
        api = Api(client, token_for(admin.id, settings))
        got = (await api.query(DOC, {"by": ["MODEL"], "limit": 2, "order": "COST_DESC", "g": "HOUR"}))["usage"]
    buckets = got["buckets"]
    assert len(buckets) == 48
    for hour in (0, 1):
        in_hour = [r for r in rows if r.created_at.hour == hour]
        top, rest = expected(in_hour, "COST_DESC", 2)
        groups = buckets[hour]["groups"]
        assert [g["key"]["model"] for g in groups if not g["isOther"]] == top
        assert [g["measures"]["requests"] for g in groups if g["isOther"]] == [rest]
    assert all(b["groups"] == [] for b in buckets[2:])
