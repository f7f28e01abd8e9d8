"""Every cell of a usage report: hourly rollups where they serve, raw rows for the rest.

Four grouped statements at most (rollup sums and histograms, raw sums and histograms) plus one
for the rolled-up hours, whatever the buckets and groups."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from ...core.analytics import Dimension, Filter, Key, Measures
from ...core.scope import Scope
from .usage_report import raw_cells
from .usage_rollups import complement, rolled_hours, rollup_cells, serving_hours, windows_of


async def report_cells(
    session: AsyncSession,
    *,
    scope: Scope,
    flt: Filter,
    dims: Sequence[Dimension],
    edges: Sequence[datetime],
    histograms: bool,
    use_rollups: bool = True,
) -> dict[tuple[int, Key], Measures]:
    start, end = edges[0], edges[-1]
    covered = windows_of(serving_hours(await rolled_hours(session, start, end), edges)) if use_rollups else []
    cells = await raw_cells(
        session, scope=scope, flt=flt, dims=dims, edges=edges, windows=complement(start, end, covered),
        histograms=histograms,
    )
    await rollup_cells(
        session, scope=scope, flt=flt, dims=dims, edges=edges, windows=covered, histograms=histograms, into=cells,
    )
    return cells


__all__ = ["report_cells"]
