"""Benchmark: how long the server's event loop stalls while the aggregator runs in the process.

Twice over the last N closed days of an existing, generated database (bench/queries.py):
once with the aggregator on the loop that serves requests, once as `AGGREGATE_IN_SERVER` runs
it (its own thread and loop). A probe on the serving loop sleeps 10 ms at a time and records by
how much each sleep overran.

    python bench/schedule_lag.py --database-url postgresql://... --days 30"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

from sqlalchemy import delete

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from statsgraph.core.calendar import BusinessCalendar  # noqa: E402
from statsgraph.db.aggregator import aggregate, serialise_sqlite_writers  # noqa: E402
from statsgraph.db.engine import make_engine  # noqa: E402
from statsgraph.db.models import StatsDaily  # noqa: E402
from statsgraph.server.schedule import AggregatorSchedule  # noqa: E402
from statsgraph.server.settings import Settings, normalize_database_url  # noqa: E402

TZ = "Asia/Shanghai"
TICK = 0.010


async def stalls_during(work: Callable[[], Awaitable[object]]) -> tuple[float, float, float]:
    """Seconds the work took, and the largest and 99th-percentile overrun of a 10 ms sleep."""
    overruns: list[float] = []
    done = False

    async def probe() -> None:
        while not done:
            started = time.perf_counter()
            await asyncio.sleep(TICK)
            overruns.append(time.perf_counter() - started - TICK)

    task = asyncio.create_task(probe())
    started = time.perf_counter()
    await work()
    elapsed = time.perf_counter() - started
    done = True
    await task
    overruns.sort()
    return elapsed, overruns[-1], overruns[int(len(overruns) * 0.99)]


async def forget_days(url: str, calendar: BusinessCalendar, days: int) -> None:
    """Make the last N closed days look never aggregated, so a scheduled run has them to do."""
    engine = make_engine(url)
    async with engine.begin() as conn:
        first = calendar.day_start(calendar.today() - timedelta(days=days))
        await conn.execute(delete(StatsDaily).where(StatsDaily.date >= first))
    await engine.dispose()


async def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--database-url", required=True)
    p.add_argument("--days", type=int, default=30)
    args = p.parse_args()
    url = normalize_database_url(args.database_url)
    calendar = BusinessCalendar(TZ)

    engine = make_engine(url)
    if engine.dialect.name == "sqlite":
        serialise_sqlite_writers(engine)
    shared = await stalls_during(lambda: aggregate(engine, calendar=calendar, backfill_days=args.days))
    await engine.dispose()

    await forget_days(url, calendar, args.days)
    schedule = AggregatorSchedule(Settings(database_url=url, app_timezone=TZ))
    own = await stalls_during(schedule.run_once)

    print(f"\naggregating the last {args.days} closed days; stalls of the serving loop\n")
    print("| where the aggregator runs | run time | largest stall | p99 stall |")
    print("|---|---|---|---|")
    for label, (elapsed, worst, p99) in (("on the serving loop", shared), ("own thread and loop (schedule)", own)):
        print(f"| {label} | {elapsed:.1f} s | {worst * 1000:.0f} ms | {p99 * 1000:.0f} ms |")


if __name__ == "__main__":
    asyncio.run(main())
