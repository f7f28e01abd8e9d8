"""The open day read from its rolled-up hours against the same day read raw, as today's traffic
grows, on one Aether-shaped database after `statsgraph db init` + `statsgraph aggregate`.

    python bench/open_day.py --sqlite /tmp/openday.db [--start-postgres]

For each size of today (`--grow`, rows copied over the day so far, then `statsgraph aggregate`,
which rolls up every closed hour), each page is measured twice in one run: with today's hours
rolled up (as the aggregator leaves them) and with today's entries of `statsgraph_rollup_hours`
removed, which is how the open day was read before it used the hourly rollup (every row raw).
Pages go over HTTP (ASGI) with every TTL 0 and an empty field cache; medians of `--runs`,
first runs (a fresh engine each). Statements include authentication's user lookup."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import delete

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.seed_compare import (  # noqa: E402
    ADMIN_PAGE,
    TZ,
    USER_PAGE,
    Viewers,
    build,
    db_init_and_aggregate,
    graph_page,
    grow_today,
    measure,
    rolled_up_again,
    today_rows,
    viewers,
)
from statsgraph.core.calendar import BusinessCalendar  # noqa: E402
from statsgraph.db.engine import make_engine  # noqa: E402
from statsgraph.db.rollup_tables import RollupHour  # noqa: E402

TOTALS = ("{ dashboardStats { today { requests cost actualCost totalTokens avgResponseTime errorRate } "
          "month { requests cost totalTokens avgResponseTime } systemHealth { avgResponseTime errorRate } } }")


async def hide_todays_hours(url: str, now: datetime) -> None:
    engine = make_engine(url)
    async with engine.begin() as conn:
        await conn.execute(delete(RollupHour).where(RollupHour.hour >= BusinessCalendar(TZ, clock=lambda: now).today_start()))
    await engine.dispose()


def pages(v: Viewers) -> list[tuple[str, str, str]]:
    return [
        ("today + month + health totals (admin)", v.admin, TOTALS),
        ("heavy user's page", v.heavy, USER_PAGE),
        ("admin page (daily series with distinct counts and fallbacks)", v.admin, ADMIN_PAGE),
    ]


async def bench(label: str, url: str, args: argparse.Namespace, rolls: list[str]) -> list[str]:
    # A fixed time of the business day, so that every run has as many closed hours today.
    today_start = BusinessCalendar(TZ, clock=lambda: datetime.now(timezone.utc)).today_start()
    now = today_start + timedelta(hours=args.at_hour)
    print(f"[{label}] now = {now.isoformat()} ({args.at_hour:g} h into the business day)", file=sys.stderr)
    print(f"[{label}] building {args.requests:,} requests / {args.days} days", file=sys.stderr, flush=True)
    await build(url, args.requests, args.days, now)
    await db_init_and_aggregate(url, now)
    v = await viewers(url)
    rows = []
    for target in args.grow:
        await grow_today(url, now, target)
        started = time.perf_counter()
        await rolled_up_again(url, now)  # re-rolls today's hours, which the copies changed
        rolled_s = time.perf_counter() - started
        n = await today_rows(url, now)
        print(f"[{label}] aggregate after growing today to {n:,} rows: {rolled_s:.1f} s", file=sys.stderr)
        rolls.append(f"| {label} | {n:,} | {rolled_s:.1f} s |")
        results: dict[str, list] = {}
        for _name, viewer, doc in pages(v):  # the file's pages in memory before anything is timed
            await measure(url, await graph_page(url, viewer, doc, now), runs=1, steady=0)
        for state in ("rolled", "raw"):
            if state == "raw":
                await hide_todays_hours(url, now)
            for name, viewer, doc in pages(v):
                results.setdefault(name, []).append(
                    await measure(url, await graph_page(url, viewer, doc, now), runs=args.runs, steady=0)
                )
        await rolled_up_again(url, now)  # today's hours back for the next size
        for name, (rolled, raw) in results.items():
            rows.append(
                f"| {label} | {n:,} | {name} | {raw.first_ms:,.0f} ms | {rolled.first_ms:,.0f} ms "
                f"| {rolled.first_ms / raw.first_ms:.2f} | {raw.statements} | {rolled.statements} |"
            )
            print(rows[-1], file=sys.stderr, flush=True)
    return rows


async def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--requests", type=int, default=300_000)
    p.add_argument("--days", type=int, default=90)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--grow", type=int, nargs="*", default=[10_000, 100_000, 500_000])
    p.add_argument("--at-hour", type=float, default=20.5, help="hours into today's business day to measure at")
    p.add_argument("--sqlite", help="SQLite file to build (replaced)")
    p.add_argument("--start-postgres", action="store_true", help="start a throwaway server (tests/servers.py)")
    args = p.parse_args()
    rows: list[str] = []
    rolls: list[str] = []
    if args.sqlite:
        path = Path(args.sqlite).resolve()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        rows += await bench("SQLite", f"sqlite+aiosqlite:///{path}", args, rolls)
    if args.start_postgres:
        from tests.servers import PostgresServer

        server = PostgresServer()
        server.start()
        try:
            rows += await bench("PostgreSQL", server.url, args, rolls)
        finally:
            server.stop()
    print("\n| database | today's rows | page | today raw | today from hours | ratio | statements raw | statements hours |")
    print("|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    print("\n| database | today's rows | `statsgraph aggregate` re-rolling today's hours |")
    print("|---|---|---|")
    print("\n".join(rolls))


if __name__ == "__main__":
    asyncio.run(main())
