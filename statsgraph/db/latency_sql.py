"""The latency bucket of a column, computed by the database.

Grouping rows by bucket in SQL rather than by value returns one row per bucket instead of one per
distinct millisecond (for an hour of 100,000 requests, a few thousand rows instead of about
100,000). The expression is built from `core.latency`'s edges, so it cannot disagree with
`bucket_of`: a search tree of comparisons, about ten per value, with every edge rendered inline
(PostgreSQL matches a GROUP BY expression to its SELECT by text, and hundreds of bound
parameters would crowd SQLite's limit)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sqlalchemy import case, literal_column
from sqlalchemy.sql.elements import ColumnElement

from ..core.latency import LINEAR_MAX, upper_edge

# Latencies are 32-bit integer columns: the edges go as far as the largest such value.
_LARGEST_MS = 2**31 - 1


@lru_cache(maxsize=1)
def _last_bucket() -> int:
    i = 0
    while upper_edge(i) < _LARGEST_MS:
        i += 1
    return i


def _search(column: Any, lo: int, hi: int) -> Any:
    # Values here lie above U(lo - 1) and at most U(hi): bucket i holds (U(i-1), U(i)].
    if lo == hi:
        return literal_column(str(LINEAR_MAX + lo))
    mid = (lo + hi) // 2
    return case(
        (column <= literal_column(str(upper_edge(mid))), _search(column, lo, mid)),
        else_=_search(column, mid + 1, hi),
    )


def bucket_expr(column: Any) -> ColumnElement[int]:
    """The bucket id of `column` (integer milliseconds), as `core.latency.bucket_of` gives it."""
    return case(
        (column <= literal_column(str(LINEAR_MAX)), column),
        else_=_search(column, 1, _last_bucket()),
    )


__all__ = ["bucket_expr"]
