"""Business days: the calendar of `APP_TIMEZONE`, and UTC windows built from it.

Timestamps are stored in UTC; days, months, "today" and "yesterday" are business-calendar ones.
A business day is the half-open UTC interval between two local midnights, so it lasts 23, 24 or
25 hours in a zone with daylight saving."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

UTC = timezone.utc


@dataclass(frozen=True, slots=True)
class Window:
    """A half-open UTC interval [start, end); `start=None` means since the first row."""

    start: datetime | None
    end: datetime

    def contains(self, instant: datetime) -> bool:
        return (self.start is None or instant >= self.start) and instant < self.end


@dataclass(frozen=True, slots=True)
class Offset:
    """The zone's UTC offset in force from `since` (UTC) until the next Offset."""

    since: datetime | None
    minutes: int


class BusinessCalendar:
    def __init__(self, tz_name: str, clock: Callable[[], datetime] | None = None) -> None:
        self.tz_name = tz_name
        self.tz = ZoneInfo(tz_name)
        self._clock = clock or (lambda: datetime.now(UTC))

    def now(self) -> datetime:
        return self._clock().astimezone(UTC)

    def today(self) -> date:
        return self.date_of(self.now())

    def date_of(self, instant: datetime) -> date:
        return instant.astimezone(self.tz).date()

    def day_start(self, day: date) -> datetime:
        return datetime.combine(day, time.min, tzinfo=self.tz).astimezone(UTC)

    def day_window(self, day: date) -> Window:
        return Window(self.day_start(day), self.day_start(day + timedelta(days=1)))

    def days_window(self, first: date, last: date) -> Window:
        """Business days first..last, both included."""
        return Window(self.day_start(first), self.day_start(last + timedelta(days=1)))

    def today_start(self) -> datetime:
        return self.day_start(self.today())

    def month_start(self) -> date:
        return self.today().replace(day=1)

    def offsets(self, since: datetime | None, until: datetime) -> tuple[Offset, ...]:
        """The zone's offsets between two instants, for SQL that cannot convert zones itself."""
        return _offsets(self.tz_name, _floor_day(since), _floor_day(until) + timedelta(days=2))


def iter_days(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


# Rows older than this get the zone's offset of that instant; no gateway predates it.
_EPOCH = datetime(1990, 1, 1, tzinfo=UTC)


def _floor_day(instant: datetime | None) -> datetime:
    if instant is None or instant < _EPOCH:
        return _EPOCH
    return instant.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


@lru_cache(maxsize=64)
def _offsets(tz_name: str, since: datetime, until: datetime) -> tuple[Offset, ...]:
    tz = ZoneInfo(tz_name)

    def minutes_at(instant: datetime) -> int:
        offset = instant.astimezone(tz).utcoffset()
        assert offset is not None
        return int(offset.total_seconds() // 60)

    found = [Offset(None, minutes_at(since))]
    cursor = since
    step = timedelta(hours=6)
    while cursor < until:
        nxt = cursor + step
        if minutes_at(nxt) != found[-1].minutes:
            # Narrow the change down to the second; transitions fall on whole seconds.
            lo, hi = cursor, nxt
            while hi - lo > timedelta(seconds=1):
                mid = lo + (hi - lo) / 2
                mid = mid.replace(microsecond=0)
                if minutes_at(mid) == found[-1].minutes:
                    lo = mid
                else:
                    hi = mid
            found.append(Offset(hi, minutes_at(hi)))
        cursor = nxt
    return tuple(found)


__all__ = ["UTC", "BusinessCalendar", "Offset", "Window", "iter_days"]
