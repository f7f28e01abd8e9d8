"""A report sums only the measures its document selects: whatever subset is asked for, over raw
rows, hourly and daily rollups mixed, each selected figure equals the reference, and so does the
ranking when it orders by a measure that is not selected. A cached report that summed fewer
measures never answers a document that asks for more."""

from __future__ import annotations

from datetime import timedelta

import pytest

from statsgraph.core.calendar import BusinessCalendar
from statsgraph.db.engine import make_engine
from statsgraph.db.rollup_daily import roll_up_days
from statsgraph.db.rollup_hourly import roll_up_hours
from tests import reference_analytics as ref
from tests.conftest import (
    UNPRICED,
    Api,
    app_client,
    fresh_database_url,
    live_admin,
    load_dataset,
    settings_for,
    token_for,
    utc,
)
from tests.documents import assert_same

NOW = utc(2026, 3, 10, 15, 30)
TZ = "Asia/Shanghai"

# Each selection: the measure fields asked for, a latency field mapping to its subfields.
SELECTIONS: list[dict[str, list[str] | None]] = [
    {"requests": None},
    {"cost": None},
    {"errorRate": None, "errorRequests": None},
    {"totalTokens": None, "cacheHitRate": None},
    {"cacheReadCost": None},
    {"actualCost": None},
    {"costSavings": None},
    {"responseTime": ["count", "max", "mean"]},
    {"firstByteTime": ["p50", "p99"]},
    {"requests": None, "inputTokens": None, "responseTime": ["p90"]},
]


def selection_text(selection: dict[str, list[str] | None]) -> str:
    return " ".join(name if sub is None else f"{name} {{ {' '.join(sub)} }}" for name, sub in selection.items())


def document(selection: dict[str, list[str] | None]) -> str:
    m = selection_text(selection)
    return """query ($range: TimeRange!, $by: [Dimension!]!, $order: UsageOrder!) {
  usage(range: $range, granularity: DAY, groupBy: $by, orderBy: $order, limit: 5) {
    totals { %s }
    groups { isOther key { model apiKey { id } } measures { %s } }
    buckets { start totals { %s } groups { isOther key { model apiKey { id } } measures { %s } } }
  }
}""" % (m, m, m, m)


def project(report: dict, selection: dict[str, list[str] | None], by: list[str]) -> dict:
    """The reference's answer cut down to what the document asks for."""

    def measures(m: dict) -> dict:
        return {name: m[name] if sub is None else {k: m[name][k] for k in sub} for name, sub in selection.items()}

    def key(k: dict) -> dict:
        out: dict = {}
        if "MODEL" in by:
            out["model"] = k["model"]
        if "API_KEY" in by:
            out["apiKey"] = k["apiKey"]
        return out

    def groups(gs: list[dict]) -> list[dict]:
        return [{"isOther": g["isOther"], "key": key(g["key"]), "measures": measures(g["measures"])} for g in gs]

    return {
        "totals": measures(report["totals"]),
        "groups": groups(report["groups"]),
        "buckets": [{"start": b["start"], "totals": measures(b["totals"]), "groups": groups(b["groups"])}
                    for b in report["buckets"]],
    }


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
async def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    url = fresh_database_url(request.param, request, tmp_path_factory)
    ds = await load_dataset(url, now=NOW, tz=TZ)
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            # Closed hours rolled up, whole past days built: a range starting mid-day reads
            # hourly cells, then daily ones, then today's hours and its open hour's raw rows.
            hours = await roll_up_hours(conn, now=NOW, recheck=timedelta(hours=24))
            days = await roll_up_days(conn, BusinessCalendar(TZ, clock=lambda: NOW))
    finally:
        await engine.dispose()
    assert hours > 1000 and days > 10, (hours, days)
    return url, ds


START = NOW - timedelta(days=12, hours=5, minutes=17)


def reference(ds, by: list[str], order: str) -> dict:  # noqa: ANN001
    return ref.usage_report(ds, start=START, end=NOW, granularity="DAY", tz=TZ, group_by=by, flt=None,
                            order=order, limit=5, user_id=None, operator=True)


@pytest.mark.parametrize("by", [["MODEL"], ["API_KEY"]])
async def test_each_subset_of_measures_equals_the_reference(world, by: list[str]) -> None:  # noqa: ANN001
    url, ds = world
    settings = settings_for(url, tz=TZ, max_query_cost=UNPRICED)
    variables = {"range": {"from": START.isoformat(), "to": NOW.isoformat()}, "by": by}
    async with app_client(settings, NOW) as client:
        api = Api(client, token_for(live_admin(ds).id, settings))
        for order in ("COST_DESC", "TOKENS_DESC", "REQUESTS_DESC"):
            want = reference(ds, by, order)
            assert want["groups"] and want["groups"][0]["measures"]["requests"] > 0
            for selection in SELECTIONS:
                got = (await api.query(document(selection), {**variables, "order": order}))["usage"]
                assert_same(got, project(want, selection, by), f"{order} {selection_text(selection)}")


async def test_a_cached_report_with_fewer_measures_does_not_answer_one_with_more(world, redis_server) -> None:  # noqa: ANN001
    url, ds = world
    settings = settings_for(url, tz=TZ, redis_url=redis_server.url, max_query_cost=UNPRICED)
    variables = {"range": {"from": START.isoformat(), "to": NOW.isoformat()}, "by": ["MODEL"], "order": "COST_DESC"}
    want = reference(ds, ["MODEL"], "COST_DESC")
    few: dict[str, list[str] | None] = {"requests": None}
    more: dict[str, list[str] | None] = {"requests": None, "cost": None, "cacheReadCost": None,
                                         "responseTime": ["max"]}
    async with app_client(settings, NOW) as client:
        api = Api(client, token_for(live_admin(ds).id, settings))
        for selection in (few, more, few, more):
            got = (await api.query(document(selection), variables))["usage"]
            assert_same(got, project(want, selection, ["MODEL"]), selection_text(selection))
    assert want["totals"]["cost"] > 0 and want["totals"]["cacheReadCost"] > 0
