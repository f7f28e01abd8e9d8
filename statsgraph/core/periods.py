"""The named periods of the dashboard as UTC windows of the request's business calendar."""

from __future__ import annotations

import enum
from datetime import timedelta

from .calendar import BusinessCalendar, Window


class NamedPeriod(enum.Enum):
    ALL_TIME = "allTime"
    TODAY = "today"
    YESTERDAY = "yesterday"
    MONTH = "month"


def window_of(period: NamedPeriod, calendar: BusinessCalendar) -> Window:
    today = calendar.today()
    end = calendar.day_start(today + timedelta(days=1))
    if period is NamedPeriod.TODAY:
        return Window(calendar.day_start(today), end)
    if period is NamedPeriod.YESTERDAY:
        return calendar.day_window(today - timedelta(days=1))
    if period is NamedPeriod.MONTH:
        return Window(calendar.day_start(today.replace(day=1)), end)
    return Window(None, end)


__all__ = ["NamedPeriod", "window_of"]
