"""Usage-report cells from raw `usage` rows: (bucket, group key) → measures, in grouped
statements whose number does not depend on the buckets or groups.

One statement sums every additive figure and the exact latency sums and maxima per (bucket,
key); a second, only when percentiles are asked, counts latency values per (bucket, key, latency
bucket) by the fixed bucket rule. Both are built here and run as parts of a report's two
statements (`usage_ranking`), beside the rollups' parts. Buckets are assigned in SQL by a
binary CASE over the bucket edges, so any edges work (local midnights across DST, half-hour
zones), on SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Float,
    and_,
    case,
    cast,
    false,
    func,
    literal,
    literal_column,
    null,
    or_,
    select,
)
from sqlalchemy.orm import aliased

from ...core.analytics import Dimension, Filter, Key, MeasureFamily, Measures
from ...core.latency import Latency, LatencyKind
from ...core.scope import Scope
from ..latency_sql import bucket_expr
from ..models import Provider, Usage
from ..types import UTCDateTime
from .filters import is_error, usage_in_scope

_OwnerByName = aliased(Provider, name="owner_by_name")


def provider_key() -> ColumnElement[Any]:
    """The provider a row belongs to: its provider_id, else the provider named like it."""
    return func.coalesce(Usage.provider_id, _OwnerByName.id)


def provider_join(stmt: Any) -> Any:
    return stmt.outerjoin(
        _OwnerByName, and_(Usage.provider_id.is_(None), _OwnerByName.name == Usage.provider_name)
    )


def dimension_expr(dim: Dimension) -> Any:
    if dim is Dimension.MODEL:
        return Usage.model
    if dim is Dimension.PROVIDER:
        return provider_key()
    if dim is Dimension.API_KEY:
        return Usage.api_key_id
    if dim is Dimension.USER:
        return Usage.user_id
    if dim is Dimension.API_FORMAT:
        return Usage.api_format
    if dim is Dimension.STREAM:
        return Usage.is_stream
    if dim is Dimension.OUTCOME:
        return case((is_error(), literal_column("'ERROR'")), else_=literal_column("'SUCCESS'"))
    return Usage.status_code


def needs_provider_join(dims: Sequence[Dimension], flt: Filter) -> bool:
    return Dimension.PROVIDER in dims or flt.provider_ids is not None


def filter_conditions(flt: Filter) -> list[ColumnElement[bool]]:
    out: list[ColumnElement[bool]] = []
    if flt.models is not None:
        out.append(Usage.model.in_(flt.models))
    if flt.provider_ids is not None:
        out.append(provider_key().in_(flt.provider_ids))
    if flt.api_key_ids is not None:
        out.append(Usage.api_key_id.in_(flt.api_key_ids))
    if flt.user_ids is not None:
        out.append(Usage.user_id.in_(flt.user_ids))
    if flt.api_formats is not None:
        out.append(Usage.api_format.in_(flt.api_formats))
    if flt.is_stream is not None:
        out.append(Usage.is_stream.is_(flt.is_stream))
    if flt.error is not None:
        # Not `~is_error()`: a null status code makes that NULL, which no row satisfies.
        out.append(case((is_error(), 1), else_=0) == (1 if flt.error else 0))
    if flt.status_codes is not None:
        out.append(Usage.status_code.in_(flt.status_codes))
    return out


def bucket_index(column: Any, edges: Sequence[datetime], lo: int, hi: int) -> ColumnElement[int]:
    """The index of the bucket [edges[i], edges[i+1]) holding `column`, for buckets lo..hi-1,
    as a CASE nested like a binary search (depth log2 of the buckets)."""
    if hi - lo <= 1:
        return literal_column(str(lo))
    mid = (lo + hi) // 2
    return case(
        (column < literal(edges[mid], UTCDateTime()), bucket_index(column, edges, lo, mid)),
        else_=bucket_index(column, edges, mid, hi),
    )


def in_windows(column: Any, windows: Sequence[tuple[datetime, datetime]]) -> ColumnElement[bool]:
    if not windows:
        return false()
    return or_(*(and_(column >= start, column < end) for start, end in windows))


def key_value(dim: Dimension, value: object) -> object:
    """Normalise what the drivers return for a key column."""
    if value is None:
        return None
    if dim is Dimension.STREAM:
        return bool(value)
    if dim is Dimension.STATUS_CODE:
        return int(value)  # type: ignore[call-overload]
    return str(value)


class KeyReader:
    """Reads a report's key from the columns `offset`… of result rows. A report's rows repeat
    few keys many times (one per bucket), so each distinct one is normalised once."""

    def __init__(self, dims: Sequence[Dimension], offset: int) -> None:
        self._dims = tuple(dims)
        self._start, self._stop = offset, offset + len(self._dims)
        self._seen: dict[tuple[object, ...], Key] = {}

    def __call__(self, row: Sequence[object]) -> Key:
        raw = tuple(row[self._start:self._stop])
        key = self._seen.get(raw)
        if key is None:
            key = self._seen[raw] = tuple(key_value(d, v) for d, v in zip(self._dims, raw, strict=True))
        return key


def int_sum(column: Any) -> ColumnElement[int]:
    """A sum as a plain integer: 0 over no rows, and not PostgreSQL's NUMERIC (the sum of a
    BIGINT), so a result row needs no conversion."""
    return cast(func.coalesce(func.sum(column), literal_column("0")), BigInteger)


def float_sum(column: Any) -> ColumnElement[float]:
    """A sum as a float, whatever the column's numeric type (a NUMERIC cost column would
    otherwise come back as Decimal)."""
    return cast(func.coalesce(func.sum(column), literal_column("0.0")), Float)


def measures_of(v: Sequence[Any]) -> Measures:
    """A cell's measures from the sixteen sums raw and rolled-up cells are both read as, typed
    by `int_sum` and `float_sum`: requests, errors, four token sums, four cost sums, then each
    latency's count, sum and max (None without a value). Positional: one call per result row
    of a report, and there can be tens of thousands."""
    return Measures(
        v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9],
        Latency(v[10], v[11], v[12]), Latency(v[13], v[14], v[15]),
    )


# m0 requests, m1 errors, m2…m5 tokens, m6…m9 costs, m10…m15 each latency's count, sum, max.
FLOAT_COLUMNS = frozenset({6, 7, 8, 9})
MAX_COLUMNS = frozenset({12, 15})
_COLUMNS_OF = {
    MeasureFamily.ERRORS: (1,), MeasureFamily.TOKENS: (2, 3, 4, 5), MeasureFamily.COST: (6,),
    MeasureFamily.ACTUAL_COST: (7,), MeasureFamily.CACHE_COSTS: (8, 9),
    MeasureFamily.RESPONSE: (10, 11, 12), MeasureFamily.FIRST_BYTE: (13, 14, 15),
}


def columns_read(families: frozenset[MeasureFamily]) -> frozenset[int]:
    """The sums a report computes for `families` (requests always)."""
    return frozenset({0, *(i for f in families for i in _COLUMNS_OF[f])})


def _unread(i: int) -> ColumnElement[Any]:
    """What stands for a sum not read: typed like the sum, so the parts of a UNION agree on
    PostgreSQL, and what an empty set would give (0, or no maximum)."""
    if i in MAX_COLUMNS:
        return cast(null(), BigInteger)
    if i in FLOAT_COLUMNS:
        return cast(literal_column("0.0"), Float)
    return cast(literal_column("0"), BigInteger)


def measure_columns(sums: Sequence[Any], read: frozenset[int]) -> list[ColumnElement[Any]]:
    """The sixteen sums of a cell (see `measures_of`), labelled m0…m15 so the parts of a
    report from different sources line up in one UNION; those not in `read` are constants,
    which costs the database nothing per row."""
    return [(c if i in read else _unread(i)).label(f"m{i}") for i, c in enumerate(sums)]


@dataclass(frozen=True, slots=True)
class ReportShape:
    """What every source of a report reads alike: whose rows, which of them, grouped by what,
    bucketed by which edges, summing which measures."""

    scope: Scope
    flt: Filter
    dims: tuple[Dimension, ...]
    edges: tuple[datetime, ...]
    read: frozenset[int]  # the sums computed (`columns_read`); the rest are constants


def _raw_rows(shape: ReportShape, windows: Sequence[tuple[datetime, datetime]]) -> Any:
    """The raw rows of the report in `windows`, each with its bucket index and key columns."""
    scope, flt, dims, edges = shape.scope, shape.flt, shape.dims, shape.edges
    b = bucket_index(Usage.created_at, edges, 0, len(edges) - 1).label("b")
    keys = [dimension_expr(d).label(f"d{i}") for i, d in enumerate(dims)]
    inner = select(
        b, *keys,
        case((is_error(), 1), else_=0).label("err"),
        Usage.input_tokens, Usage.output_tokens, Usage.cache_creation_input_tokens,
        Usage.cache_read_input_tokens, Usage.total_cost_usd, Usage.actual_total_cost_usd,
        Usage.cache_creation_cost_usd, Usage.cache_read_cost_usd,
        Usage.response_time_ms, Usage.first_byte_time_ms,
    ).where(usage_in_scope(scope), in_windows(Usage.created_at, windows), *filter_conditions(flt))
    if needs_provider_join(dims, flt):
        inner = provider_join(inner)
    return inner.subquery("u")


def raw_sums(shape: ReportShape, windows: Sequence[tuple[datetime, datetime]]) -> Any | None:
    """A statement of the cells (b, d0…, m0…m15) of the raw rows with created_at in `windows`;
    None when there are no windows."""
    if not windows:
        return None
    sub = _raw_rows(shape, windows)
    group_cols = [sub.c.b, *(sub.c[f"d{i}"] for i in range(len(shape.dims)))]
    return select(
        *group_cols,
        *measure_columns((
            func.count(),
            int_sum(sub.c.err),
            int_sum(sub.c.input_tokens), int_sum(sub.c.output_tokens),
            int_sum(sub.c.cache_creation_input_tokens), int_sum(sub.c.cache_read_input_tokens),
            float_sum(sub.c.total_cost_usd), float_sum(sub.c.actual_total_cost_usd),
            float_sum(sub.c.cache_creation_cost_usd), float_sum(sub.c.cache_read_cost_usd),
            func.count(sub.c.response_time_ms), int_sum(sub.c.response_time_ms),
            func.max(sub.c.response_time_ms),
            func.count(sub.c.first_byte_time_ms), int_sum(sub.c.first_byte_time_ms),
            func.max(sub.c.first_byte_time_ms),
        ), shape.read),
    ).group_by(*group_cols)


def raw_histograms(
    shape: ReportShape, windows: Sequence[tuple[datetime, datetime]], histograms: frozenset[LatencyKind],
) -> list[Any]:
    """Statements of the latency counts (kind, b, d0…, bucket, n) of the same rows, one per
    asked latency."""
    if not windows or not histograms:
        return []
    sub = _raw_rows(shape, windows)
    group_cols = [sub.c.b, *(sub.c[f"d{i}"] for i in range(len(shape.dims)))]
    parts = []
    for kind, column in ((LatencyKind.RESPONSE, sub.c.response_time_ms),
                         (LatencyKind.FIRST_BYTE, sub.c.first_byte_time_ms)):
        if kind in histograms:
            bucket = bucket_expr(column)
            parts.append(
                select(literal_column(str(int(kind))).label("kind"), *group_cols, bucket.label("bucket"),
                       func.count().label("n"))
                .where(column.is_not(None))
                .group_by(*group_cols, bucket)
            )
    return parts


__all__ = [
    "FLOAT_COLUMNS", "MAX_COLUMNS", "KeyReader", "ReportShape", "columns_read", "bucket_index", "dimension_expr", "filter_conditions", "float_sum", "in_windows", "int_sum",
    "key_value", "measure_columns", "measures_of", "needs_provider_join", "provider_join", "provider_key",
    "raw_histograms", "raw_sums",
]
