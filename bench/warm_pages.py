"""Warm pages side by side: the seed's endpoints answering from their Redis cache, and statsgraph
answering from its field cache in the same Redis, on a database `bench/seed_compare.py` built.

    python bench/warm_pages.py sqlite+aiosqlite:////tmp/cmp1m.db --runs 50

The seed's `cache_result` decorator keeps the stats, provider and daily endpoints' JSON in Redis
for their TTLs; recent requests were never cached. A warm seed page is then the viewer's lookup
(authentication), the recent requests' statements (`bench/seed_baseline.py`, N+1 included), and
one GET per cached endpoint with decoding its JSON. Those blobs here are the JSON of statsgraph's
answer to the same fields (the same figures), since the seed's own formatting is not part of
`bench/seed_baseline.py`. The seed
side is timed without any HTTP framework around it; statsgraph's includes its whole HTTP path
(ASGI, authentication, GraphQL parsing and validation, the cache reads, the JSON response), so
the comparison leans towards the seed.

Both sides use one engine and one Redis connection pool across runs (a running server's steady
state), are primed by one request, and report the median of `--runs`; statements per page
include authentication on both sides."""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

import httpx
import redis.asyncio as aioredis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import seed_baseline  # noqa: E402
from seed_compare import ADMIN_PAGE, SECRET, TZ, USER_PAGE, viewers  # noqa: E402
from sqlalchemy import select  # noqa: E402

from statsgraph.db.engine import count_statements, make_engine, make_session_factory  # noqa: E402
from statsgraph.db.models import User  # noqa: E402
from statsgraph.db.setup import missing_indexes  # noqa: E402
from statsgraph.server.app import create_app  # noqa: E402
from statsgraph.server.auth import mint_token  # noqa: E402
from statsgraph.server.runtime import make_runtime  # noqa: E402
from statsgraph.server.settings import Settings  # noqa: E402

# The seed's cached endpoints, and the field of statsgraph's answer that stands in for each blob.
ENDPOINTS = {"stats": "dashboardStats", "providers": "providerStatus", "daily": "dailyStats"}


def fmt(ms: float) -> str:
    return f"{ms:,.0f} ms" if ms >= 100 else f"{ms:.1f} ms"


async def timed_runs(run, runs: int) -> tuple[float, int]:  # noqa: ANN001
    times, counts = [], set()
    for _ in range(runs):
        async with count_statements() as counter:
            started = time.perf_counter()
            await run()
            times.append((time.perf_counter() - started) * 1000)
        counts.add(counter.count)
    return statistics.median(times), max(counts)


async def page(url: str, redis_url: str, viewer: str, user_id: str | None, document: str, runs: int,
               label: str) -> str:
    settings = Settings(database_url=url, jwt_secret_key=SECRET, app_timezone=TZ, redis_url=redis_url)
    runtime = make_runtime(settings)
    runtime.indexes.note(await missing_indexes(runtime.engine))
    app = create_app(settings, runtime=runtime)
    token = mint_token(viewer, settings=settings)
    headers = {"Authorization": f"Bearer {token}"}
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench")

    async def graph() -> dict:
        r = await client.post("/graphql", json={"query": document}, headers=headers)
        body = r.json()
        if body.get("errors"):
            raise RuntimeError(body["errors"])
        return body["data"]

    data = await graph()  # primes the field cache
    redis = aioredis.from_url(redis_url)
    seed_engine = make_engine(url)
    sessions = make_session_factory(seed_engine)
    keys = {name: f"seed:{label}:{viewer}:{name}" for name in ENDPOINTS}
    for name, field in ENDPOINTS.items():
        await redis.set(keys[name], json.dumps(data[field]))

    async def seed() -> None:
        async with sessions() as session:
            await session.execute(select(User).where(User.id == viewer))  # authentication
            await seed_baseline.recent_requests(session, 20, user_id)
        for name in ENDPOINTS:
            json.loads(await redis.get(keys[name]))

    await seed()
    try:
        seed_ms, seed_n = await timed_runs(seed, runs)
        graph_ms, graph_n = await timed_runs(graph, runs)
    finally:
        await client.aclose()
        await redis.aclose()
        await seed_engine.dispose()
        await runtime.engine.dispose()
        await runtime.shared.close()  # type: ignore[attr-defined]
    db = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    size = sum(len(json.dumps(data[f])) for f in ENDPOINTS.values())
    return (f"| {db} | {label} | {fmt(seed_ms)} | {fmt(graph_ms)} | {graph_ms / seed_ms:.2f} | {seed_n} | {graph_n} "
            f"| {size:,} |")


async def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("url", nargs="+", help="databases built by bench/seed_compare.py")
    p.add_argument("--runs", type=int, default=50)
    p.add_argument("--redis-url", help="a Redis to use (default: start a throwaway one, tests/servers.py)")
    args = p.parse_args()
    server = None
    redis_url = args.redis_url
    if redis_url is None:
        from tests.servers import RedisServer

        server = RedisServer().start()
        redis_url = server.url
    rows = []
    try:
        for url in args.url:
            v = await viewers(url)
            rows.append(await page(url, redis_url, v.admin, None, ADMIN_PAGE, args.runs, "admin"))
            print(rows[-1], file=sys.stderr, flush=True)
            rows.append(await page(url, redis_url, v.heavy, v.heavy, USER_PAGE, args.runs, "heavy user"))
            print(rows[-1], file=sys.stderr, flush=True)
    finally:
        if server is not None:
            server.stop()
    print(f"\nwarm pages, median of {args.runs} runs after one priming request\n")
    print("| database | page | seed from Redis | statsgraph from its field cache (Redis) | ratio "
          "| seed stmts | statsgraph stmts | JSON bytes |\n|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    asyncio.run(main())
