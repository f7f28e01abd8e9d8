"""Which rolled-up days and hours serve a report's buckets, and what is left for raw rows."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from statsgraph.core.analytics import Dimension, Filter
from statsgraph.core.scope import GLOBAL, UserScope
from statsgraph.db.queries.usage_rollups import (
    complement,
    days_serve,
    hours_outside,
    merged,
    serving_days,
    serving_hours,
    windows_of,
)

UTC = timezone.utc
H = timedelta(hours=1)
D = timedelta(days=1)


def at(day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


def shanghai_days(first: int, n: int) -> list[tuple[datetime, datetime]]:
    return [(at(first, 16) + i * D, at(first, 16) + (i + 1) * D) for i in range(n)]


def test_a_day_serves_only_inside_one_bucket_and_the_range() -> None:
    days = shanghai_days(1, 5)
    weekly = [at(1, 16), at(8, 16)]
    assert serving_days(days, weekly) == days
    daily_utc = [at(1) + i * D for i in range(8)]  # UTC midnights cut every Shanghai day
    assert serving_days(days, daily_utc) == []
    # The range's own ends: a day sticking out of it is left out.
    assert serving_days(days, [at(2, 16), at(5, 16)]) == days[1:4]


def test_overlapping_days_of_two_zones_are_never_both_chosen() -> None:
    utc_days = [(at(2), at(3)), (at(3), at(4))]
    mixed = sorted([*shanghai_days(1, 3), *utc_days])
    chosen = serving_days(mixed, [at(1), at(10)])
    assert all(b[0] >= a[1] for a, b in zip(chosen, chosen[1:]))
    assert chosen[0] == (at(1, 16), at(2, 16))


def test_hours_inside_chosen_days_are_not_read_again() -> None:
    days = shanghai_days(1, 2)
    hours = [at(1, 15) + i * H for i in range(50)]
    left = hours_outside(hours, days)
    assert left == [at(1, 15), at(3, 16)]
    covered = merged([*days, *windows_of(left)])
    assert covered == [(at(1, 15), at(3, 17))]
    assert complement(at(1), at(4), covered) == [(at(1), at(1, 15)), (at(3, 17), at(4))]


def test_an_hour_cut_by_a_half_hour_midnight_is_read_raw() -> None:
    kolkata = [at(1, 18, 30), at(2, 18, 30)]
    hours = [at(1, 18), at(1, 19), at(2, 18)]
    assert serving_hours(hours, kolkata) == [at(1, 19)]


def test_days_serve_reports_over_everyone_without_user_or_key() -> None:
    assert days_serve(GLOBAL, Filter(), [Dimension.MODEL, Dimension.PROVIDER])
    assert not days_serve(UserScope("u1"), Filter(), [Dimension.MODEL])
    assert not days_serve(GLOBAL, Filter(), [Dimension.API_KEY])
    assert not days_serve(GLOBAL, Filter(), [Dimension.USER])
    assert not days_serve(GLOBAL, Filter(api_key_ids=("k1",)), [])
    assert not days_serve(GLOBAL, Filter(user_ids=("u1",)), [])
