"""Every cell of a usage report: daily rollups where they serve, hourly rollups where those
serve, raw rows for the rest.

Six grouped statements at most (sums and histograms of days, of hours and of raw rows) plus one
each for the built days and the rolled-up hours, whatever the buckets and groups."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from ...core.analytics import Dimension, Filter, Key, Measures
from ...core.latency import LatencyKind
from ...core.scope import Scope
from .usage_report import raw_cells
from .usage_rollups import (
    DAILY,
    HOURLY,
    Window,
    complement,
    days_serve,
    hours_outside,
    merged,
    placed_in,
    rolled_days,
    rolled_hours,
    rollup_cells,
    serving_days,
    serving_hours,
    windows_of,
)


async def report_cells(
    session: AsyncSession,
    *,
    scope: Scope,
    flt: Filter,
    dims: Sequence[Dimension],
    edges: Sequence[datetime],
    histograms: frozenset[LatencyKind],
    use_rollups: bool = True,
) -> dict[tuple[int, Key], Measures]:
    start, end = edges[0], edges[-1]
    days: list[Window] = []
    hours: list[Window] = []
    if use_rollups:
        if days_serve(scope, flt, dims):
            days = serving_days(await rolled_days(session, start, end), edges)
        hour_starts = serving_hours(await rolled_hours(session, start, end), edges)
        hours = windows_of(hours_outside(hour_starts, days))
    cells = await raw_cells(
        session, scope=scope, flt=flt, dims=dims, edges=edges, windows=complement(start, end, merged([*days, *hours])),
        histograms=histograms,
    )
    for level, windows in ((DAILY, days), (HOURLY, hours)):
        await rollup_cells(
            session, scope=scope, flt=flt, dims=dims, edges=edges, level=level, placed=placed_in(level, windows),
            histograms=histograms, into=cells,
        )
    return cells


__all__ = ["report_cells"]
