"""Side by side in one run: the seed's REST endpoints (bench/seed_baseline.py) and statsgraph,
on an Aether-shaped database.

    python bench/seed_compare.py --requests 300000 --days 90 --sqlite /tmp/cmp.db --start-postgres

The database is built by the demo generator, then made Aether-shaped: statsgraph's own tables
dropped and only Aether's seed-era indexes left (`usage`: request_id unique, created_at, status,
(user_id, created_at), (api_key_id, created_at), (provider_name, model, created_at);
`request_candidates`: request_id, status, provider_id). Aether's `stats_*` tables hold every
closed day, as Aether's own aggregator leaves them (statsgraph's aggregator writes them with
Aether's meaning). That is "as is"; "after" is `statsgraph db init --create-indexes` then
`statsgraph aggregate` on it.

Pages: the admin's (stats + 20 recent requests + provider status + daily stats of 7 days) and
the heaviest user's (the same as that user). statsgraph is asked over HTTP through the ASGI app
with every TTL 0 and a fresh field cache each run (cold). "first" runs use a fresh engine each
(new connections, nothing prepared); "steady" reuses one engine and reports the median of the
runs after `--steady` warm-up runs (PostgreSQL: asyncpg prepared statements, where generic
plans would show). Statements are counted per page, authentication included for both."""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
from sqlalchemy import String, cast, func, insert, select, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import seed_baseline  # noqa: E402

from statsgraph.core.calendar import BusinessCalendar  # noqa: E402
from statsgraph.db import engine as engine_module  # noqa: E402
from statsgraph.db.aggregator import aggregate, serialise_sqlite_writers  # noqa: E402
from statsgraph.db.engine import count_statements, make_engine, make_session_factory  # noqa: E402
from statsgraph.db.models import Base, RequestCandidate, Usage, User  # noqa: E402
from statsgraph.db.setup import NEEDED_INDEXES, create_indexes, init_database, missing_indexes  # noqa: E402
from statsgraph.demo.generator import generate_demo  # noqa: E402
from statsgraph.resolvers.cache import FieldCacheStore, MemoryCache  # noqa: E402
from statsgraph.server.app import create_app  # noqa: E402
from statsgraph.server.auth import mint_token  # noqa: E402
from statsgraph.server.runtime import make_runtime  # noqa: E402
from statsgraph.server.settings import Settings  # noqa: E402

TZ = "Asia/Shanghai"
SECRET = "bench-secret-0123456789abcdef012345"
OWN_TABLES = ("statsgraph_user_daily", "statsgraph_user_daily_model")
# Aether's seed-era indexes that statsgraph's models do not declare.
AETHER_EXTRA = (
    ("idx_usage_status", "usage", "status"),
    ("idx_usage_api_key_created", "usage", "api_key_id, created_at"),
    ("idx_usage_provider_model_created", "usage", "provider_name, model, created_at"),
    ("idx_request_candidates_status", "request_candidates", "status"),
    ("idx_request_candidates_provider", "request_candidates", "provider_id"),
)

STATS = """
  dashboardStats {
    allTime { requests successRequests errorRequests cost actualCost inputTokens outputTokens
              cacheCreationTokens cacheReadTokens totalTokens cacheHitRate }
    today { requests cost actualCost totalTokens cacheCreationTokens cacheReadTokens }
    yesterday { requests cost totalTokens cacheCreationTokens cacheReadTokens }
    month { requests errorRequests cost actualCost costSavings totalTokens cacheCreationTokens
            cacheReadTokens cacheCreationCost cacheReadCost cacheHitRate }
    apiKeys { total active }
    %s
  }"""
REST = """
  recentRequests(limit: 20) { id model totalTokens createdAt isStream user { username } }
  providerStatus { name state requests }
  dailyStats(days: 7) {
    days { date requests totalTokens cost avgResponseTime %s modelBreakdown { model requests totalTokens cost } }
    modelSummary { model requests totalTokens cost avgResponseTime costPerRequest tokensPerRequest }
  }"""
ADMIN_PAGE = "{ %s %s }" % (
    STATS % "users { total active } systemHealth { avgResponseTime errorRate errorRequests fallbackCount totalRequests }",
    REST % "uniqueModels uniqueProviders fallbackCount",
)
# Operator figures are for administrators only (a user's page never had them).
USER_PAGE = "{ %s %s }" % (
    (STATS % "quota { limitUsd usedUsd usedPercent }").replace(" actualCost", "").replace(" costSavings", ""),
    REST % "",
)


@dataclass
class Viewers:
    admin: str
    heavy: str
    heavy_rows: int
    total_rows: int


# --- the database ---------------------------------------------------------------------------


async def build(url: str, requests: int, days: int, now: datetime) -> None:
    engine = make_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    await generate_demo(engine, requests=requests, days=days, tz=TZ, now=now)
    if engine.dialect.name == "sqlite":
        serialise_sqlite_writers(engine)
    await aggregate(engine, calendar=BusinessCalendar(TZ, clock=lambda: now))
    await make_aether_shaped(engine)
    await engine.dispose()


async def make_aether_shaped(engine) -> None:  # noqa: ANN001
    async with engine.begin() as conn:
        for table in OWN_TABLES:
            await conn.execute(text(f"DROP TABLE IF EXISTS {table}"))
        for ix in NEEDED_INDEXES:
            await conn.execute(text(f"DROP INDEX IF EXISTS {ix.name}"))
        for name, table, columns in AETHER_EXTRA:
            await conn.execute(text(f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({columns})"))
        if engine.dialect.name == "postgresql":
            await role_as_aether_enum(conn)
    async with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            await conn.execute(text("COMMIT"))
            await conn.execute(text("VACUUM ANALYZE"))
        else:
            await conn.execute(text("ANALYZE"))


async def role_as_aether_enum(conn) -> None:  # noqa: ANN001
    """Aether's `users.role` is a PostgreSQL enum whose labels are the names ADMIN and USER."""
    await conn.execute(text("DO $$ BEGIN CREATE TYPE userrole AS ENUM ('ADMIN', 'USER'); "
                            "EXCEPTION WHEN duplicate_object THEN NULL; END $$"))
    await conn.execute(text("ALTER TABLE users ALTER COLUMN role DROP DEFAULT"))
    await conn.execute(text("ALTER TABLE users ALTER COLUMN role TYPE userrole USING upper(role::text)::userrole"))


async def db_init_and_aggregate(url: str, now: datetime) -> None:
    """`statsgraph db init --create-indexes` then `statsgraph aggregate`."""
    engine = make_engine(url)
    await init_database(engine)
    await create_indexes(engine, await missing_indexes(engine))
    if engine.dialect.name == "sqlite":
        serialise_sqlite_writers(engine)
    await aggregate(engine, calendar=BusinessCalendar(TZ, clock=lambda: now))
    async with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            await conn.execute(text("COMMIT"))
            await conn.execute(text("ANALYZE"))
    await engine.dispose()


async def rolled_up_again(url: str, now: datetime) -> None:
    """`statsgraph aggregate`: the hours changed since their rollup are rolled up again."""
    engine = make_engine(url)
    if engine.dialect.name == "sqlite":
        serialise_sqlite_writers(engine)
    await aggregate(engine, calendar=BusinessCalendar(TZ, clock=lambda: now))
    await engine.dispose()


async def viewers(url: str) -> Viewers:
    engine = make_engine(url)
    role = func.lower(cast(User.role, String))  # Aether's enum on PostgreSQL, text on SQLite
    async with engine.connect() as conn:
        admin = (await conn.execute(select(User.id).where(role == "admin", User.is_active.is_(True),
                                                          User.is_deleted.is_(False)).limit(1))).scalar_one()
        uid, n = (await conn.execute(
            select(Usage.user_id, func.count()).join(User, User.id == Usage.user_id)
            .where(role == "user", User.is_active.is_(True), User.is_deleted.is_(False))
            .group_by(Usage.user_id).order_by(func.count().desc()).limit(1)
        )).one()
        total = (await conn.execute(select(func.count()).select_from(Usage))).scalar_one()
    await engine.dispose()
    return Viewers(admin, uid, n, total)


async def today_rows(url: str, now: datetime) -> int:
    cal = BusinessCalendar(TZ, clock=lambda: now)
    engine = make_engine(url)
    async with engine.connect() as conn:
        n = (await conn.execute(select(func.count()).select_from(Usage).where(Usage.created_at >= cal.today_start()))).scalar_one()
    await engine.dispose()
    return int(n)


async def grow_today(url: str, now: datetime, target: int) -> None:
    """Copy today's requests (and their candidates) with new ids and times spread over the day so
    far until today holds about `target` rows."""
    cal = BusinessCalendar(TZ, clock=lambda: now)
    start = cal.today_start()
    engine = make_engine(url)
    rng = random.Random(11)
    async with engine.connect() as conn:
        rows = [dict(r._mapping) for r in await conn.execute(select(Usage).where(Usage.created_at >= start))]
        cands: dict[str, list[dict]] = {}
        todays = select(Usage.request_id).where(Usage.created_at >= start)  # a subquery: no parameter per row
        for r in await conn.execute(select(RequestCandidate).where(RequestCandidate.request_id.in_(todays))):
            cands.setdefault(r.request_id, []).append(dict(r._mapping))
        need = target - len(rows)
        span = (now - start).total_seconds() - 300  # keep clear of the in-flight rows' minutes
        batch_u: list[dict] = []
        batch_c: list[dict] = []
        for i in range(max(0, need)):
            src = rows[i % len(rows)]
            at = start + timedelta(seconds=rng.uniform(0, span))
            rid = f"grown-{uuid.uuid4().hex}"
            batch_u.append({**src, "id": str(uuid.uuid4()), "request_id": rid, "created_at": at,
                            "status": "completed" if src["status"] in ("pending", "streaming") else src["status"]})
            for c in cands.get(src["request_id"], []):
                batch_c.append({**c, "id": str(uuid.uuid4()), "request_id": rid, "created_at": at})
            if len(batch_u) >= 5000:
                await conn.execute(insert(Usage), batch_u)
                if batch_c:
                    await conn.execute(insert(RequestCandidate), batch_c)
                await conn.commit()
                batch_u, batch_c = [], []
        if batch_u:
            await conn.execute(insert(Usage), batch_u)
            if batch_c:
                await conn.execute(insert(RequestCandidate), batch_c)
        await conn.commit()
        if engine.dialect.name == "postgresql":
            await conn.execute(text("COMMIT"))
            await conn.execute(text("ANALYZE"))
    await engine.dispose()


# --- measuring ------------------------------------------------------------------------------


@dataclass
class Result:
    first_ms: float
    steady_ms: float | None
    statements: int


Run = Callable[[object], Awaitable[None]]  # given an engine, load one page


async def timed(run: Run, engine) -> tuple[float, int]:  # noqa: ANN001
    async with count_statements() as counter:
        started = time.perf_counter()
        await run(engine)
        elapsed = time.perf_counter() - started
    return elapsed * 1000, counter.count


async def measure(url: str, run: Run, *, runs: int, steady: int) -> Result:
    firsts, counts = [], set()
    for _ in range(runs):
        engine = make_engine(url)
        ms, n = await timed(run, engine)
        firsts.append(ms)
        counts.add(n)
        await engine.dispose()
    steady_ms = None
    if steady:
        engine = make_engine(url)
        for _ in range(steady):
            await timed(run, engine)
        after = []
        for _ in range(runs):
            ms, n = await timed(run, engine)
            after.append(ms)
            counts.add(n)
        await engine.dispose()
        steady_ms = statistics.median(after)
    if len(counts) != 1:
        print(f"  note: statement count varied between runs: {sorted(counts)}", file=sys.stderr)
    return Result(statistics.median(firsts), steady_ms, max(counts))


def seed_page(viewer: str, user_id: str | None, now: datetime) -> Run:
    async def run(engine) -> None:  # noqa: ANN001
        async with make_session_factory(engine)() as session:
            await seed_baseline.page(session, now=now, tz=TZ, viewer_id=viewer, user_id=user_id)

    return run


async def graph_page(url: str, viewer: str, document: str, now: datetime) -> Run:
    settings = Settings(
        database_url=url, jwt_secret_key=SECRET, app_timezone=TZ, ttl_dashboard_global=0, ttl_dashboard_user=0,
        ttl_provider_status=0, ttl_daily_stats=0, ttl_closed_max=0,
    )
    token = mint_token(viewer, settings=settings)
    # One app (the schema is built once, as in a running server); each run gets the given engine
    # and an empty field cache.
    runtime = make_runtime(settings, clock=lambda: now)
    app = create_app(settings, runtime=runtime)
    # What a started server knows: the indexes its start-up check found missing.
    runtime.indexes.note(await missing_indexes(runtime.engine))
    await runtime.engine.dispose()

    async def run(engine) -> None:  # noqa: ANN001
        runtime.engine, runtime.sessions = engine, make_session_factory(engine)
        runtime.shared = MemoryCache(settings.cache_max_entries)
        runtime.cache = FieldCacheStore(runtime.shared, runtime.cache.version)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
            r = await client.post("/graphql", json={"query": document}, headers={"Authorization": f"Bearer {token}"})
        body = r.json()
        if body.get("errors"):
            raise RuntimeError(body["errors"])

    return run


def fmt(ms: float | None) -> str:
    if ms is None:
        return "—"
    return f"{ms:,.0f} ms" if ms >= 100 else f"{ms:.1f} ms"


def ratio(a: float | None, b: float | None) -> str:
    return "—" if a is None or b is None else f"{b / a:.2f}"


async def compare(label: str, url: str, state: str, v: Viewers, now: datetime, args: argparse.Namespace,
                  rows: list[str], *, pages: tuple[str, ...] = ("admin", "heavy user")) -> None:
    steady = args.steady if url.startswith("postgresql") else 0
    for page in pages:
        if page == "admin":
            seed = seed_page(v.admin, None, now)
            graph = await graph_page(url, v.admin, ADMIN_PAGE, now)
        else:
            seed = seed_page(v.heavy, v.heavy, now)
            graph = await graph_page(url, v.heavy, USER_PAGE, now)
        print(f"[{label}] {state}, {page} ...", file=sys.stderr, flush=True)
        s = await measure(url, seed, runs=args.runs, steady=steady)
        g = await measure(url, graph, runs=args.runs, steady=steady)
        rows.append(
            f"| {label} | {state} | {page} | {fmt(s.first_ms)} | {fmt(g.first_ms)} | {ratio(s.first_ms, g.first_ms)} "
            f"| {fmt(s.steady_ms)} | {fmt(g.steady_ms)} | {ratio(s.steady_ms, g.steady_ms)} | {s.statements} | {g.statements} |"
        )
        print(rows[-1], file=sys.stderr, flush=True)


async def plan_modes(label: str, url: str, v: Viewers, now: datetime, args: argparse.Namespace) -> list[str]:
    """The heaviest user's statsgraph page, steady state, with PostgreSQL's default plan cache
    (`auto`: generic plans after five executions) and with statsgraph's `force_custom_plan`."""
    out = []
    for mode in ("auto", "force_custom_plan"):
        engine_module.CUSTOM_PLANS["plan_cache_mode"] = mode
        try:
            r = await measure(url, await graph_page(url, v.heavy, USER_PAGE, now), runs=args.runs, steady=args.steady)
        finally:
            engine_module.CUSTOM_PLANS["plan_cache_mode"] = "force_custom_plan"
        out.append(f"| {label} | heavy user, statsgraph, plan_cache_mode={mode} | {fmt(r.first_ms)} | {fmt(r.steady_ms)} |")
        print(out[-1], file=sys.stderr, flush=True)
    return out


async def bench(label: str, url: str, args: argparse.Namespace) -> tuple[list[str], list[str], Viewers]:
    now = datetime.now(timezone.utc)
    t = time.perf_counter()
    print(f"[{label}] building {args.requests:,} requests / {args.days} days", file=sys.stderr, flush=True)
    await build(url, args.requests, args.days, now)
    print(f"[{label}] built in {time.perf_counter() - t:.0f} s", file=sys.stderr, flush=True)
    v = await viewers(url)
    rows: list[str] = []
    base_today = await today_rows(url, now)
    await compare(label, url, f"as is (today {base_today:,} rows)", v, now, args, rows)
    t = time.perf_counter()
    await db_init_and_aggregate(url, now)
    print(f"[{label}] db init + aggregate in {time.perf_counter() - t:.0f} s", file=sys.stderr, flush=True)
    await compare(label, url, f"after db init + aggregate (today {base_today:,} rows)", v, now, args, rows)
    plans = await plan_modes(label, url, v, now, args) if url.startswith("postgresql") else []
    for target in args.grow:
        await grow_today(url, now, target)
        # The copies land in hours already rolled up: the next hourly run (here, at once) rolls
        # them up again, as it would for late rows; until then the rollups would undercount.
        t = time.perf_counter()
        await rolled_up_again(url, now)
        print(f"[{label}] aggregate after growing in {time.perf_counter() - t:.0f} s", file=sys.stderr, flush=True)
        n = await today_rows(url, now)
        await compare(label, url, f"after db init + aggregate, today {n:,} rows", v, now, args, rows, pages=("admin",))
    return rows, plans, v


async def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--requests", type=int, default=300_000)
    p.add_argument("--days", type=int, default=90)
    p.add_argument("--runs", type=int, default=3, help="median of this many runs")
    p.add_argument("--steady", type=int, default=20, help="PostgreSQL warm-up runs before the steady runs")
    p.add_argument("--grow", type=int, nargs="*", default=[10_000, 100_000], help="today's rows to grow to")
    p.add_argument("--sqlite", help="SQLite file to build (replaced)")
    p.add_argument("--postgres-url", help="an empty PostgreSQL database (postgresql+asyncpg://...)")
    p.add_argument("--start-postgres", action="store_true", help="start a throwaway server (tests/servers.py)")
    args = p.parse_args()

    header = ("| database | state | page | seed first | statsgraph first | ratio | seed steady | statsgraph steady "
              "| ratio | seed stmts | statsgraph stmts |\n|---|---|---|---|---|---|---|---|---|---|---|")
    rows: list[str] = []
    plans: list[str] = []
    notes: list[str] = []
    if args.sqlite:
        path = Path(args.sqlite).resolve()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        r, _, v = await bench("SQLite", f"sqlite+aiosqlite:///{path}", args)
        rows += r
        notes.append(f"SQLite: heaviest user {v.heavy_rows:,} of {v.total_rows:,} rows")
    server = None
    url = args.postgres_url
    if args.start_postgres:
        from tests.servers import PostgresServer

        server = PostgresServer()
        server.start()
        url = server.create_database("seedcompare")
    try:
        if url:
            r, plans, v = await bench("PostgreSQL", url, args)
            rows += r
            notes.append(f"PostgreSQL: heaviest user {v.heavy_rows:,} of {v.total_rows:,} rows")
    finally:
        if server is not None:
            server.stop()
    print(f"\n{args.requests:,} requests over {args.days} days; median of {args.runs} runs; steady = after "
          f"{args.steady} runs on one engine ({datetime.now(timezone.utc):%Y-%m-%d}); " + "; ".join(notes) + "\n")
    print(header)
    print("\n".join(rows))
    if plans:
        print("\n| database | page | first | steady |\n|---|---|---|---|")
        print("\n".join(plans))


if __name__ == "__main__":
    asyncio.run(main())
