"""Business days in zones with daylight saving and half-hour offsets (no database)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from statsgraph.core.calendar import BusinessCalendar, iter_days
from statsgraph.core.periods import NamedPeriod, window_of

UTC = timezone.utc


def test_days_last_23_24_or_25_hours() -> None:
    ny = BusinessCalendar("America/New_York")
    lengths = {d: ny.day_window(d).end - ny.day_window(d).start for d in (date(2026, 3, 8), date(2026, 3, 9),
                                                                             date(2026, 11, 1))}
    assert lengths == {date(2026, 3, 8): timedelta(hours=23), date(2026, 3, 9): timedelta(hours=24),
                       date(2026, 11, 1): timedelta(hours=25)}


def test_a_microsecond_before_midnight_belongs_to_the_day_before() -> None:
    kolkata = BusinessCalendar("Asia/Kolkata")
    midnight = kolkata.day_start(date(2026, 5, 2))
    assert midnight == datetime(2026, 5, 1, 18, 30, tzinfo=UTC)
    assert kolkata.date_of(midnight) == date(2026, 5, 2)
    assert kolkata.date_of(midnight - timedelta(microseconds=1)) == date(2026, 5, 1)


def test_named_periods_follow_the_injected_clock() -> None:
    now = datetime(2026, 3, 1, 3, tzinfo=UTC)  # 1 March in Shanghai, 28 February in New York
    sh = BusinessCalendar("Asia/Shanghai", clock=lambda: now)
    ny = BusinessCalendar("America/New_York", clock=lambda: now)
    assert sh.today() == date(2026, 3, 1) and ny.today() == date(2026, 2, 28)
    month = window_of(NamedPeriod.MONTH, ny)
    assert month.start == ny.day_start(date(2026, 2, 1)) and month.end == ny.day_start(date(2026, 3, 1))
    assert window_of(NamedPeriod.YESTERDAY, sh) == sh.day_window(date(2026, 2, 28))
    assert window_of(NamedPeriod.ALL_TIME, sh).start is None
    assert list(iter_days(date(2026, 2, 27), date(2026, 3, 1))) == [
        date(2026, 2, 27), date(2026, 2, 28), date(2026, 3, 1)]


def test_offsets_list_each_transition_once() -> None:
    ny = BusinessCalendar("America/New_York")
    offsets = ny.offsets(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 12, 31, tzinfo=UTC))
    assert [o.minutes for o in offsets] == [-300, -240, -300]
    assert offsets[1].since == datetime(2026, 3, 8, 7, tzinfo=UTC)
