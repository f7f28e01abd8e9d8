"""The reference checked against figures worked out by hand, and the edge-case dataset checked
for the edge cases it promises. If these fail, the figure tests prove nothing."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from statsgraph.db.engine import make_engine, make_session_factory
from statsgraph.db.models import ApiKey, Provider, RequestCandidate, Usage, User
from tests import reference as ref
from tests.factories import (
    COST_QUANTUM,
    edge_case_dataset,
    insert_dataset,
    make_api_key,
    make_candidate,
    make_provider,
    make_usage,
    make_user,
)

UTC = timezone.utc
SHANGHAI = "Asia/Shanghai"
NEW_YORK = "America/New_York"
NOW = datetime(2026, 3, 10, 15, 30, tzinfo=UTC)
INT32_MAX = 2**31 - 1


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def costs(input_: float = 0.0, output: float = 0.0, cc: float = 0.0, cr: float = 0.0, actual: float | None = None) -> dict:
    total = input_ + output + cc + cr
    return {
        "input_cost_usd": input_, "output_cost_usd": output, "cache_creation_cost_usd": cc,
        "cache_read_cost_usd": cr, "total_cost_usd": total,
        "actual_total_cost_usd": total if actual is None else actual,
    }


# --- a five-row day pair, by hand -----------------------------------------------------------


@pytest.fixture
def five_rows() -> tuple[ref.Dataset, ref.UserRow, ref.UserRow]:
    u1, u2 = make_user(username="u1"), make_user(username="u2")
    ds = ref.Dataset(users=[u1, u2])
    ds.usage = [
        # 23:59:59.999999 on Mar 9 in Shanghai (UTC+8): the last instant of Mar 9.
        make_usage(created_at=utc(2026, 3, 9, 15, 59, 59, 999999), user_id=u1.id, model="m-a",
                   provider_name="openai", input_tokens=100, output_tokens=50,
                   cache_creation_input_tokens=10, cache_read_input_tokens=40, response_time_ms=1000,
                   **costs(0.5, 0.25, 0.125, 0.125, actual=0.75)),
        # Local midnight of Mar 10: the first instant of Mar 10. An error by its status code.
        make_usage(created_at=utc(2026, 3, 9, 16), user_id=u1.id, model="m-a", provider_name="openai",
                   input_tokens=200, output_tokens=0, status_code=500, status="failed",
                   response_time_ms=3000, **costs(0.5)),
        # An error by its message alone; no response time.
        make_usage(created_at=utc(2026, 3, 10, 2), user_id=u1.id, model="m-b", provider_name="anthropic",
                   input_tokens=300, output_tokens=100, cache_read_input_tokens=100, status_code=200,
                   error_message="stream interrupted", status="failed", response_time_ms=None,
                   **costs(1.0, 0.5, 0.0, 0.25)),
        # Still pending: no status code, no message, so not an error.
        make_usage(created_at=utc(2026, 3, 10, 3), user_id=u2.id, model="m-b", provider_name="anthropic",
                   input_tokens=0, output_tokens=0, status_code=None, status="pending",
                   response_time_ms=None, **costs()),
        # A deleted user's row: user_id None; no provider name.
        make_usage(created_at=utc(2026, 3, 10, 4), user_id=None, model="m-c", provider_name=None,
                   input_tokens=10, output_tokens=10, response_time_ms=2000, **costs(0.5, actual=0.25)),
    ]
    return ds, u1, u2


def test_totals_by_hand(five_rows) -> None:  # noqa: ANN001
    ds, u1, _ = five_rows
    got = ref.totals(ds, user_id=None, first_day=date(2026, 3, 9), last_day=date(2026, 3, 10), tz=SHANGHAI)
    assert got == {
        "requests": 5,
        "success_requests": 3,
        "error_requests": 2,  # the 500, and the 200 with a message
        "error_rate": 40.0,  # 2 / 5 * 100
        "input_tokens": 610,  # 100 + 200 + 300 + 0 + 10
        "output_tokens": 160,  # 50 + 0 + 100 + 0 + 10
        "cache_creation_tokens": 10,
        "cache_read_tokens": 140,  # 40 + 100
        "total_tokens": 920,  # 610 + 160 + 10 + 140
        "cache_hit_rate": pytest.approx(140 / 750 * 100),  # read / (input + read)
        "cost": 3.75,  # 1.0 + 0.5 + 1.75 + 0 + 0.5
        "actual_cost": 3.25,  # 0.75 + 0.5 + 1.75 + 0 + 0.25
        "cost_savings": 0.5,
        "cache_creation_cost": 0.125,
        "cache_read_cost": 0.375,  # 0.125 + 0.25
        # Mar 9: mean 1000 ms x 1 request. Mar 10: mean(3000, 2000) = 2500 ms x 4 requests.
        # (1000 + 10000) / 5 = 2200 ms; a flat mean of the three times would say 2000.
        "avg_response_time": pytest.approx(2.2),
        "fallback_count": 0,
    }

    # One user, one day: the 500 and the message, both errors; one time among two rows.
    mine = ref.totals(ds, user_id=u1.id, first_day=date(2026, 3, 10), last_day=date(2026, 3, 10), tz=SHANGHAI)
    assert (mine["requests"], mine["error_requests"], mine["error_rate"]) == (2, 2, 100.0)
    assert mine["avg_response_time"] == pytest.approx(3.0)  # mean(3000) x 2 / 2
    assert mine["total_tokens"] == 200 + 500  # 200 ; 300 + 100 + 100

    # No lower bound: the same five rows; an upper bound of Mar 9 keeps only the first.
    assert ref.totals(ds, user_id=None, first_day=None, last_day=date(2026, 3, 10), tz=SHANGHAI)["requests"] == 5
    assert ref.totals(ds, user_id=None, first_day=None, last_day=date(2026, 3, 9), tz=SHANGHAI)["requests"] == 1

    # Nothing at all: rates and means are 0, not errors.
    empty = ref.totals(ds, user_id=None, first_day=date(2026, 1, 1), last_day=date(2026, 1, 2), tz=SHANGHAI)
    assert empty["requests"] == 0 and empty["error_rate"] == 0.0 and empty["avg_response_time"] == 0.0
    assert empty["cache_hit_rate"] == 0.0

    # The same instants are both Mar 9 in UTC: the business zone decides.
    in_utc = ref.totals(ds, user_id=None, first_day=date(2026, 3, 9), last_day=date(2026, 3, 9), tz="UTC")
    assert in_utc["requests"] == 2


def test_daily_by_hand(five_rows) -> None:  # noqa: ANN001
    ds, _, _ = five_rows
    days = ref.daily(ds, user_id=None, first_day=date(2026, 3, 8), last_day=date(2026, 3, 11), tz=SHANGHAI)
    assert [d["date"] for d in days] == [date(2026, 3, 8), date(2026, 3, 9), date(2026, 3, 10), date(2026, 3, 11)]
    zero = {
        "requests": 0, "error_requests": 0, "input_tokens": 0, "output_tokens": 0,
        "cache_creation_tokens": 0, "cache_read_tokens": 0, "total_tokens": 0, "cost": 0.0,
        "avg_response_time": 0.0, "unique_models": 0, "unique_providers": 0, "fallback_count": 0,
        "model_breakdown": [],
    }
    assert days[0] == {"date": date(2026, 3, 8), **zero}
    assert days[3] == {"date": date(2026, 3, 11), **zero}
    assert days[1] == {
        "date": date(2026, 3, 9), "requests": 1, "error_requests": 0, "input_tokens": 100,
        "output_tokens": 50, "cache_creation_tokens": 10, "cache_read_tokens": 40, "total_tokens": 200,
        "cost": 1.0, "avg_response_time": 1.0, "unique_models": 1, "unique_providers": 1,
        "fallback_count": 0,
        "model_breakdown": [{"model": "m-a", "requests": 1, "total_tokens": 200, "cost": 1.0}],
    }
    assert days[2] == {
        "date": date(2026, 3, 10), "requests": 4, "error_requests": 2,
        "input_tokens": 510,  # 200 + 300 + 0 + 10
        "output_tokens": 110, "cache_creation_tokens": 0, "cache_read_tokens": 100,
        "total_tokens": 720, "cost": 2.75,  # 0.5 + 1.75 + 0 + 0.5
        "avg_response_time": 2.5,  # mean(3000, 2000) ms; the two rows without a time are left out
        "unique_models": 3,
        "unique_providers": 2,  # openai, anthropic; the null name is not a provider
        "fallback_count": 0,
        "model_breakdown": [
            {"model": "m-b", "requests": 2, "total_tokens": 500, "cost": 1.75},
            # a tie at 0.5: by name
            {"model": "m-a", "requests": 1, "total_tokens": 200, "cost": 0.5},
            {"model": "m-c", "requests": 1, "total_tokens": 20, "cost": 0.5},
        ],
    }


def test_model_summary_by_hand(five_rows) -> None:  # noqa: ANN001
    ds, _, _ = five_rows
    got = ref.model_summary(ds, user_id=None, first_day=date(2026, 3, 9), last_day=date(2026, 3, 10), tz=SHANGHAI)
    assert got == [
        # No row of m-b recorded a time: its model-days weigh in at 0.
        {"model": "m-b", "requests": 2, "total_tokens": 500, "cost": 1.75, "avg_response_time": 0.0,
         "cost_per_request": 0.875, "tokens_per_request": 250.0},
        # (1000 x 1 + 3000 x 1) / 2 = 2000 ms
        {"model": "m-a", "requests": 2, "total_tokens": 400, "cost": 1.5, "avg_response_time": 2.0,
         "cost_per_request": 0.75, "tokens_per_request": 200.0},
        {"model": "m-c", "requests": 1, "total_tokens": 20, "cost": 0.5, "avg_response_time": 2.0,
         "cost_per_request": 0.5, "tokens_per_request": 20.0},
    ]


def test_weighted_mean_counts_rows_without_a_time() -> None:
    # Day 1: two rows, times 1000 and none -> mean 1000, weight 2.
    # Day 2: one row, time 4000 -> mean 4000, weight 1.
    # (1000 x 2 + 4000 x 1) / 3 = 2000 ms.
    ds = ref.Dataset(usage=[
        make_usage(created_at=utc(2026, 3, 1, 12), response_time_ms=1000),
        make_usage(created_at=utc(2026, 3, 1, 13), response_time_ms=None),
        make_usage(created_at=utc(2026, 3, 2, 12), response_time_ms=4000),
    ])
    got = ref.totals(ds, user_id=None, first_day=date(2026, 3, 1), last_day=date(2026, 3, 2), tz="UTC")
    assert got["avg_response_time"] == pytest.approx(2.0)


# --- fallbacks across a business-day boundary -----------------------------------------------


def test_fallbacks_straddling_midnight() -> None:
    midnight = utc(2026, 3, 9, 16)  # Mar 10 00:00 in Shanghai
    s, us = timedelta(seconds=1), timedelta(microseconds=1)
    u1, u2 = make_user(username="u1"), make_user(username="u2")
    rows = {name: make_usage(created_at=midnight + at, user_id=u1.id, request_id=name)
            for name, at in (("A", -s), ("B", -2 * s), ("C", s), ("D", 5 * s))}
    ds = ref.Dataset(users=[u1, u2], usage=list(rows.values()))

    def cand(rid: str, at: timedelta, status: str) -> ref.CandidateRow:
        return make_candidate(request_id=rid, created_at=midnight + at, status=status)

    ds.candidates = [
        # A: one counted candidate on each side -> no fallback on either day.
        cand("A", -s, "failed"), cand("A", s, "success"),
        # B: failed, failed a microsecond before midnight, success exactly at it -> Mar 9 has 2.
        cand("B", -2 * s, "failed"), cand("B", -us, "failed"), cand("B", timedelta(0), "success"),
        # C: failed, skipped (not counted), success, all Mar 10 -> 2 on Mar 10.
        cand("C", s, "failed"), cand("C", 2 * s, "skipped"), cand("C", 3 * s, "success"),
        # D: failed and pending: one counted -> no fallback.
        cand("D", 5 * s, "failed"), cand("D", 6 * s, "pending"),
        # E: no usage row -> a fallback of the global scope only (Mar 10).
        cand("E", 10 * s, "success"), cand("E", 11 * s, "failed"),
    ]
    mar9, mar10 = date(2026, 3, 9), date(2026, 3, 10)
    days = ref.daily(ds, user_id=None, first_day=mar9, last_day=mar10, tz=SHANGHAI)
    assert [d["fallback_count"] for d in days] == [1, 2]  # B ; C, E
    mine = ref.daily(ds, user_id=u1.id, first_day=mar9, last_day=mar10, tz=SHANGHAI)
    assert [d["fallback_count"] for d in mine] == [1, 1]  # B ; C
    assert [d["fallback_count"] for d in ref.daily(ds, user_id=u2.id, first_day=mar9, last_day=mar10, tz=SHANGHAI)] == [0, 0]
    # A period's count is the sum of its days' counts.
    assert ref.totals(ds, user_id=None, first_day=mar9, last_day=mar10, tz=SHANGHAI)["fallback_count"] == 3
    assert ref.totals(ds, user_id=u1.id, first_day=mar10, last_day=mar10, tz=SHANGHAI)["fallback_count"] == 1
    # Had the whole span been one day (UTC: everything is Mar 9), A would be a fallback too.
    assert ref.totals(ds, user_id=None, first_day=mar9, last_day=mar9, tz="UTC")["fallback_count"] == 4


# --- daylight saving ------------------------------------------------------------------------


def test_dst_days_are_23_and_25_hours_long() -> None:
    def length(day: date) -> timedelta:
        return ref.day_start(day + timedelta(days=1), NEW_YORK) - ref.day_start(day, NEW_YORK)

    assert ref.day_start(date(2026, 3, 8), NEW_YORK) == utc(2026, 3, 8, 5)  # EST, UTC-5
    assert ref.day_start(date(2026, 3, 9), NEW_YORK) == utc(2026, 3, 9, 4)  # EDT, UTC-4
    assert length(date(2026, 3, 8)) == timedelta(hours=23)
    assert length(date(2025, 11, 2)) == timedelta(hours=25)
    assert length(date(2026, 3, 9)) == timedelta(hours=24)

    ds = ref.Dataset(usage=[
        make_usage(created_at=utc(2026, 3, 8, 4, 59, 59, 999999)),  # Mar 7 23:59:59.999999 EST
        make_usage(created_at=utc(2026, 3, 8, 5)),  # Mar 8 00:00 EST
        make_usage(created_at=utc(2026, 3, 9, 3, 59, 59, 999999)),  # Mar 8 23:59:59.999999 EDT
        # Mar 9 00:30 EDT; "Mar 8 start + 24 h" (05:00 UTC) would wrongly call it Mar 8.
        make_usage(created_at=utc(2026, 3, 9, 4, 30)),
        make_usage(created_at=utc(2025, 11, 2, 5, 30)),  # 01:30 EDT
        make_usage(created_at=utc(2025, 11, 2, 6, 30)),  # 01:30 EST, the same wall time again
        # Nov 2 23:30 EST; "Nov 2 start + 24 h" (04:00 UTC Nov 3) would wrongly call it Nov 3.
        make_usage(created_at=utc(2025, 11, 3, 4, 30)),
        make_usage(created_at=utc(2025, 11, 3, 5)),  # Nov 3 00:00 EST
    ])
    spring = ref.daily(ds, user_id=None, first_day=date(2026, 3, 7), last_day=date(2026, 3, 9), tz=NEW_YORK)
    assert [d["requests"] for d in spring] == [1, 2, 1]
    autumn = ref.daily(ds, user_id=None, first_day=date(2025, 11, 1), last_day=date(2025, 11, 3), tz=NEW_YORK)
    assert [d["requests"] for d in autumn] == [0, 3, 1]


# --- providers, recent requests, counts -----------------------------------------------------


def test_provider_attribution_by_id_then_name() -> None:
    alpha = make_provider(name="alpha", display_name="Alpha")
    beta = make_provider(name="beta", display_name="Beta")
    gamma = make_provider(name="gamma", display_name="Gamma", is_active=False)
    u1, u2 = make_user(username="u1"), make_user(username="u2")
    h = timedelta(hours=1)
    rows = [
        make_usage(created_at=NOW - 1 * h, user_id=u1.id, provider_id=alpha.id, provider_name="alpha"),
        make_usage(created_at=NOW - 2 * h, user_id=u2.id, provider_id=None, provider_name="alpha"),
        # A stale name under beta's id: the id decides.
        make_usage(created_at=NOW - 3 * h, user_id=u2.id, provider_id=beta.id, provider_name="alpha"),
        make_usage(created_at=NOW - 4 * h, user_id=u2.id, provider_id=None, provider_name="nomatch"),
        make_usage(created_at=NOW - 5 * h, user_id=u2.id, provider_id=None, provider_name="gamma"),
        # A microsecond older than the 24-hour window: not counted.
        make_usage(created_at=NOW - 24 * h - timedelta(microseconds=1), user_id=u1.id, provider_id=alpha.id,
                   provider_name="alpha"),
        # Exactly 24 hours old: counted.
        make_usage(created_at=NOW - 24 * h, user_id=u2.id, provider_id=None, provider_name="beta"),
    ]
    ds = ref.Dataset(users=[u1, u2], providers=[gamma, beta, alpha], usage=rows)

    def brief(items: list[dict]) -> list[tuple[str, int]]:
        return [(p["name"], p["requests"]) for p in items]

    # alpha: rows 1, 2; beta: rows 3, 7. A tie: by name. gamma is inactive: not listed.
    assert brief(ref.provider_status(ds, user_id=None, now=NOW, limit=10)) == [("alpha", 2), ("beta", 2)]
    assert brief(ref.provider_status(ds, user_id=None, now=NOW, limit=1)) == [("alpha", 2)]
    assert brief(ref.provider_status(ds, user_id=u1.id, now=NOW, limit=10)) == [("alpha", 1), ("beta", 0)]
    assert brief(ref.provider_status(ds, user_id=u2.id, now=NOW, limit=10)) == [("beta", 2), ("alpha", 1)]
    status = ref.provider_status(ds, user_id=None, now=NOW, limit=1)[0]
    assert status == {"id": alpha.id, "name": "alpha", "display_name": "Alpha", "requests": 2}

    # Recent requests: newest first, the same attribution, inactive providers still named.
    got = ref.recent(ds, user_id=None, limit=10)
    assert [r["id"] for r in got] == [rows[i].id for i in (0, 1, 2, 3, 4, 6, 5)]
    assert [r["provider"] and r["provider"]["name"] for r in got] == [
        "alpha", "alpha", "beta", None, "gamma", "beta", "alpha"
    ]
    assert got[0]["provider"] == {"id": alpha.id, "name": "alpha", "display_name": "Alpha"}
    assert got[0]["user"] == {"id": u1.id, "username": "u1"}
    assert [r["id"] for r in ref.recent(ds, user_id=u1.id, limit=1)] == [rows[0].id]


def test_recent_totals_and_missing_user() -> None:
    u1 = make_user(username="u1")
    row = make_usage(created_at=NOW, user_id=None, input_tokens=7, output_tokens=5,
                     cache_creation_input_tokens=3, cache_read_input_tokens=2, total_cost_usd=0.25)
    got = ref.recent(ref.Dataset(users=[u1], usage=[row]), user_id=None, limit=5)
    assert got[0]["user"] is None
    assert got[0]["total_tokens"] == 17  # 7 + 5 + 3 + 2, unlike the usage.total_tokens column
    assert got[0]["cost"] == 0.25


def test_counts_quota_and_health() -> None:
    admin = make_user(username="root", role="admin")
    zero = make_user(username="zero", quota_usd=0.0, used_usd=5.0)
    some = make_user(username="some", quota_usd=200.0, used_usd=50.0)
    off = make_user(username="off", is_active=False)
    gone = make_user(username="gone", is_deleted=True)  # still flagged active
    keys = [make_api_key(user_id=some.id), make_api_key(user_id=some.id, is_active=False),
            make_api_key(user_id=zero.id), make_api_key(user_id=None)]
    ds = ref.Dataset(users=[admin, zero, some, off, gone], api_keys=keys)

    assert ref.user_counts(ds) == {"total": 4, "active": 3}  # gone is neither; off is not active
    assert ref.api_key_counts(ds, user_id=None) == {"total": 4, "active": 3}
    assert ref.api_key_counts(ds, user_id=some.id) == {"total": 2, "active": 1}
    assert ref.api_key_counts(ds, user_id=off.id) == {"total": 0, "active": 0}
    assert ref.quota(ds, user_id=admin.id) == {"limit_usd": None, "used_usd": 0.0, "used_percent": None}
    assert ref.quota(ds, user_id=zero.id) == {"limit_usd": 0.0, "used_usd": 5.0, "used_percent": 100.0}
    assert ref.quota(ds, user_id=some.id) == {"limit_usd": 200.0, "used_usd": 50.0, "used_percent": 25.0}

    # Today in Shanghai is Mar 10 (it is 23:30 there); the month began Mar 1 local = Feb 28 16:00 UTC.
    ds.usage = [
        make_usage(created_at=utc(2026, 3, 10, 1), user_id=some.id, response_time_ms=1000),
        make_usage(created_at=utc(2026, 3, 10, 2), user_id=some.id, response_time_ms=None),
        make_usage(created_at=utc(2026, 3, 10, 3), user_id=zero.id, status_code=500, response_time_ms=3000),
        make_usage(created_at=utc(2026, 3, 10, 4), user_id=zero.id, error_message="cut", response_time_ms=2000),
        make_usage(created_at=utc(2026, 2, 28, 16), user_id=some.id, status_code=429),  # Mar 1 00:00
        make_usage(created_at=utc(2026, 2, 28, 15, 59, 59, 999999), user_id=some.id, status_code=429),  # Feb
    ]
    # Response time: status 200 with a time, today: 1000 and 2000 (the message does not matter).
    # Month: 5 rows, errors: the 500, the message, the Mar 1 429 -> 3, 60 %.
    assert ref.system_health(ds, user_id=None, now=NOW, tz=SHANGHAI) == {
        "avg_response_time": pytest.approx(1.5), "error_rate": pytest.approx(60.0), "error_requests": 3,
        "fallback_count": 0, "total_requests": 5,
    }
    # some: today 1000 only; month: 3 rows, 1 error.
    assert ref.system_health(ds, user_id=some.id, now=NOW, tz=SHANGHAI) == {
        "avg_response_time": pytest.approx(1.0), "error_rate": pytest.approx(100 / 3), "error_requests": 1,
        "fallback_count": 0, "total_requests": 3,
    }


# --- the edge-case dataset keeps its promises -----------------------------------------------


@pytest.mark.parametrize("tz", [SHANGHAI, NEW_YORK])
def test_edge_case_dataset_has_its_edges(tz: str) -> None:
    ds = edge_case_dataset(now=NOW, tz=tz)
    assert edge_case_dataset(now=NOW, tz=tz) == ds, "deterministic"
    today = ref.business_day(NOW, tz)
    usage = ds.usage
    assert 2000 <= len(usage) <= 6000

    # Instants: aware UTC, unique, none after now.
    instants = [r.created_at for r in usage]
    assert all(t.tzinfo is not None and t.utcoffset() == timedelta(0) for t in instants)
    assert len(set(instants)) == len(instants) and max(instants) <= NOW
    assert len({r.request_id for r in usage}) == len(usage)
    assert all(c.created_at <= NOW for c in ds.candidates)

    # Day boundaries: exact local midnights and a microsecond before; the month's start.
    at = set(instants)
    for day in (today, today - timedelta(days=1), today - timedelta(days=39), today.replace(day=1)):
        start = ref.day_start(day, tz)
        assert start in at and start - timedelta(microseconds=1) in at, day
    assert NOW - timedelta(hours=24) in at and NOW - timedelta(hours=24, microseconds=1) in at
    assert any(ref.business_day(t, tz) == today for t in instants)

    # 32 bits per row, more in the sums (whole set, one user, one day).
    for r in usage:
        assert max(r.input_tokens, r.output_tokens, r.cache_creation_input_tokens, r.cache_read_input_tokens,
                   r.input_tokens + r.output_tokens, ref.row_total_tokens(r)) <= INT32_MAX
    assert sum(r.input_tokens for r in usage) > INT32_MAX
    per_day = Counter()
    for r in usage:
        per_day[ref.business_day(r.created_at, tz)] += ref.row_total_tokens(r)
    assert max(per_day.values()) > INT32_MAX
    heaviest = Counter(r.user_id for r in usage if r.user_id).most_common(1)[0][0]
    assert sum(r.input_tokens for r in usage if r.user_id == heaviest) > INT32_MAX

    # Costs: parts add up, on the 2**-24 grid; some rows have a discounted actual cost.
    for r in usage:
        parts = r.input_cost_usd + r.output_cost_usd + r.cache_creation_cost_usd + r.cache_read_cost_usd
        assert r.total_cost_usd == parts
        for v in (r.total_cost_usd, r.actual_total_cost_usd, r.cache_read_cost_usd):
            assert (v / COST_QUANTUM).is_integer()
    assert any(r.actual_total_cost_usd < r.total_cost_usd for r in usage)
    assert any(r.actual_total_cost_usd == r.total_cost_usd > 0 for r in usage)
    assert any(r.cache_creation_input_tokens and r.cache_creation_cost_usd for r in usage)
    assert any(r.cache_read_input_tokens and r.cache_read_cost_usd for r in usage)

    # Errors of both kinds, unfinished rows, missing times.
    assert any(r.status_code and r.status_code >= 400 and r.error_message is None for r in usage)
    assert any(r.status_code == 200 and r.error_message is not None for r in usage)
    assert any(r.status_code is None and r.error_message is not None for r in usage)
    for status in ("pending", "streaming"):
        assert any(r.status == status and r.status_code is None and r.response_time_ms is None for r in usage)
    assert any(r.status_code == 200 and r.response_time_ms is None for r in usage)

    # Users: admin, heavy tail, inactive, deleted (with rows, and rows that lost the user id), quotas.
    users = {u.username: u for u in ds.users}
    assert users["admin"].role == "admin"
    counts = Counter(r.user_id for r in usage)
    active_users = [u for u in ds.users if u.role == "user" and u.is_active and not u.is_deleted]
    by_traffic = sorted((counts[u.id] for u in active_users), reverse=True)
    assert len(active_users) >= 5 and by_traffic[0] > 3 * by_traffic[len(by_traffic) // 2]
    deleted = [u for u in ds.users if u.is_deleted]
    assert deleted and any(counts[u.id] for u in deleted)
    assert counts[None] > 0
    assert any(not u.is_active and not u.is_deleted for u in ds.users)
    quotas = {u.quota_usd for u in ds.users}
    assert None in quotas and 0.0 in quotas and any(q and q > 0 for q in quotas)
    assert {k.is_active for k in ds.api_keys} == {True, False}

    # Providers: one inactive; rows attributed by name only; names matching no provider.
    names = {p.name for p in ds.providers}
    assert len(ds.providers) == 4 and sum(not p.is_active for p in ds.providers) == 1
    assert any(r.provider_id is None and r.provider_name in names for r in usage)
    assert any(r.provider_name is not None and r.provider_name not in names for r in usage)
    last_24h = ref.provider_status(ds, user_id=None, now=NOW, limit=10)
    assert all(p["requests"] > 0 for p in last_24h)

    # Within a 40-day window: a day with no request, and a day with requests but no time.
    days = ref.daily(ds, user_id=None, first_day=today - timedelta(days=39), last_day=today, tz=tz)
    assert any(d["requests"] == 0 for d in days)
    assert any(d["requests"] > 0 and d["avg_response_time"] == 0 for d in days)
    assert any(len(d["model_breakdown"]) >= 2 and d["model_breakdown"][-1]["cost"] == d["model_breakdown"][-2]["cost"]
               for d in days), "cost ties to break by name"

    # Candidates: 1-4 per request, all statuses, fallbacks whose counted candidates span two days.
    per_request = Counter(c.request_id for c in ds.candidates)
    assert set(per_request.values()) >= {1, 2, 3, 4}
    assert {c.status for c in ds.candidates} == {"success", "failed", "skipped", "pending"}
    spans: dict[str, set[date]] = {}
    for c in ds.candidates:
        if c.status in ("success", "failed"):
            spans.setdefault(c.request_id, set()).add(ref.business_day(c.created_at, tz))
    assert any(len(d) > 1 for d in spans.values())
    assert ref.totals(ds, user_id=None, first_day=None, last_day=today, tz=tz)["fallback_count"] > 0

    if tz == NEW_YORK:
        # Both changes of offset are in the window, with rows where "start + 24 h" goes wrong.
        first = min(ref.business_day(t, tz) for t in instants)
        lengths = {}
        day = first
        while day < today:
            lengths[day] = ref.day_start(day + timedelta(days=1), tz) - ref.day_start(day, tz)
            day += timedelta(days=1)
        short = [d for d, n in lengths.items() if n == timedelta(hours=23)]
        long_ = [d for d, n in lengths.items() if n == timedelta(hours=25)]
        assert short and long_
        for d in short + long_:
            naive_end = ref.day_start(d, tz) + timedelta(hours=24)
            real_end = ref.day_start(d + timedelta(days=1), tz)
            lo, hi = min(naive_end, real_end), max(naive_end, real_end)
            assert any(lo <= t < hi for t in instants), d


async def test_edge_case_dataset_inserts(empty_db: str) -> None:
    ds = edge_case_dataset(now=NOW, tz=NEW_YORK)
    engine = make_engine(empty_db)
    try:
        async with make_session_factory(engine)() as session:
            await insert_dataset(session, ds)
        async with make_session_factory(engine)() as session:
            for model, rows in ((User, ds.users), (Provider, ds.providers), (ApiKey, ds.api_keys),
                                (Usage, ds.usage), (RequestCandidate, ds.candidates)):
                assert await session.scalar(select(func.count()).select_from(model)) == len(rows)
            assert await session.scalar(select(func.sum(Usage.input_tokens))) == sum(r.input_tokens for r in ds.usage)
            assert await session.scalar(select(func.sum(Usage.total_tokens))) == sum(
                r.input_tokens + r.output_tokens for r in ds.usage)
            newest = (await session.scalars(select(Usage).order_by(Usage.created_at.desc()).limit(1))).one()
            assert newest.id == ds.usage[-1].id and newest.created_at == ds.usage[-1].created_at
    finally:
        await engine.dispose()
