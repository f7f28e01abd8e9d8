"""Which days are pre-aggregated and which UTC ranges are left for raw rows (no database)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from statsgraph.core.calendar import BusinessCalendar, Window
from statsgraph.db.queries.coverage import aligned_days, covered_in, ranges_of_days, raw_ranges

NY = BusinessCalendar("America/New_York", clock=lambda: datetime(2026, 3, 20, 12, tzinfo=timezone.utc))
UTC = timezone.utc


def test_raw_ranges_are_the_window_minus_the_covered_days() -> None:
    window = NY.days_window(date(2026, 3, 6), date(2026, 3, 10))
    covered = [date(2026, 3, 7), date(2026, 3, 8)]  # 8 March is the 23-hour day
    assert raw_ranges(window, covered, NY) == [
        Window(NY.day_start(date(2026, 3, 6)), NY.day_start(date(2026, 3, 7))),
        Window(NY.day_start(date(2026, 3, 9)), window.end),
    ]
    assert raw_ranges(window, [], NY) == [window]
    every = [date(2026, 3, d) for d in range(6, 11)]
    assert raw_ranges(window, every, NY) == []


def test_an_open_start_keeps_everything_before_the_first_covered_day() -> None:
    window = Window(None, NY.day_start(date(2026, 3, 20)))
    ranges = raw_ranges(window, [date(2026, 3, 1)], NY)
    assert ranges[0] == Window(None, NY.day_start(date(2026, 3, 1)))
    assert ranges[1].start == NY.day_start(date(2026, 3, 2))


def test_covered_in_keeps_only_days_wholly_inside_the_window() -> None:
    window = Window(NY.day_start(date(2026, 3, 7)) + timedelta(hours=1), NY.day_start(date(2026, 3, 10)))
    covered = {date(2026, 3, 7), date(2026, 3, 8), date(2026, 3, 9), date(2026, 3, 10)}
    assert covered_in(window, covered, NY) == [date(2026, 3, 8), date(2026, 3, 9)]


def test_ranges_of_days_merge_adjacent_days_across_a_dst_change() -> None:
    days = [date(2026, 3, 7), date(2026, 3, 8), date(2026, 3, 9), date(2026, 3, 12)]
    ranges = ranges_of_days(days, NY)
    assert ranges == [
        Window(NY.day_start(date(2026, 3, 7)), NY.day_start(date(2026, 3, 10))),
        Window(NY.day_start(date(2026, 3, 12)), NY.day_start(date(2026, 3, 13))),
    ]
    assert ranges[0].end - ranges[0].start == timedelta(hours=71)


def test_only_rows_dated_at_a_business_midnight_count() -> None:
    starts = [
        datetime(2026, 3, 7, 5, tzinfo=UTC),  # midnight EST
        datetime(2026, 3, 9, 4, tzinfo=UTC),  # midnight EDT
        datetime(2026, 3, 10, 16, tzinfo=UTC),  # written under Asia/Shanghai: ignored
    ]
    assert aligned_days(starts, NY) == {date(2026, 3, 7), date(2026, 3, 9)}
