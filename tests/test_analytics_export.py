"""`GET /export/usage.csv`: the same figures and scope as `usage`, one row per bucket × group."""

from __future__ import annotations

import csv
import io

import pytest

from tests import reference_analytics as ref
from tests.conftest import (
    UNPRICED,
    app_client,
    fresh_database_url,
    live_admin,
    load_dataset,
    settings_for,
    token_for,
    utc,
)

NOW = utc(2026, 3, 10, 15, 30)
TZ = "Asia/Shanghai"


@pytest.fixture(scope="module", params=["sqlite"])
async def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    url = fresh_database_url(request.param, request, tmp_path_factory)
    ds = await load_dataset(url, now=NOW, tz=TZ)
    return url, ds


def parse(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


async def test_csv_rows_are_the_reports_buckets_times_groups(world) -> None:  # noqa: ANN001
    url, ds = world
    settings = settings_for(url, tz=TZ, max_query_cost=UNPRICED)
    alice = next(u for u in ds.users if u.username == "alice")
    start = utc(2026, 3, 2, 16)
    end = utc(2026, 3, 9, 16)
    params = {"from": start.isoformat(), "to": end.isoformat(), "granularity": "DAY", "groupBy": "MODEL,PROVIDER",
              "limit": "3", "timeZone": TZ}
    async with app_client(settings, NOW) as client:
        for viewer, scope_user, operator in ((live_admin(ds), None, True), (alice, alice.id, False)):
            headers = {"Authorization": f"Bearer {token_for(viewer.id, settings)}"}
            response = await client.get("/export/usage.csv", params=params, headers=headers)
            assert response.status_code == 200, response.text
            assert response.headers["content-type"].startswith("text/csv")
            rows = parse(response.text)
            want = ref.usage_report(ds, start=start, end=end, granularity="DAY", tz=TZ, group_by=["MODEL", "PROVIDER"],
                                    flt=None, order="COST_DESC", limit=3, user_id=scope_user, operator=operator)
            expected = [(b["start"], g) for b in want["buckets"] for g in b["groups"]]
            assert len(rows) == len(expected)
            for row, (bucket_start, g) in zip(rows, expected):
                assert row["bucket_start"] == bucket_start
                assert row["is_other"] == str(g["isOther"])
                assert row["model"] == (g["key"]["model"] or "")
                assert row["provider_id"] == ((g["key"]["provider"] or {}).get("id") or "")
                assert int(row["requests"]) == g["measures"]["requests"]
                assert float(row["cost"]) == pytest.approx(g["measures"]["cost"], rel=1e-12, abs=1e-12)
                p99 = g["measures"]["responseTime"]["p99"]
                assert row["response_time_p99"] == ("" if p99 is None else str(p99))
            assert ("actual_cost" in rows[0]) == operator

        # Whole range without granularity: one row per group.
        headers = {"Authorization": f"Bearer {token_for(live_admin(ds).id, settings)}"}
        response = await client.get("/export/usage.csv", params={"startDate": "2026-03-01", "groupBy": "OUTCOME"},
                                    headers=headers)
        assert {r["outcome"] for r in parse(response.text)} == {"SUCCESS", "ERROR"}

        # Errors keep their meaning: no token, someone else's scope, a bad argument.
        bad = [
            ({}, {"startDate": "2026-03-01"}, 401),
            ({"Authorization": f"Bearer {token_for(alice.id, settings)}"},
             {"startDate": "2026-03-01", "userId": live_admin(ds).id}, 403),
            (headers, {"startDate": "2026-03-01", "timeZone": "Nowhere/Land"}, 400),
            (headers, {"startDate": "2026-03-01", "limit": "0"}, 400),
        ]
        for h, p, status in bad:
            response = await client.get("/export/usage.csv", params=p, headers=h)
            assert response.status_code == status, (p, response.text)
