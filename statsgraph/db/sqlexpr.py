"""SQL expressions that differ by dialect: the business date of a UTC timestamp."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, case, cast, func, literal_column
from sqlalchemy.sql.elements import ColumnElement, SQLColumnExpression

from ..core.calendar import BusinessCalendar, Window


def _quoted(text: str) -> ColumnElement[str]:
    # Rendered inline rather than bound: the expression appears in SELECT and GROUP BY, and
    # PostgreSQL only matches the two when they are textually equal. Inputs are a validated
    # IANA zone name and our own formatted timestamps, never client text.
    if "'" in text:
        raise ValueError(f"refusing to inline {text!r}")
    return literal_column(f"'{text}'")


def business_date(
    column: SQLColumnExpression[datetime], *, dialect: str, calendar: BusinessCalendar, window: Window
) -> ColumnElement[date]:
    """The business date of `column`, exact across daylight-saving changes.

    PostgreSQL converts zones itself. SQLite cannot, so the zone's offsets over the window
    become a CASE over the transition instants (a few per year, not one per day)."""
    if dialect == "postgresql":
        return cast(func.timezone(_quoted(calendar.tz_name), column), Date)
    offsets = calendar.offsets(window.start, window.end)
    if len(offsets) == 1:
        shift: ColumnElement[str] = _quoted(f"{offsets[0].minutes:+d} minutes")
    else:
        whens = [
            (column < _quoted(nxt.since.strftime("%Y-%m-%d %H:%M:%S.%f")), _quoted(f"{cur.minutes:+d} minutes"))
            for cur, nxt in zip(offsets, offsets[1:])
            if nxt.since is not None
        ]
        shift = case(*whens, else_=_quoted(f"{offsets[-1].minutes:+d} minutes"))
    # SQLite rounds date arithmetic to milliseconds, which would carry 23:59:59.9995+ into the
    # next day; offsets are whole minutes, so dropping the fraction never changes the date.
    return func.date(func.substr(column, 1, 19), shift)


def as_date(value: object) -> date:
    """Normalise what the drivers return for a date column."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


__all__ = ["as_date", "business_date"]
