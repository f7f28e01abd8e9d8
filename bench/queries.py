"""Benchmark: backfill time, and per query median time and SQL statements, on a large
generated database (SQLite and PostgreSQL).

    python bench/queries.py --requests 1000000 --sqlite /tmp/bench.db --postgres-url postgresql://...
    python bench/queries.py --requests 1000000 --start-postgres   # throwaway server (tests/servers.py)

Every measurement uses a fresh server runtime (cold field cache), so the figures are those of
the database work, not of the cache."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from statsgraph.core.calendar import BusinessCalendar  # noqa: E402
from statsgraph.db.aggregator import aggregate, serialise_sqlite_writers  # noqa: E402
from statsgraph.db.engine import count_statements, make_engine  # noqa: E402
from statsgraph.db.setup import init_database  # noqa: E402
from statsgraph.demo.generator import generate_demo  # noqa: E402
from statsgraph.server.app import create_app  # noqa: E402
from statsgraph.server.auth import mint_token  # noqa: E402
from statsgraph.server.progress import progress_bar  # noqa: E402
from statsgraph.server.runtime import make_runtime  # noqa: E402
from statsgraph.server.settings import Settings, normalize_database_url  # noqa: E402

TZ = "Asia/Shanghai"
TOTALS = "requests errorRate totalTokens cacheHitRate cost actualCost avgResponseTime fallbackCount"
QUERIES = {
    "dashboardStats (all fields)": (
        "{ dashboardStats { allTime { %s } today { %s } yesterday { %s } month { %s } apiKeys { total active } "
        "quota { limitUsd usedPercent } } }" % (TOTALS, TOTALS, TOTALS, TOTALS)
    ),
    "dashboardStats.today.requests": "{ dashboardStats { today { requests } } }",
    "dashboardStats.allTime": "{ dashboardStats { allTime { %s } } }" % TOTALS,
    "dailyStats(days: 7)": "{ dailyStats(days: 7) { days { date requests cost avgResponseTime modelBreakdown { model cost } } modelSummary { model cost } } }",
    "dailyStats(days: 90)": "{ dailyStats(days: 90) { days { date requests cost avgResponseTime modelBreakdown { model cost } } modelSummary { model cost } } }",
    "recentRequests(limit: 100)": "{ recentRequests(limit: 100) { id model user { username } provider { name } } }",
    "providerStatus": "{ providerStatus { name requests } }",
}
ADMIN_ONLY = "{ dashboardStats { users { total active } systemHealth { avgResponseTime errorRate fallbackCount } } }"


async def build(url: str, requests: int, days: int) -> None:
    engine = make_engine(url)
    await init_database(engine)
    await generate_demo(engine, requests=requests, days=days, tz=TZ, progress=progress_bar("generating"))
    await engine.dispose()


async def backfill(url: str) -> float:
    engine = make_engine(url)
    await init_database(engine)  # tables added since the database was generated
    if engine.dialect.name == "sqlite":
        serialise_sqlite_writers(engine)
    started = time.perf_counter()
    await aggregate(engine, calendar=BusinessCalendar(TZ), backfill_days=400, progress=progress_bar("backfill", unit="days"))
    elapsed = time.perf_counter() - started
    await engine.dispose()
    return elapsed


async def heavy_user(url: str) -> tuple[str, str, int]:
    from sqlalchemy import func, select

    from statsgraph.db.models import Usage, User

    engine = make_engine(url)
    async with engine.connect() as conn:
        admin = (await conn.execute(select(User.id).where(User.role == "admin").limit(1))).scalar_one()
        uid, n = (
            await conn.execute(
                select(Usage.user_id, func.count()).where(Usage.user_id.is_not(None))
                .group_by(Usage.user_id).order_by(func.count().desc()).limit(1)
            )
        ).one()
    await engine.dispose()
    return admin, uid, n


async def measure(url: str, viewer: str, query: str, runs: int) -> tuple[float, int]:
    settings = Settings(database_url=url, jwt_secret_key="bench-secret-0123456789abcdef012345", app_timezone=TZ)
    token = mint_token(viewer, settings=settings)
    times, counts = [], set()
    for _ in range(runs):
        runtime = make_runtime(settings)
        app = create_app(settings, runtime=runtime)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
            async with count_statements() as counter:
                started = time.perf_counter()
                r = await client.post("/graphql", json={"query": query}, headers={"Authorization": f"Bearer {token}"})
                times.append(time.perf_counter() - started)
            body = r.json()
            if body.get("errors"):
                raise RuntimeError(body["errors"])
            counts.add(counter.count - 1)  # minus authentication
        await runtime.engine.dispose()
    if len(counts) != 1:
        raise RuntimeError(f"statement count varied between runs: {counts}")
    return statistics.median(times) * 1000, counts.pop()


async def bench(label: str, url: str, args: argparse.Namespace) -> list[str]:
    if not args.reuse:
        print(f"[{label}] generating {args.requests:,} requests over {args.days} days", file=sys.stderr)
        t = time.perf_counter()
        await build(url, args.requests, args.days)
        print(f"[{label}] generated in {time.perf_counter() - t:.1f}s", file=sys.stderr)
    rows = []
    seconds = await backfill(url)
    rows.append(f"| {label} | full backfill (aggregate --backfill 400) | {seconds:.1f} s | — |")
    admin, user, n = await heavy_user(url)
    for name, query in {**QUERIES, "users + systemHealth (admin)": ADMIN_ONLY}.items():
        ms, stmts = await measure(url, admin, query, args.runs)
        rows.append(f"| {label} | {name}, global | {ms:.1f} ms | {stmts} |")
        if "admin" in name:
            continue
        ms, stmts = await measure(url, user, query, args.runs)
        rows.append(f"| {label} | {name}, heavy user ({n:,} requests) | {ms:.1f} ms | {stmts} |")
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

    rows = ["| database | query | median | SQL statements |", "|---|---|---|---|"]
    if args.sqlite:
        path = Path(args.sqlite).resolve()
        if not args.reuse and path.exists():
            path.unlink()
        rows += await bench("SQLite", f"sqlite+aiosqlite:///{path}", args)
    server = None
    url = normalize_database_url(args.postgres_url) if args.postgres_url else None
    if args.start_postgres:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
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
          f"({datetime.now(timezone.utc):%Y-%m-%d})\n")
    print("\n".join(rows))


if __name__ == "__main__":
    asyncio.run(main())
