"""Each SQL statement of one dashboard page, timed, slowest first: where a page's time goes on a
database `bench/open_day.py` or `bench/seed_compare.py` built (the Aether-shaped demo, in their
zone), as the admin, at a fixed instant of the business day.

    python bench/page_statements.py sqlite+aiosqlite:////tmp/openday.db --at-hour 20.5 --runs 3

`--at-hour` counts from the start of today's business day (as `bench/open_day.py` measures);
the timings are the last of `--runs` first runs (a fresh engine each, every TTL 0)."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from open_day import TOTALS  # noqa: E402
from seed_compare import ADMIN_PAGE, TZ, graph_page, viewers  # noqa: E402
from sqlalchemy import event  # noqa: E402

from statsgraph.core.calendar import BusinessCalendar  # noqa: E402
from statsgraph.db.engine import make_engine  # noqa: E402


async def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("url")
    p.add_argument("--at-hour", type=float, default=20.5)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--document", default=TOTALS, help="the page's GraphQL document (default: today's totals)")
    p.add_argument("--admin-page", action="store_true", help="the comparison's whole admin page instead")
    p.add_argument("--full", type=int, default=0, metavar="N", help="print the N slowest statements whole, with parameters")
    args = p.parse_args()
    if args.admin_page:
        args.document = ADMIN_PAGE
    now = BusinessCalendar(TZ).today_start() + timedelta(hours=args.at_hour)
    run = await graph_page(args.url, (await viewers(args.url)).admin, args.document, now)
    timings: list[tuple[float, str, Any]] = []
    started: dict[int, float] = {}

    def before(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        started[id(cursor)] = time.perf_counter()

    def after(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        timings.append((time.perf_counter() - started.pop(id(cursor)), statement, parameters))

    total = 0.0
    for _ in range(args.runs):
        engine = make_engine(args.url)
        timings.clear()
        event.listen(engine.sync_engine, "before_cursor_execute", before)
        event.listen(engine.sync_engine, "after_cursor_execute", after)
        t = time.perf_counter()
        await run(engine)
        total = time.perf_counter() - t
        await engine.dispose()
    print(f"page {total * 1000:.0f} ms at {now.isoformat()}, {len(timings)} statements")
    slowest = sorted(timings, key=lambda t: t[0], reverse=True)
    for seconds, statement, _ in slowest:
        print(f"{seconds * 1000:7.1f} ms  {' '.join(statement.split())[:160]}")
    for seconds, statement, parameters in slowest[: args.full]:
        print(f"\n-- {seconds * 1000:.1f} ms\n{statement}\n-- parameters: {parameters!r}")


if __name__ == "__main__":
    asyncio.run(main())
