"""The pure arithmetic of usage reports: calendar units in a zone, limits, a report adding up its ranked groups."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from statsgraph.core.analytics import (
    Dimension,
    Granularity,
    Group,
    Measures,
    RangeError,
    assemble_report,
    bucket_edges,
    check_buckets,
    check_range,
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


def test_a_report_adds_up_its_groups() -> None:
    edges = [datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 2, tzinfo=UTC), datetime(2026, 3, 3, tzinfo=UTC)]
    first = [Group(("a",), Measures(requests=2, cost=1.5)), Group((), Measures(requests=3, cost=0.25), is_other=True)]
    second = [Group(("b",), Measures(requests=4, input_tokens=7))]
    whole = [Group(("b",), Measures(requests=4, input_tokens=7)), Group((), Measures(requests=5, cost=1.75), is_other=True)]
    report = assemble_report(whole, [first, second], edges=edges, time_zone="UTC", granularity=Granularity.DAY,
                             dimensions=(Dimension.MODEL,))
    assert [b.totals.requests for b in report.buckets] == [5, 4]
    assert report.buckets[0].totals.cost == 1.75 and report.buckets[1].totals.input_tokens == 7
    assert report.totals.requests == 9 and report.totals.cost == 1.75
    without = assemble_report(whole, None, edges=edges[::2], time_zone="UTC", granularity=None, dimensions=(Dimension.MODEL,))
    assert without.buckets == [] and without.totals.requests == 9
