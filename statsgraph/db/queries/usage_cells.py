"""A usage report's groups from every source: weekly rollups where they serve, daily ones where
those serve, hourly ones next, raw rows for the rest.

Two statements (the sums of every source, ranked; their histograms when percentiles are asked)
plus one each for the built weeks, the built days and the rolled-up hours, whatever the buckets
and groups."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from ...core.analytics import Dimension, Filter, MeasureFamily, UsageOrder, families_for_order
from ...core.latency import LatencyKind
from ...core.scope import Scope
from .usage_ranking import RankedGroups, ranked_groups
from .usage_report import ReportShape, columns_read, raw_histograms, raw_sums
from .usage_rollups import (
    DAILY,
    HOURLY,
    WEEKLY,
    Window,
    complement,
    days_serve,
    hours_outside,
    merged,
    placed_in,
    rolled_days,
    rolled_hours,
    rolled_weeks,
    rollup_histograms,
    rollup_sums,
    serving_days,
    serving_hours,
    windows_of,
)


async def report_groups(
    session: AsyncSession,
    *,
    scope: Scope,
    flt: Filter,
    dims: Sequence[Dimension],
    edges: Sequence[datetime],
    histograms: frozenset[LatencyKind],
    buckets: bool,
    order: UsageOrder,
    limit: int,
    families: frozenset[MeasureFamily],
) -> RankedGroups:
    """The report's ranked groups, the whole range's and (with `buckets`) each bucket's, with
    the measures of `families` (and what `order` ranks by) summed; the rest are zero."""
    start, end = edges[0], edges[-1]
    weeks: list[Window] = []
    days: list[Window] = []
    if days_serve(scope, flt, dims):
        weeks = serving_days(await rolled_weeks(session, start, end), edges)
        days = serving_days(await rolled_days(session, start, end), edges, taken=weeks)
    hour_starts = serving_hours(await rolled_hours(session, start, end), edges)
    hours = windows_of(hours_outside(hour_starts, [*weeks, *days]))
    raw = complement(start, end, merged([*weeks, *days, *hours]))
    read = columns_read(families | families_for_order(order))
    shape = ReportShape(scope, flt, tuple(dims), tuple(edges), read)
    sums = [raw_sums(shape, raw)]
    hists = raw_histograms(shape, raw, histograms)
    for level, windows in ((WEEKLY, weeks), (DAILY, days), (HOURLY, hours)):
        placed = placed_in(level, windows)
        sums.append(rollup_sums(shape, level, placed))
        hists += rollup_histograms(shape, level, placed, placed_in(level, windows, latency=True), histograms)
    return await ranked_groups(
        session, sums=[s for s in sums if s is not None], histograms=hists, dims=dims,
        buckets=len(edges) - 1 if buckets else None, order=order, limit=limit, read=read,
        shared_buckets=_share_a_bucket([raw, weeks, days, hours], edges),
    )


def _share_a_bucket(sources: Sequence[Sequence[Window]], edges: Sequence[datetime]) -> bool:
    """Whether two sources have cells in one bucket (a day from days, hours and raw rows):
    only then must their cells be added up before ranking."""
    seen: set[int] = set()
    for windows in sources:
        mine = {i for a, b in windows for i in range(bisect_right(edges, a) - 1, bisect_left(edges, b))}
        if mine & seen:
            return True
        seen |= mine
    return False


__all__ = ["report_groups"]
