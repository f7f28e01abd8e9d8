"""What one hourly aggregator run costs when an hour holds many rows, against the same runs
comparing every rolled-up hour of the last day in full (what each run did before the census).

    python bench/aggregate_hour.py --sqlite /tmp/hour.db [--start-postgres] [--rows 10000 100000] [--slowest 4]
                                   [--baseline REV]

The database: `--requests` generated requests over `--days` days, Aether-shaped, then
`statsgraph db init --create-indexes` + `statsgraph aggregate`. For each size, one closed hour
gets `--rows` more rows (copies of recent requests with their candidates, new ids), and three
runs are timed as the hourly schedule makes them, in both modes:
- "rolls the hour": the run after the hour closed, which rolls it up;
- "next run": an hour later, the hour is inside the default recheck window (compared in full);
- "the run after": another hour later, the hour is only counted again (as for the rest of the day).
The hour's rollup is cleared between modes, so each mode rolls it up itself. Statements are the
run's SQL statements, the advisory lock included.

`--baseline REV` adds the same three runs (census + recheck) made by the aggregator of another
git revision (checked out into a temporary worktree, run in a subprocess that imports that
revision's package) on the same database, right after, as a fourth column."""

from __future__ import annotations

import argparse
import asyncio
import random
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import delete, event, insert, select, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.seed_compare import TZ, build, db_init_and_aggregate  # noqa: E402
from statsgraph.core.calendar import BusinessCalendar  # noqa: E402
from statsgraph.db.aggregator import aggregate, serialise_sqlite_writers  # noqa: E402
from statsgraph.db.engine import make_engine  # noqa: E402
from statsgraph.db.models import RequestCandidate, Usage  # noqa: E402
from statsgraph.db.rollup_hourly import RECHECK  # noqa: E402
from statsgraph.db.rollup_tables import RollupHour  # noqa: E402

UTC = timezone.utc
# 14:30 in Shanghai: every run below stays within the business day (no day closes meanwhile).
BUILT_AT = datetime(2026, 11, 30, 6, 30, tzinfo=UTC)
MODES = (("census + recheck 2 h (default)", RECHECK), ("every hour of the day in full", timedelta(hours=24)))


async def fill_hour(url: str, hour: datetime, n: int) -> None:
    engine = make_engine(url)
    rng = random.Random(3)
    recent = BUILT_AT - timedelta(days=2)
    async with engine.connect() as conn:
        rows = [dict(r._mapping) for r in await conn.execute(select(Usage).where(Usage.created_at >= recent))]
        ids = select(Usage.request_id).where(Usage.created_at >= recent)
        cands: dict[str, list[dict]] = {}
        for r in await conn.execute(select(RequestCandidate).where(RequestCandidate.request_id.in_(ids))):
            cands.setdefault(r.request_id, []).append(dict(r._mapping))
        batch_u: list[dict] = []
        batch_c: list[dict] = []
        for i in range(n):
            src = rows[i % len(rows)]
            at = hour + timedelta(seconds=rng.uniform(0, 3599))
            rid = f"hour-{uuid.uuid4().hex}"
            settled = "completed" if src["status"] in ("pending", "streaming") else src["status"]
            batch_u.append({**src, "id": str(uuid.uuid4()), "request_id": rid, "created_at": at, "status": settled})
            batch_c += [{**c, "id": str(uuid.uuid4()), "request_id": rid, "created_at": at} for c in cands.get(src["request_id"], [])]
            if len(batch_u) >= 5000 or i == n - 1:
                await conn.execute(insert(Usage), batch_u)
                if batch_c:
                    await conn.execute(insert(RequestCandidate), batch_c)
                await conn.commit()
                batch_u, batch_c = [], []
        if engine.dialect.name == "postgresql":
            await conn.execute(text("COMMIT"))
            await conn.execute(text("ANALYZE"))
    await engine.dispose()


async def forget(url: str, hour: datetime) -> None:
    engine = make_engine(url)
    async with engine.begin() as conn:
        await conn.execute(delete(RollupHour).where(RollupHour.hour >= hour))
    await engine.dispose()


async def timed_run(url: str, now: datetime, recheck: timedelta, slowest: int = 0) -> tuple[float, int]:
    engine = make_engine(url)
    if engine.dialect.name == "sqlite":
        serialise_sqlite_writers(engine)
    timings: list[tuple[float, str]] = []

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _start(conn, *_args) -> None:  # noqa: ANN001, ANN002
        conn.info["started"] = time.perf_counter()

    @event.listens_for(engine.sync_engine, "after_cursor_execute")
    def _stop(conn, _cursor, statement, *_args) -> None:  # noqa: ANN001, ANN002
        timings.append((time.perf_counter() - conn.info.pop("started"), " ".join(statement.split())))

    started = time.perf_counter()
    await aggregate(engine, calendar=BusinessCalendar(TZ, clock=lambda: now), recheck=recheck)
    elapsed = time.perf_counter() - started
    await engine.dispose()
    if slowest:
        for seconds, statement in sorted(timings, reverse=True)[:slowest]:
            print(f"    {seconds:.3f} s  {statement[:110]}", file=sys.stderr, flush=True)
    return elapsed, len(timings)


def baseline_run(worktree: Path, url: str, now: datetime, recheck: timedelta) -> tuple[float, int]:
    """`timed_run` with the package of `worktree` imported first, so the aggregator timed is
    that revision's; this script's own helpers are the same on both sides."""
    code = (
        f"import runpy, sys; sys.path.insert(0, {str(worktree)!r}); import statsgraph; "
        f"assert statsgraph.__file__.startswith({str(worktree)!r}), statsgraph.__file__; "
        f"sys.argv = ['aggregate_hour.py', '--one-run', {url!r}, {now.isoformat()!r}, {str(recheck.total_seconds())!r}]; "
        f"runpy.run_path({str(Path(__file__).resolve())!r}, run_name='__main__')"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.split()
    return float(out[0]), int(out[1])


async def bench(label: str, url: str, args: argparse.Namespace) -> list[str]:
    print(f"[{label}] building {args.requests:,} requests / {args.days} days", file=sys.stderr, flush=True)
    await build(url, args.requests, args.days, BUILT_AT)
    await db_init_and_aggregate(url, BUILT_AT)
    rows = []
    hour = BUILT_AT.replace(minute=0) + timedelta(hours=1)
    for n in args.rows:
        await fill_hour(url, hour, n)
        runs = (("rolls the hour", hour + timedelta(hours=1, minutes=5)),
                ("next run (hour compared in full)", hour + timedelta(hours=2, minutes=5)),
                ("the run after (hour counted only)", hour + timedelta(hours=3, minutes=5)))
        results: dict[str, list[tuple[float, int]]] = {}
        for _mode, recheck in MODES:
            await forget(url, hour)
            for name, at in runs:
                results.setdefault(name, []).append(await timed_run(url, at, recheck, args.slowest))
        if args.worktree:
            await forget(url, hour)
            for name, at in runs:
                results[name].append(baseline_run(args.worktree, url, at, RECHECK))
        for name, timed in results.items():
            (new_s, new_n), (old_s, old_n) = timed[0], timed[1]
            row = f"| {label} | {n:,} | {name} | {old_s:.2f} s | {new_s:.2f} s | {new_s / old_s:.2f} | {old_n} | {new_n} |"
            if args.worktree:
                base_s, base_n = timed[2]
                row += f" {base_s:.2f} s | {base_n} |"
            rows.append(row)
            print(rows[-1], file=sys.stderr, flush=True)
        hour += timedelta(hours=4)  # the next size in an hour of its own, after the last one's runs
    return rows


async def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--requests", type=int, default=100_000)
    p.add_argument("--days", type=int, default=30)
    p.add_argument("--rows", type=int, nargs="*", default=[10_000, 100_000])
    p.add_argument("--sqlite", help="SQLite file to build (replaced)")
    p.add_argument("--postgres-url", help="an empty PostgreSQL database to build in")
    p.add_argument("--start-postgres", action="store_true", help="start a throwaway server (tests/servers.py)")
    p.add_argument("--slowest", type=int, default=0, help="print each run's N slowest statements (stderr)")
    p.add_argument("--baseline", metavar="REV", help="also time the aggregator of this git revision")
    p.add_argument("--one-run", nargs=3, metavar=("URL", "NOW", "RECHECK_SECONDS"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.one_run:
        url, now, recheck = args.one_run
        seconds, statements = await timed_run(url, datetime.fromisoformat(now), timedelta(seconds=float(recheck)))
        print(seconds, statements)
        return
    args.worktree = None
    if args.baseline:
        args.worktree = Path(tempfile.mkdtemp(prefix="statsgraph-baseline-")) / "tree"
        root = Path(__file__).resolve().parents[1]
        subprocess.run(["git", "-C", str(root), "worktree", "add", "--detach", str(args.worktree), args.baseline],
                       check=True, capture_output=True)
    try:
        await run_all(args)
    finally:
        if args.worktree:
            subprocess.run(["git", "-C", str(Path(__file__).resolve().parents[1]), "worktree", "remove", "--force",
                            str(args.worktree)], check=False, capture_output=True)


async def run_all(args: argparse.Namespace) -> None:
    rows: list[str] = []
    if args.sqlite:
        path = Path(args.sqlite).resolve()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        rows += await bench("SQLite", f"sqlite+aiosqlite:///{path}", args)
    if args.postgres_url:
        rows += await bench("PostgreSQL", args.postgres_url, args)
    elif args.start_postgres:
        from tests.servers import PostgresServer

        server = PostgresServer()
        server.start()
        try:
            rows += await bench("PostgreSQL", server.url, args)
        finally:
            server.stop()
    print(f"\n{args.requests:,} requests over {args.days} days, plus one hour of the given rows "
          f"({datetime.now(UTC):%Y-%m-%d})\n")
    extra = (f" {args.baseline} (census + recheck) | statements {args.baseline} |", "---|---|") if args.worktree else ("", "")
    print("| database | the hour's rows | run | every hour in full | census + recheck | ratio "
          f"| statements in full | statements census |{extra[0]}")
    print(f"|---|---|---|---|---|---|---|---|{extra[1]}")
    print("\n".join(rows))


if __name__ == "__main__":
    asyncio.run(main())
