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

from sqlalchemy import Integer
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import coercions, roles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal

from ..core.latency import LINEAR_MAX, upper_edge

# Latencies are 32-bit integer columns: the edges go as far as the largest such value.
_LARGEST_MS = 2**31 - 1
# Where the compiled column goes in the template.
_COLUMN = "\x00"


@lru_cache(maxsize=1)
def _last_bucket() -> int:
    i = 0
    while upper_edge(i) < _LARGEST_MS:
        i += 1
    return i


def _search(lo: int, hi: int) -> str:
    # Values here lie above U(lo - 1) and at most U(hi): bucket i holds (U(i-1), U(i)].
    if lo == hi:
        return str(LINEAR_MAX + lo)
    mid = (lo + hi) // 2
    return f"CASE WHEN {_COLUMN} <= {upper_edge(mid)} THEN {_search(lo, mid)} ELSE {_search(mid + 1, hi)} END"


@lru_cache(maxsize=1)
def _template() -> str:
    return f"CASE WHEN {_COLUMN} <= {LINEAR_MAX} THEN {_COLUMN} ELSE {_search(1, _last_bucket())} END"


class LatencyBucket(ColumnElement[int]):
    """The bucket id of a latency column. One element rather than a tree of about 850 CASE
    nodes: the statement's cache key then depends only on the column, so building and caching
    a statement that groups by bucket costs what any other one does."""

    __visit_name__ = "latency_bucket"
    inherit_cache = True
    _traverse_internals = [("column", InternalTraversal.dp_clauseelement)]
    type = Integer()

    def __init__(self, column: Any) -> None:
        self.column = coercions.expect(roles.ExpressionElementRole, column)


@compiles(LatencyBucket)
def _compile_bucket(element: LatencyBucket, compiler: SQLCompiler, **kw: Any) -> str:
    return _template().replace(_COLUMN, compiler.process(element.column, **kw))


def bucket_expr(column: Any) -> ColumnElement[int]:
    """The bucket id of `column` (integer milliseconds), as `core.latency.bucket_of` gives it."""
    return LatencyBucket(column)


__all__ = ["bucket_expr"]
