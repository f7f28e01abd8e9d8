"""Benchmark of `usage` on a generated database (SQLite and PostgreSQL), cold, side by side with
the same figures computed from raw `usage` rows alone (the grouped statements `usage` runs on
raw rows, with the rollups ignored: one GROUP BY for the sums, one for the latency values).

    python bench/analytics.py --requests 1000000 --sqlite /tmp/analytics.db --start-postgres

`usage` is measured over HTTP (ASGI) on one server after a warm-up request, with its field cache
off (`TTL_ANALYTICS` 0), so each run reads the database ("cold" in the sense of the issue). The raw side runs the
same statements directly on a session, without HTTP."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from statsgraph.core.analytics import NO_FILTER, Dimension, Granularity, MeasureFamily, bucket_edges  # noqa: E402
from statsgraph.core.calendar import BusinessCalendar  # noqa: E402
from statsgraph.core.latency import LatencyKind  # noqa: E402
from statsgraph.core.scope import GLOBAL  # noqa: E402
from statsgraph.db.aggregator import aggregate, serialise_sqlite_writers  # noqa: E402
from statsgraph.db.engine import count_statements, make_engine, make_session_factory  # noqa: E402
from statsgraph.db.queries.usage_report import ReportShape, columns_read, raw_histograms, raw_sums  # noqa: E402
from statsgraph.db.setup import init_database  # noqa: E402
from statsgraph.demo.generator import generate_demo  # noqa: E402
from statsgraph.server.app import create_app  # noqa: E402
from statsgraph.server.auth import mint_token  # noqa: E402
from statsgraph.server.runtime import make_runtime  # noqa: E402
from statsgraph.server.settings import Settings, normalize_database_url  # noqa: E402

TZ = "Asia/Shanghai"
UTC = timezone.utc

F = MeasureFamily
# name, days back, granularity, groupBy, measures asked, the sums those need (the raw side
# computes the same ones)
CASES = [
    ("last 30 days, DAY, groupBy [MODEL]", 30, "DAY", ["MODEL"], "requests cost totalTokens", {F.COST, F.TOKENS}),
    ("7 days, HOUR, groupBy [API_KEY, MODEL]", 7, "HOUR", ["API_KEY", "MODEL"], "requests cost", {F.COST}),
    ("90 days, groupBy [PROVIDER], p99", 90, None, ["PROVIDER"], "requests responseTime { p99 }", {F.RESPONSE}),
]


def document(granularity: str | None, group_by: list[str], measures: str) -> str:
    g = f", granularity: {granularity}" if granularity else ""
    by = ", ".join(group_by)
    return (
        "query($start: Date!) { usage(range: {startDate: $start}%s, groupBy: [%s]) {"
        " totals { %s } groups { key { model provider { id } apiKey { id } } measures { %s } }"
        " buckets { start groups { measures { %s } } } } }" % (g, by, measures, measures, measures)
    )


async def build(url: str, requests: int, days: int) -> float:
    engine = make_engine(url)
    await init_database(engine)
    await generate_demo(engine, requests=requests, days=days, tz=TZ)
    if engine.dialect.name == "sqlite":
        serialise_sqlite_writers(engine)
    started = time.perf_counter()
    await aggregate(engine, calendar=BusinessCalendar(TZ), backfill_days=400)
    elapsed = time.perf_counter() - started
    await engine.dispose()
    return elapsed


async def admin_id(url: str) -> str:
    from sqlalchemy import select

    from statsgraph.db.models import User

    engine = make_engine(url)
    async with engine.connect() as conn:
        uid = (await conn.execute(select(User.id).where(User.role == "admin").limit(1))).scalar_one()
    await engine.dispose()
    return str(uid)


async def measure_usage(url: str, viewer: str, query: str, start: str, runs: int) -> tuple[float, int, int]:
    """Median over `runs` requests to one server after a warm-up request (connections open,
    document parsed); `usage` has no field cache, so every request reads the database."""
    # The cost limit is lifted: the hourly report by key and model is over it by default, and its
    # time is what is measured. No field cache: every run reads the database.
    settings = Settings(
        database_url=url, jwt_secret_key="bench-secret-0123456789abcdef012345", app_timezone=TZ, max_query_cost=10**9,
        ttl_analytics=0,
    )
    token = mint_token(viewer, settings=settings)
    times, counts, requests = [], set(), 0
    runtime = make_runtime(settings)
    app = create_app(settings, runtime=runtime)
    headers = {"Authorization": f"Bearer {token}"}
    payload = {"query": query, "variables": {"start": start}}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
        await client.post("/graphql", json=payload, headers=headers)
        for _ in range(runs):
            async with count_statements() as counter:
                t = time.perf_counter()
                r = await client.post("/graphql", json=payload, headers=headers)
                times.append(time.perf_counter() - t)
            body = r.json()
            if body.get("errors"):
                raise RuntimeError(body["errors"])
            requests = body["data"]["usage"]["totals"]["requests"]
            counts.add(counter.count - 1)
    await app.state.lane.close(timeout=10)
    await runtime.engine.dispose()
    return statistics.median(times) * 1000, max(counts), requests


async def measure_naive(
    url: str, edges: list[datetime], dims: list[str], histograms: frozenset[LatencyKind],
    families: frozenset[MeasureFamily], runs: int,
) -> tuple[float, int, int]:
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    times, count, requests = [], 0, 0
    shape = ReportShape(GLOBAL, NO_FILTER, tuple(Dimension[d] for d in dims), tuple(edges), columns_read(families))
    everything = [(edges[0], edges[-1])]
    for i in range(runs + 1):
        async with sessions() as session, count_statements() as counter:
            t = time.perf_counter()
            # Every (bucket, key) cell and, for percentiles, every latency count fetched: what a
            # client of a plain GROUP BY gets before it ranks anything.
            cells = (await session.execute(raw_sums(shape, everything))).all()
            for statement in raw_histograms(shape, everything, histograms):
                (await session.execute(statement)).all()
            if i:  # the first run opens the connection
                times.append(time.perf_counter() - t)
            count = counter.count
        requests = sum(row.m0 for row in cells)
    await engine.dispose()
    return statistics.median(times) * 1000, count, requests


async def bench(label: str, url: str, args: argparse.Namespace) -> list[str]:
    if not args.reuse:
        print(f"[{label}] generating {args.requests:,} requests over {args.days} days", file=sys.stderr)
        seconds = await build(url, args.requests, args.days)
        print(f"[{label}] aggregate + hourly rollup backfill: {seconds:.1f} s", file=sys.stderr)
    viewer = await admin_id(url)
    cal = BusinessCalendar(TZ)
    tz = ZoneInfo(TZ)
    rows = []
    for name, days, granularity, group_by, measures, families in CASES:
        first = cal.today() - timedelta(days=days - 1)
        start = cal.day_start(first)
        end = cal.day_start(cal.today() + timedelta(days=1))
        edges = bucket_edges(start, end, Granularity[granularity], tz) if granularity else [start, end]
        ms, stmts, n = await measure_usage(url, viewer, document(granularity, group_by, measures), first.isoformat(), args.runs)
        naive_ms, naive_stmts, naive_n = await measure_naive(
            url, edges, group_by, frozenset({LatencyKind.RESPONSE}) if "p99" in measures else frozenset(),
            frozenset(families), args.runs,
        )
        if n != naive_n:
            raise RuntimeError(f"{name}: usage says {n} requests, raw rows {naive_n}")
        rows.append(
            f"| {label} | {name} | {ms:.0f} ms | {stmts} | {naive_ms:.0f} ms | {naive_stmts} | {ms / naive_ms:.2f} |"
        )
    return rows


async def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--requests", type=int, default=1_000_000)
    p.add_argument("--days", type=int, default=90)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--sqlite", help="SQLite file to build (or reuse with --reuse)")
    p.add_argument("--postgres-url", help="an empty PostgreSQL database")
    p.add_argument("--start-postgres", action="store_true", help="start a throwaway server")
    p.add_argument("--reuse", action="store_true", help="databases are already generated")
    args = p.parse_args()

    rows = [
        "| database | usage query | usage (rollups) | statements | raw GROUP BY | statements | ratio |",
        "|---|---|---|---|---|---|---|",
    ]
    if args.sqlite:
        path = Path(args.sqlite).resolve()
        if not args.reuse and path.exists():
            path.unlink()
        rows += await bench("SQLite", f"sqlite+aiosqlite:///{path}", args)
    server = None
    url = normalize_database_url(args.postgres_url) if args.postgres_url else None
    if args.start_postgres:
        from tests.servers import PostgresServer

        server = PostgresServer()
        server.start()
        url = server.url
    try:
        if url:
            rows += await bench("PostgreSQL", url, args)
    finally:
        if server is not None:
            server.stop()
    print(f"\n{args.requests:,} requests over {args.days} days; median of {args.runs} cold runs "
          f"({datetime.now(UTC):%Y-%m-%d})\n")
    print("\n".join(rows))


if __name__ == "__main__":
    asyncio.run(main())
