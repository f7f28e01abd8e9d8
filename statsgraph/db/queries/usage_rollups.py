"""Usage-report cells from the hourly rollups, and which hours of a report they can serve.

A rolled-up UTC hour serves a report when it lies inside the range and inside one bucket (no
bucket edge falls strictly within it: midnights of Asia/Kolkata do, so those hours are read
raw). Everything else of the range is left to the raw rows."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, case, func, literal_column, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from ...core.analytics import Dimension, Filter, Key, Measures
from ...core.scope import Scope, UserScope
from ..rollup_tables import RollupHour, UsageHourly, UsageHourlyLatency
from .usage_report import bucket_index, in_windows, key_value

HOUR = timedelta(hours=1)
H = UsageHourly


async def rolled_hours(session: AsyncSession, start: datetime, end: datetime) -> list[datetime]:
    """Rolled-up hours starting in [start - 1 h, end); none when the tables are missing."""
    try:
        rows = await session.scalars(
            select(RollupHour.hour).where(RollupHour.hour >= start - HOUR, RollupHour.hour < end)
        )
        return sorted(rows)
    except DBAPIError:
        await session.rollback()
        return []


def serving_hours(hours: Sequence[datetime], edges: Sequence[datetime]) -> list[datetime]:
    start, end = edges[0], edges[-1]
    out = []
    for h in hours:
        if h < start or h + HOUR > end:
            continue
        i = bisect_right(edges, h)  # the first edge after h
        if i < len(edges) and edges[i] < h + HOUR:
            continue
        out.append(h)
    return out


def windows_of(hours: Sequence[datetime]) -> list[tuple[datetime, datetime]]:
    out: list[tuple[datetime, datetime]] = []
    for h in hours:
        if out and out[-1][1] == h:
            out[-1] = (out[-1][0], h + HOUR)
        else:
            out.append((h, h + HOUR))
    return out


def complement(start: datetime, end: datetime, covered: Sequence[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    out = []
    cursor = start
    for a, b in covered:
        if a > cursor:
            out.append((cursor, a))
        cursor = max(cursor, b)
    if cursor < end:
        out.append((cursor, end))
    return out


def _dimension(dim: Dimension) -> Any:
    if dim is Dimension.MODEL:
        return H.model
    if dim is Dimension.PROVIDER:
        return H.provider_key
    if dim is Dimension.API_KEY:
        return H.api_key_id
    if dim is Dimension.USER:
        return H.user_id
    if dim is Dimension.API_FORMAT:
        return H.api_format
    if dim is Dimension.STREAM:
        return H.is_stream
    if dim is Dimension.OUTCOME:
        return case((H.is_error.is_(True), literal_column("'ERROR'")), else_=literal_column("'SUCCESS'"))
    return H.status_code


def _conditions(scope: Scope, flt: Filter) -> list[ColumnElement[bool]]:
    out: list[ColumnElement[bool]] = []
    if isinstance(scope, UserScope):
        out.append(H.user_id == scope.user_id)
    for values, column in (
        (flt.models, H.model), (flt.provider_ids, H.provider_key), (flt.api_key_ids, H.api_key_id),
        (flt.user_ids, H.user_id), (flt.api_formats, H.api_format), (flt.status_codes, H.status_code),
    ):
        if values is not None:
            out.append(column.in_(values))
    if flt.is_stream is not None:
        out.append(H.is_stream.is_(flt.is_stream))
    if flt.error is not None:
        out.append(H.is_error.is_(flt.error))
    return out


async def rollup_cells(
    session: AsyncSession,
    *,
    scope: Scope,
    flt: Filter,
    dims: Sequence[Dimension],
    edges: Sequence[datetime],
    windows: Sequence[tuple[datetime, datetime]],
    histograms: bool,
    into: dict[tuple[int, Key], Measures],
) -> None:
    """Add the rollup cells of the hours in `windows` to `into`."""
    if not windows:
        return
    b = bucket_index(H.hour, edges, 0, len(edges) - 1).label("b")
    keys = [_dimension(d).label(f"d{i}") for i, d in enumerate(dims)]
    where = [in_windows(H.hour, windows), *_conditions(scope, flt)]
    inner = select(b, *keys, H).where(*where).subquery("h")
    group_cols = [inner.c.b, *(inner.c[f"d{i}"] for i in range(len(dims)))]
    c = inner.c
    stmt = select(
        *group_cols, func.sum(c.requests), func.sum(case((c.is_error.is_(True), c.requests), else_=0)),
        func.sum(c.input_tokens), func.sum(c.output_tokens), func.sum(c.cache_creation_tokens),
        func.sum(c.cache_read_tokens), func.sum(c.cost), func.sum(c.actual_cost), func.sum(c.cache_creation_cost),
        func.sum(c.cache_read_cost), func.sum(c.response_count), func.sum(c.response_sum_ms),
        func.max(c.response_max_ms), func.sum(c.first_byte_count), func.sum(c.first_byte_sum_ms),
        func.max(c.first_byte_max_ms),
    ).group_by(*group_cols)
    n = len(dims)
    for row in await session.execute(stmt):
        key = tuple(key_value(d, row[1 + i]) for i, d in enumerate(dims))
        v = row[1 + n:]
        m = Measures(
            requests=int(v[0] or 0), error_requests=int(v[1] or 0), input_tokens=int(v[2] or 0),
            output_tokens=int(v[3] or 0), cache_creation_tokens=int(v[4] or 0), cache_read_tokens=int(v[5] or 0),
            cost=float(v[6] or 0), actual_cost=float(v[7] or 0), cache_creation_cost=float(v[8] or 0),
            cache_read_cost=float(v[9] or 0),
        )
        m.response.add_sums(int(v[10] or 0), float(v[11] or 0), None if v[12] is None else float(v[12]))
        m.first_byte.add_sums(int(v[13] or 0), float(v[14] or 0), None if v[15] is None else float(v[15]))
        into.setdefault((int(row[0]), key), Measures()).add(m)
    if not histograms:
        return
    L = UsageHourlyLatency
    hist_inner = (
        select(b, *keys, L.kind, L.bucket, L.count)
        .select_from(H)
        .join(L, L.cell_id == H.id)
        .where(*where)
        .subquery("l")
    )
    hc = hist_inner.c
    hist_group = [hc.b, *(hc[f"d{i}"] for i in range(n)), hc.kind, hc.bucket]
    for row in await session.execute(select(*hist_group, func.sum(hc.count)).group_by(*hist_group)):
        key = tuple(key_value(d, row[1 + i]) for i, d in enumerate(dims))
        cell = into.setdefault((int(row[0]), key), Measures())
        latency = cell.response if int(row[1 + n]) == 0 else cell.first_byte
        latency.add_buckets({int(row[2 + n]): int(row[3 + n])})


__all__ = ["complement", "rolled_hours", "rollup_cells", "serving_hours", "windows_of"]
