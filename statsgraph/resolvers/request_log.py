"""The request log: pages of usage rows, newest first, with keyset cursors bound to the query."""

from __future__ import annotations

from dataclasses import dataclass

from ..core import cursor
from ..core.analytics import Filter
from ..core.scope import Scope
from ..db.models import Usage
from ..db.queries.request_log import request_page
from .analytics import RangeArgs, resolve_range, scoped_filter, zone_of
from .context import Context
from .errors import BadUserInput

MAX_FIRST = 100


@dataclass(frozen=True, slots=True)
class Page:
    rows: list[tuple[str, Usage]]  # (cursor, row)
    has_next: bool

    @property
    def end_cursor(self) -> str | None:
        return self.rows[-1][0] if self.rows else None


async def request_log(
    ctx: Context, *, scope: Scope, first: int, after: str | None, flt: Filter, range_args: RangeArgs | None
) -> Page:
    if not 1 <= first <= MAX_FIRST:
        raise BadUserInput(f"first must be between 1 and {MAX_FIRST}", argumentName="first")
    flt = scoped_filter(ctx, scope, flt)
    start = end = None
    if range_args is not None:
        _, tz = zone_of(None, ctx.calendar.tz_name)
        start, end = resolve_range(range_args, tz, ctx.calendar.now())
    # Bound to the arguments, not to the resolved range: "to: now" moves, the query does not.
    binding = cursor.binding_of(scope.key, flt, range_args)
    position = None
    if after is not None:
        try:
            position = cursor.decode(after, binding=binding, key=ctx.cursor_key)
        except cursor.BadCursor:
            raise BadUserInput("Invalid cursor for this query", argumentName="after") from None
    async with ctx.sessions() as session:
        rows = await request_page(
            session, scope=scope, flt=flt, start=start, end=end, after=position, limit=first + 1
        )
    page = [
        (cursor.encode(r.created_at, r.id, binding=binding, key=ctx.cursor_key), r) for r in rows[:first]
    ]
    return Page(page, has_next=len(rows) > first)


__all__ = ["MAX_FIRST", "Page", "request_log"]
