"""Benchmark of the query cost limit: the most expensive documents the server still accepts,
their time and peak memory, and the latency of a trivial request sent while one runs.

    python bench/cost.py --sqlite /tmp/cost.db --start-postgres          # builds both databases
    python bench/cost.py --sqlite /tmp/cost.db --reuse                    # SQLite already built

Each document is built to cost just under MAX_QUERY_COST (as many aliases of its heaviest shape
as fit). It is run cold (fresh runtime: empty field cache) and then warm; meanwhile another
viewer sends `{ viewer { id } }` every 20 ms and the slowest of those is reported. Peak memory
is the growth of the process's peak RSS while the document runs (the first run only)."""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import sys
import time
from pathlib import Path

import httpx
from graphql import GraphQLError, parse

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.queries import backfill, build, heavy_user  # noqa: E402
from statsgraph.schema import build_schema  # noqa: E402
from statsgraph.schema.cost import DEFAULT_MAX_QUERY_COST, query_cost  # noqa: E402
from statsgraph.server.app import create_app  # noqa: E402
from statsgraph.server.auth import mint_token  # noqa: E402
from statsgraph.server.runtime import make_runtime  # noqa: E402
from statsgraph.server.settings import Settings, normalize_database_url  # noqa: E402

TZ = "Asia/Shanghai"
MAX_TOKENS = Settings().max_tokens
DAY = ("date requests errorRequests inputTokens outputTokens cacheCreationTokens cacheReadTokens "
       "totalTokens cost avgResponseTime uniqueModels uniqueProviders fallbackCount "
       "modelBreakdown { model requests totalTokens cost }")
TOTALS = ("requests successRequests errorRequests errorRate inputTokens outputTokens cacheCreationTokens "
          "cacheReadTokens totalTokens cacheHitRate cost actualCost costSavings cacheCreationCost "
          "cacheReadCost avgResponseTime fallbackCount")
SHAPES = {
    "dailyStats(days: 366), every field": (
        "d{i}: dailyStats(days: {n}) {{ period {{ days }} days {{ " + DAY + " }} "
        "modelSummary {{ model requests totalTokens cost avgResponseTime costPerRequest tokensPerRequest }} }}"
    ),
    "recentRequests(limit: 100), every field": (
        "r{i}: recentRequests(limit: 100) { id requestId createdAt model isStream statusCode inputTokens "
        "outputTokens totalTokens cost user { id username } provider { id name displayName } }"
    ),
    "dashboardStats, every field": (
        "s{i}: dashboardStats { allTime { " + TOTALS + " } today { " + TOTALS + " } yesterday { " + TOTALS
        + " } month { " + TOTALS + " } apiKeys { total active } users { total active } "
        "systemHealth { avgResponseTime errorRate errorRequests fallbackCount totalRequests } }"
    ),
}


def heaviest_accepted(shape: str, limit: int) -> tuple[str, int]:
    """As many aliases of the shape as fit under the limit (at most 30, the alias limit); for
    dailyStats the last alias's `days` is trimmed to fill what is left."""
    schema = build_schema()._schema

    def doc(k: int, last_days: int = 366) -> str:
        parts = [shape.replace("{i}", str(i)).replace("{n}", "366").replace("{{", "{").replace("}}", "}")
                 for i in range(k)]
        if "{n}" in shape and last_days < 366 and parts:
            parts[-1] = parts[-1].replace("days: 366", f"days: {last_days}")
        return "{ " + " ".join(parts) + " }"

    def fits(document: str) -> bool:
        try:
            parsed = parse(document, max_tokens=MAX_TOKENS)
        except GraphQLError:
            return False
        return query_cost(schema, parsed, {}, None) <= limit

    k = 1
    while k < 30 and fits(doc(k + 1)):
        k += 1
    best = doc(k)
    if "{n}" in shape:
        for days in range(366, 0, -1):
            candidate = doc(k + 1, days)
            if k < 30 and fits(candidate):
                best = candidate
                break
    return best, query_cost(schema, parse(best), {}, None)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def run_one(
    url: str, admin: str, user: str, document: str, *, warm: bool, lane: bool
) -> tuple[float, float, float, int]:
    settings = Settings(database_url=url, jwt_secret_key="bench-secret-0123456789abcdef012345", app_timezone=TZ,
                        expensive_query_cost=Settings().expensive_query_cost if lane else 0)
    heavy_token = mint_token(admin, settings=settings)
    light_token = mint_token(user, settings=settings)
    runtime = make_runtime(settings)
    app = create_app(settings, runtime=runtime)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://bench", timeout=120
    ) as client:
        async def send(token: str, query: str) -> httpx.Response:
            return await client.post("/graphql", json={"query": query}, headers={"Authorization": f"Bearer {token}"})

        await send(light_token, "{ viewer { id } }")  # connections and caches of the process warmed
        if warm:
            await send(heavy_token, document)
        rss_before = peak_rss_mb()
        done = asyncio.Event()
        light: list[float] = []

        async def trivial() -> None:
            while not done.is_set():
                started = time.perf_counter()
                await send(light_token, "{ viewer { id } }")
                light.append(time.perf_counter() - started)
                await asyncio.sleep(0.02)

        prober = asyncio.create_task(trivial())
        started = time.perf_counter()
        r = await send(heavy_token, document)
        elapsed = time.perf_counter() - started
        done.set()
        await prober
        body = r.json()
        if body.get("errors"):
            raise RuntimeError(str(body["errors"])[:500])
    return elapsed, max(light, default=0.0), peak_rss_mb() - rss_before, len(r.content)


async def bench(label: str, url: str, args: argparse.Namespace) -> list[str]:
    if not args.reuse:
        print(f"[{label}] generating {args.requests:,} requests over {args.days} days", file=sys.stderr)
        await build(url, args.requests, args.days)
        await backfill(url)
    admin, user, _n = await heavy_user(url)
    rows = []
    for name, shape in SHAPES.items():
        document, cost = heaviest_accepted(shape, args.limit)
        for warm in (False, True):
            cells = []
            for lane in (False, True):
                runs = [await run_one(url, admin, user, document, warm=warm, lane=lane) for _ in range(args.runs)]
                # The document's median time; the slowest concurrent request over all runs.
                cells.append((statistics.median(r[0] for r in runs), max(r[1] for r in runs), runs[0][2]))
                size = runs[0][3]
            (t0, l0, _), (t1, l1, rss) = cells
            rows.append(
                f"| {label} | {name} × aliases, {'warm' if warm else 'cold'} | {cost:,} "
                f"| {t0 * 1000:.0f} / {t1 * 1000:.0f} ms | {l0 * 1000:.0f} / {l1 * 1000:.0f} ms "
                f"| {rss:.0f} MB | {size / 1e6:.2f} MB |"
            )
            print(rows[-1], file=sys.stderr)
    return rows


async def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--requests", type=int, default=200_000)
    p.add_argument("--days", type=int, default=366)
    p.add_argument("--limit", type=int, default=DEFAULT_MAX_QUERY_COST)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--sqlite", help="SQLite file to build (or reuse with --reuse)")
    p.add_argument("--postgres-url", help="an empty PostgreSQL database")
    p.add_argument("--start-postgres", action="store_true", help="start a throwaway server")
    p.add_argument("--reuse", action="store_true", help="the SQLite database is already generated")
    args = p.parse_args()

    rows = [
        "| database | document | cost | time, on the serving loop / on the lane "
        "| slowest concurrent `{ viewer { id } }`, same | peak RSS growth (lane) | answer |",
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
            pg_args = argparse.Namespace(**{**vars(args), "reuse": False})
            rows += await bench("PostgreSQL", url, pg_args)
    finally:
        if server is not None:
            server.stop()
    print(f"\nMAX_QUERY_COST {args.limit:,}; {args.requests:,} requests over {args.days} days\n")
    print("\n".join(rows))


if __name__ == "__main__":
    asyncio.run(main())
