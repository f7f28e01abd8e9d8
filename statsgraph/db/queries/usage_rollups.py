"""Usage-report cells from the rollups (as statements `usage_ranking` runs), and which hours,
days and weeks of a report they can serve.

A rolled-up UTC hour, a built day or a built week serves a report when it lies inside the range
and inside one bucket (no bucket edge falls strictly within it: midnights of Asia/Kolkata do, so
those hours are read raw; a day of `APP_TIMEZONE` serves DAY, WEEK and MONTH buckets of that
zone and any range without buckets, a week WEEK buckets, MONTH buckets holding it, and ranges
without buckets). Days and weeks hold no user or API key, so they serve only reports over
everyone's rows that neither group nor filter by those. Everything else of the range is left to
the raw rows."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import ColumnElement, and_, case, false, func, literal_column, select, union_all
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from ...core.analytics import Dimension, Filter
from ...core.latency import LatencyKind
from ...core.scope import Scope, UserScope
from ..rollup_tables import (
    HourlyFallback,
    RollupDay,
    RollupHour,
    RollupWeek,
    UsageDaily,
    UsageDailyLatency,
    UsageHourly,
    UsageHourlyLatency,
    UsageHourlyNames,
    UsageWeekly,
    UsageWeeklyLatency,
)
from .usage_report import ReportShape, bucket_index, float_sum, in_windows, int_sum, measure_columns

HOUR = timedelta(hours=1)
UTC = timezone.utc
Window = tuple[datetime, datetime]


@dataclass(frozen=True)
class Level:
    """One level of rollups: its cell and latency tables and the column each is placed by."""

    cells: Any
    latency: Any
    at: Any
    latency_at: Any
    per_user: bool


HOURLY = Level(UsageHourly, UsageHourlyLatency, UsageHourly.hour, UsageHourlyLatency.hour, per_user=True)
DAILY = Level(UsageDaily, UsageDailyLatency, UsageDaily.day_start, UsageDailyLatency.day_start, per_user=False)
WEEKLY = Level(UsageWeekly, UsageWeeklyLatency, UsageWeekly.week_start, UsageWeeklyLatency.week_start, per_user=False)


async def rolled_hours(session: AsyncSession, start: datetime, end: datetime) -> list[datetime]:
    """Rolled-up hours starting in [start - 1 h, end); none when the tables are missing."""
    # An hour is read with every hourly table: naming the ones added last makes a database that
    # lacks them (not yet through `statsgraph db init`) fail here, and be read raw.
    rolled = select(RollupHour.hour).where(RollupHour.hour >= start - HOUR, RollupHour.hour < end)
    added_last = (select(t.hour).where(false()) for t in (UsageHourlyNames, HourlyFallback))
    try:
        rows = await session.scalars(union_all(rolled, *added_last))
        return sorted(rows)
    except DBAPIError:
        await session.rollback()
        return []


def _inside_one_bucket(a: datetime, b: datetime, edges: Sequence[datetime]) -> bool:
    if a < edges[0] or b > edges[-1]:
        return False
    i = bisect_right(edges, a)  # the first edge after a
    return not (i < len(edges) and edges[i] < b)


def serving_hours(hours: Sequence[datetime], edges: Sequence[datetime]) -> list[datetime]:
    return [h for h in hours if _inside_one_bucket(h, h + HOUR, edges)]


def days_serve(scope: Scope, flt: Filter, dims: Sequence[Dimension]) -> bool:
    """Whether a report may read days, which hold no user and no API key."""
    return (
        not isinstance(scope, UserScope)
        and flt.user_ids is None
        and flt.api_key_ids is None
        and not ({Dimension.USER, Dimension.API_KEY} & set(dims))
    )


def _aware(instant: datetime) -> datetime:
    return instant if instant.tzinfo else instant.replace(tzinfo=UTC)


async def _built(session: AsyncSession, marker: Any, start: datetime, end: datetime) -> list[Window]:
    """Built periods (days or weeks) starting in [start, end), oldest first; none when the
    tables are missing."""
    first, last = marker.__table__.c[0], marker.__table__.c[1]
    try:
        rows = await session.execute(select(first, last).where(first >= start, first < end))
        return sorted((_aware(a), _aware(b)) for a, b in rows)
    except DBAPIError:
        await session.rollback()
        return []


async def rolled_days(session: AsyncSession, start: datetime, end: datetime) -> list[Window]:
    return await _built(session, RollupDay, start, end)


async def rolled_weeks(session: AsyncSession, start: datetime, end: datetime) -> list[Window]:
    return await _built(session, RollupWeek, start, end)


def serving_days(days: Sequence[Window], edges: Sequence[datetime], taken: Sequence[Window] = ()) -> list[Window]:
    """The days (or weeks) inside one bucket each, never two that overlap (days of an earlier
    zone may), none overlapping a span already `taken` (by weeks)."""
    out: list[Window] = []
    for a, b in days:
        if any(x < b and a < y for x, y in taken):
            continue
        if (not out or a >= out[-1][1]) and _inside_one_bucket(a, b, edges):
            out.append((a, b))
    return out


def hours_outside(hours: Sequence[datetime], days: Sequence[Window]) -> list[datetime]:
    """The hours no day in `days` holds (days begin and end on whole UTC hours)."""
    taken = {a + i * HOUR for a, b in days for i in range(int((b - a) / HOUR))}
    return [h for h in hours if h not in taken]


def windows_of(hours: Sequence[datetime]) -> list[Window]:
    return merged([(h, h + HOUR) for h in hours])


def merged(spans: Sequence[Window]) -> list[Window]:
    """Adjacent spans joined, in time order (spans never overlap)."""
    out: list[Window] = []
    for a, b in sorted(spans):
        if out and out[-1][1] == a:
            out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
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


_COLUMN_OF = {
    Dimension.MODEL: "model", Dimension.PROVIDER: "provider_key", Dimension.API_KEY: "api_key_id",
    Dimension.USER: "user_id", Dimension.API_FORMAT: "api_format", Dimension.STREAM: "is_stream",
    Dimension.STATUS_CODE: "status_code",
}


def _dimension(level: Level, dim: Dimension) -> Any:
    t = level.cells
    if dim is Dimension.OUTCOME:
        return case((t.is_error.is_(True), literal_column("'ERROR'")), else_=literal_column("'SUCCESS'"))
    return getattr(t, _COLUMN_OF[dim])


def cell_conditions(level: Level, scope: Scope, flt: Filter) -> list[ColumnElement[bool]]:
    """The level's cells in the scope that the filter keeps."""
    t = level.cells
    out: list[ColumnElement[bool]] = []
    per_user = ((flt.api_key_ids, "api_key_id"), (flt.user_ids, "user_id"))
    if level.per_user and isinstance(scope, UserScope):
        out.append(t.user_id == scope.user_id)
    for values, name in (
        (flt.models, "model"), (flt.provider_ids, "provider_key"), (flt.api_formats, "api_format"),
        (flt.status_codes, "status_code"), *(per_user if level.per_user else ()),
    ):
        if values is not None:
            out.append(getattr(t, name).in_(values))
    if flt.is_stream is not None:
        out.append(t.is_stream.is_(flt.is_stream))
    if flt.error is not None:
        out.append(t.is_error.is_(flt.error))
    return out


def _placed_cells(shape: ReportShape, level: Level,
                  placed: ColumnElement[bool]) -> tuple[list[Any], list[ColumnElement[bool]]]:
    b = bucket_index(level.at, shape.edges, 0, len(shape.edges) - 1).label("b")
    keys = [_dimension(level, d).label(f"d{i}") for i, d in enumerate(shape.dims)]
    return [b, *keys], [placed, *cell_conditions(level, shape.scope, shape.flt)]


def rollup_sums(shape: ReportShape, level: Level, placed: ColumnElement[bool] | None) -> Any | None:
    """A statement of the cells (b, d0…, m0…m15) of `level` whose placing column meets
    `placed`; None when nothing is placed."""
    if placed is None:
        return None
    columns, where = _placed_cells(shape, level, placed)
    inner = select(*columns, level.cells).where(*where).subquery("h")
    c = inner.c
    group_cols = [c.b, *(c[f"d{i}"] for i in range(len(shape.dims)))]
    return select(
        *group_cols,
        *measure_columns((
            int_sum(c.requests), int_sum(case((c.is_error.is_(True), c.requests), else_=0)),
            int_sum(c.input_tokens), int_sum(c.output_tokens), int_sum(c.cache_creation_tokens),
            int_sum(c.cache_read_tokens), float_sum(c.cost), float_sum(c.actual_cost),
            float_sum(c.cache_creation_cost), float_sum(c.cache_read_cost), int_sum(c.response_count),
            int_sum(c.response_sum_ms), func.max(c.response_max_ms), int_sum(c.first_byte_count),
            int_sum(c.first_byte_sum_ms), func.max(c.first_byte_max_ms),
        ), shape.read),
    ).group_by(*group_cols)


def rollup_histograms(
    shape: ReportShape,
    level: Level,
    placed: ColumnElement[bool] | None,
    latency_placed: ColumnElement[bool] | None,
    histograms: frozenset[LatencyKind],
) -> list[Any]:
    """A statement of the latency counts (kind, b, d0…, bucket, n) of the same cells.
    `latency_placed` is `placed` on the latency table's own column: with it the database reads
    only the range's latency rows through their index, instead of joining the whole table."""
    if placed is None or latency_placed is None or not histograms:
        return []
    columns, where = _placed_cells(shape, level, placed)
    H, L = level.cells, level.latency
    inner = (
        select(*columns, L.kind, L.bucket, L.count)
        .select_from(H)
        .join(L, and_(L.cell_id == H.id, L.kind.in_([int(k) for k in histograms])))
        .where(*where, latency_placed)
        .subquery("l")
    )
    hc = inner.c
    group = [hc.kind, hc.b, *(hc[f"d{i}"] for i in range(len(shape.dims))), hc.bucket]
    return [select(*group, func.sum(hc.count).label("n")).group_by(*group)]


def placed_in(level: Level, windows: Sequence[Window], *, latency: bool = False) -> ColumnElement[bool] | None:
    """Hours are placed by their start inside the windows; days and weeks by their exact start,
    since a day of an earlier zone may start inside a window without being one of those chosen.
    With `latency`, the same condition on the latency table's own placing column."""
    if not windows:
        return None
    at = level.latency_at if latency else level.at
    if not level.per_user:
        return at.in_([a for a, _ in windows])
    return in_windows(at, merged(windows))


__all__ = [
    "DAILY", "HOURLY", "WEEKLY", "Level", "cell_conditions", "complement", "days_serve", "hours_outside", "merged", "placed_in",
    "rolled_days", "rolled_hours", "rolled_weeks", "rollup_histograms", "rollup_sums", "serving_days", "serving_hours", "windows_of",
]
