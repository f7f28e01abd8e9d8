"""The pure arithmetic of usage reports: calendar units in a zone, limits, ranking with "other"."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from statsgraph.core.analytics import (
    Granularity,
    Measures,
    RangeError,
    UsageOrder,
    bucket_edges,
    check_buckets,
    check_range,
    sum_measures,
    top_groups,
)

UTC = timezone.utc
NY = ZoneInfo("America/New_York")


def test_a_dst_day_is_one_bucket_of_23_hours() -> None:
    start = datetime(2026, 3, 7, 5, tzinfo=UTC)  # New York midnight, winter time
    edges = bucket_edges(start, datetime(2026, 3, 10, 4, tzinfo=UTC), Granularity.DAY, NY)
    assert [e.isoformat() for e in edges] == [
        "2026-03-07T05:00:00+00:00", "2026-03-08T05:00:00+00:00", "2026-03-09T04:00:00+00:00",
        "2026-03-10T04:00:00+00:00",
    ]
    hours = bucket_edges(datetime(2026, 3, 8, 5, tzinfo=UTC), datetime(2026, 3, 9, 4, tzinfo=UTC), Granularity.HOUR, NY)
    assert len(hours) - 1 == 23
    autumn = bucket_edges(datetime(2025, 11, 2, 4, tzinfo=UTC), datetime(2025, 11, 3, 5, tzinfo=UTC), Granularity.HOUR, NY)
    assert len(autumn) - 1 == 25


def test_half_hour_zone_and_clipped_edges() -> None:
    kolkata = ZoneInfo("Asia/Kolkata")
    start = datetime(2026, 3, 1, 7, 13, tzinfo=UTC)
    edges = bucket_edges(start, datetime(2026, 3, 1, 10, 0, tzinfo=UTC), Granularity.HOUR, kolkata)
    assert [e.strftime("%H:%M") for e in edges] == ["07:13", "07:30", "08:30", "09:30", "10:00"]
    days = bucket_edges(start, datetime(2026, 3, 3, tzinfo=UTC), Granularity.DAY, kolkata)
    assert [e.strftime("%d %H:%M") for e in days] == ["01 07:13", "01 18:30", "02 18:30", "03 00:00"]


def test_weeks_start_monday_and_months_on_the_first() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)  # a Thursday
    weeks = bucket_edges(start, datetime(2026, 2, 1, tzinfo=UTC), Granularity.WEEK, ZoneInfo("UTC"))
    assert all(e.weekday() == 0 for e in weeks[1:-1]) and len(weeks) == 6
    months = bucket_edges(start, datetime(2026, 12, 31, tzinfo=UTC), Granularity.MONTH, ZoneInfo("UTC"))
    assert len(months) - 1 == 12 and all(e.day == 1 for e in months[:-1])


def test_limits() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with pytest.raises(RangeError, match="400 days"):
        check_range(start, start + timedelta(days=401), Granularity.DAY)
    with pytest.raises(RangeError, match="31 days"):
        check_range(start, start + timedelta(days=32), Granularity.HOUR)
    with pytest.raises(RangeError, match="empty"):
        check_range(start, start, None)
    with pytest.raises(RangeError, match="800 buckets"):
        check_buckets([start + timedelta(hours=i) for i in range(802)])


def test_top_groups_ties_by_key_and_the_other_group_adds_up() -> None:
    cells = {(name,): Measures(requests=n, cost=c) for name, n, c in (
        ("b", 5, 1.0), ("a", 2, 1.0), ("c", 9, 0.5), (None, 1, 3.0), ("d", 1, 0.0),
    )}
    got = top_groups(cells, UsageOrder.COST_DESC, 3)
    assert [g.key for g in got] == [(None,), ("a",), ("b",), ()]
    assert got[-1].is_other and got[-1].measures.requests == 10
    assert sum_measures(g.measures for g in got).requests == sum(m.requests for m in cells.values())
    by_key = top_groups(cells, UsageOrder.KEY_ASC, 10)
    assert [g.key for g in by_key] == [("a",), ("b",), ("c",), ("d",), (None,)]
    assert not any(g.is_other for g in by_key)
