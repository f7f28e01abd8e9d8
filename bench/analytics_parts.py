"""Where a `usage` report's time goes, without HTTP or GraphQL: the database part (the ranked
groups' statements, rows read into groups) and the Python part (the report assembled from them),
for the three reports of `bench/analytics.py`, on a database that script built.

    python bench/analytics_parts.py sqlite+aiosqlite:////tmp/analytics.db --runs 5
    python bench/analytics_parts.py postgresql+asyncpg://…/statsgraph --case p99 --sql > p99.sql

`--sql` writes the statements of one run with their parameters inline, to be run under
`EXPLAIN ANALYZE` (PostgreSQL) or `EXPLAIN QUERY PLAN` (SQLite)."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import event  # noqa: E402

from statsgraph.core.analytics import (  # noqa: E402
    NO_FILTER,
    Dimension,
    Granularity,
    MeasureFamily,
    UsageOrder,
    assemble_report,
    bucket_edges,
)
from statsgraph.core.calendar import BusinessCalendar  # noqa: E402
from statsgraph.core.latency import LatencyKind  # noqa: E402
from statsgraph.core.scope import GLOBAL  # noqa: E402
from statsgraph.db.engine import count_statements, make_engine, make_session_factory  # noqa: E402
from statsgraph.db.queries.usage_cells import report_groups  # noqa: E402

TZ = "Asia/Shanghai"  # the zone bench/analytics.py builds its databases in
CASES = {
    "day": (30, Granularity.DAY, [Dimension.MODEL], frozenset(), frozenset({MeasureFamily.COST, MeasureFamily.TOKENS})),
    "hour": (7, Granularity.HOUR, [Dimension.API_KEY, Dimension.MODEL], frozenset(), frozenset({MeasureFamily.COST})),
    "p99": (90, None, [Dimension.PROVIDER], frozenset({LatencyKind.RESPONSE}), frozenset({MeasureFamily.RESPONSE})),
}


async def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("url")
    p.add_argument("--case", choices=sorted(CASES), action="append")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--limit", type=int, default=20)
    p.add_argument("--sql", action="store_true", help="print one run's statements instead of timing")
    args = p.parse_args()
    engine = make_engine(args.url)
    sessions = make_session_factory(engine)
    calendar = BusinessCalendar(TZ)
    statements: list[str] = []
    if args.sql:
        def capture(conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001, ARG001
            compiled = context.compiled
            if compiled is not None:
                statements.append(str(compiled.statement.compile(
                    dialect=engine.sync_engine.dialect, compile_kwargs={"literal_binds": True})))

        event.listen(engine.sync_engine, "before_cursor_execute", capture)
    for name in args.case or sorted(CASES):
        days, granularity, dims, histograms, families = CASES[name]
        start = calendar.day_start(calendar.today() - timedelta(days=days - 1))
        end = calendar.day_start(calendar.today() + timedelta(days=1))
        edges = bucket_edges(start, end, granularity, ZoneInfo(TZ)) if granularity else [start, end]
        db_ms, py_ms, counts, groups = [], [], set(), 0
        for i in range(1 if args.sql else args.runs + 1):
            async with sessions() as session, count_statements() as counter:
                t0 = time.perf_counter()
                ranked = await report_groups(
                    session, scope=GLOBAL, flt=NO_FILTER, dims=dims, edges=edges, histograms=histograms,
                    buckets=granularity is not None, order=UsageOrder.COST_DESC, limit=args.limit,
                    families=families,
                )
                t1 = time.perf_counter()
                report = assemble_report(ranked.whole, ranked.buckets, edges=edges, time_zone=TZ,
                                         granularity=granularity, dimensions=tuple(dims))
                t2 = time.perf_counter()
            if i:  # the first run opens the connection
                db_ms.append((t1 - t0) * 1000)
                py_ms.append((t2 - t1) * 1000)
            counts.add(counter.count)
            groups = len(report.groups) + sum(len(b.groups) for b in report.buckets)
        if args.sql:
            print(f"-- {name}\n" + ";\n\n".join(statements) + ";\n")
            statements.clear()
        else:
            print(f"{name}: statements and rows into groups {statistics.median(db_ms):.0f} ms, "
                  f"report assembled {statistics.median(py_ms):.1f} ms, {max(counts)} statements, "
                  f"{groups} groups (median of {args.runs})")
    await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
