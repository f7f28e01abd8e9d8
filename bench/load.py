"""Load: statsgraph with several workers, many concurrent dashboard clients (admins and users
mixed) for a bounded time. Every response is checked for errors and for scope (its figures
belong to its token). Prints requests per second, p50 and p99.

    python bench/load.py --database-url postgresql://... --redis-url redis://... \\
        --workers 2 --clients 32 --seconds 20

The database must already hold data (`statsgraph demo --no-serve`, or bench/queries.py)."""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from statsgraph.server.auth import mint_token  # noqa: E402
from statsgraph.server.settings import Settings, normalize_database_url  # noqa: E402

SECRET = "load-secret-0123456789abcdef0123456789"
ADMIN_DOC = """{ viewer { id } dashboardStats { allTime { requests totalTokens cost } today { requests cost }
  yesterday { requests } month { requests cost } systemHealth { errorRate avgResponseTime } users { total } }
  providerStatus { name requests } dailyStats(days: 7) { days { date requests cost } } }"""
FULL_DOC = """{ viewer { id } dashboardStats {
  allTime { ...T } today { ...T } yesterday { ...T } month { ...T } apiKeys { total active } users { total active }
  systemHealth { avgResponseTime errorRate errorRequests fallbackCount totalRequests } }
  recentRequests(limit: 20) { id createdAt model user { username } provider { name } totalTokens cost }
  providerStatus { name requests }
  dailyStats(days: 7) { period { startDate endDate } days { date requests totalTokens cost avgResponseTime
    uniqueModels uniqueProviders fallbackCount modelBreakdown { model cost } }
    modelSummary { model requests cost avgResponseTime costPerRequest tokensPerRequest } } }
fragment T on UsageTotals { requests successRequests errorRequests errorRate inputTokens outputTokens
  cacheCreationTokens cacheReadTokens totalTokens cacheHitRate cost actualCost costSavings cacheCreationCost
  cacheReadCost avgResponseTime fallbackCount }"""
USER_DOC = """{ viewer { id } dashboardStats { allTime { requests totalTokens cost } today { requests }
  month { requests cacheHitRate } quota { usedUsd } apiKeys { total } }
  recentRequests(limit: 10) { user { id } } dailyStats(days: 7) { days { date requests } } }"""


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    scope_violations: list[str] = field(default_factory=list)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def viewers(database_url: str) -> tuple[tuple[str, int], list[tuple[str, int]]]:
    """The admin and users, each with the all-time request count of their scope (computed here,
    independently: every row for the admin, their own rows for a user)."""
    from sqlalchemy import String, cast, func, select

    from statsgraph.db.engine import make_engine
    from statsgraph.db.models import Usage, User

    engine = make_engine(database_url)
    # Aether's `role` is a PostgreSQL enum (`userrole`, labels ADMIN/USER), statsgraph's demo a
    # string: compared as text, either way.
    is_admin = func.lower(cast(User.role, String)) == "admin"
    live = (User.is_active.is_(True), User.is_deleted.is_(False))
    async with engine.connect() as conn:
        admin = (await conn.execute(select(User.id).where(is_admin, *live).limit(1))).scalar_one()
        users = (await conn.execute(select(User.id).where(~is_admin, *live))).scalars().all()
        counts = dict((await conn.execute(
            select(Usage.user_id, func.count()).where(Usage.user_id.in_(users)).group_by(Usage.user_id)
        )).all())
        everything = (await conn.execute(select(func.count()).select_from(Usage))).scalar_one()
    await engine.dispose()
    return (admin, int(everything)), [(u, int(counts.get(u, 0))) for u in users]


def statements_per_request(metrics: str) -> str:
    """Mean SQL statements per GraphQL request, from one worker's /metrics."""
    total = count = 0.0
    for line in metrics.splitlines():
        if line.startswith("statsgraph_sql_statements_per_request_sum"):
            total = float(line.split()[-1])
        elif line.startswith("statsgraph_sql_statements_per_request_count"):
            count = float(line.split()[-1])
    return f"{total / count:.1f}" if count else "?"


async def client_loop(
    base: str, plan: list[tuple[str, str, str, int]], admin_id: str, deadline: float, tally: Tally
) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        while time.monotonic() < deadline:
            viewer_id, token, doc, expected = random.choice(plan)
            started = time.perf_counter()
            try:
                r = await client.post("/graphql", json={"query": doc}, headers={"Authorization": f"Bearer {token}"})
            except httpx.HTTPError as exc:
                tally.errors.append(f"transport: {exc!r}")
                continue
            tally.latencies.append(time.perf_counter() - started)
            body = r.json() if r.headers.get("content-type", "").startswith("application/json") else {}
            if r.status_code != 200 or body.get("errors"):
                tally.errors.append(f"{r.status_code}: {str(body.get('errors'))[:200]}")
                continue
            data = body["data"]
            if data["viewer"]["id"] != viewer_id:
                tally.scope_violations.append(f"viewer {data['viewer']['id']} for token of {viewer_id}")
            # All-time requests equal the scope's row count (data is static during the run): the
            # admin's every row, a user's their own; and a user's recent requests are all theirs.
            if data["dashboardStats"]["allTime"]["requests"] != expected:
                tally.scope_violations.append(
                    f"{viewer_id}: allTime.requests {data['dashboardStats']['allTime']['requests']} != {expected}"
                )
            if viewer_id != admin_id:
                owners = {row["user"]["id"] for row in data["recentRequests"] if row["user"]}
                if owners - {viewer_id}:
                    tally.scope_violations.append(f"{viewer_id}: recent requests of {owners - {viewer_id}}")


async def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--database-url", required=True)
    p.add_argument("--redis-url")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--clients", type=int, default=32)
    p.add_argument("--seconds", type=float, default=20)
    p.add_argument("--admin-share", type=float, default=0.3)
    p.add_argument("--full-dashboard", action="store_true",
                   help="every client sends the full dashboard document as the admin")
    p.add_argument("--cold", action="store_true", help="TTLs of 0: every request computes")
    args = p.parse_args()

    url = normalize_database_url(args.database_url)
    settings = Settings(database_url=url, jwt_secret_key=SECRET)
    (admin, everything), users = await viewers(url)
    plan: list[tuple[str, str, str, int]] = []
    if args.full_dashboard:
        plan.append((admin, mint_token(admin, settings=settings), FULL_DOC, everything))
    else:
        n_admin = max(1, round(len(users) * args.admin_share))
        plan += [(admin, mint_token(admin, settings=settings), ADMIN_DOC, everything)] * n_admin
        plan += [(u, mint_token(u, settings=settings), USER_DOC, n) for u, n in users]

    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "JWT_SECRET_KEY": SECRET}
    if args.redis_url:
        env["REDIS_URL"] = args.redis_url
    if args.cold:
        for name in ("TTL_DASHBOARD_GLOBAL", "TTL_DASHBOARD_USER", "TTL_PROVIDER_STATUS", "TTL_DAILY_STATS",
                     "TTL_CLOSED_MAX"):
            env[name] = "0"
    server_log = open(os.environ.get("STATSGRAPH_LOAD_LOG", os.devnull), "w")  # noqa: SIM115
    server = subprocess.Popen(
        [sys.executable, "-m", "statsgraph.server.cli", "serve", "--port", str(port), "--workers", str(args.workers)],
        # The server logs a line per request: to a file, since an unread pipe would fill and block it.
        env=env, stdout=subprocess.DEVNULL, stderr=server_log,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                httpx.get(base + "/healthz", timeout=1)
                break
            except httpx.HTTPError:
                await asyncio.sleep(0.1)
        else:
            raise SystemExit("the server did not start within 60 s")
        tally = Tally()
        deadline = time.monotonic() + args.seconds
        started = time.monotonic()
        await asyncio.gather(*(client_loop(base, plan, admin, deadline, tally) for _ in range(args.clients)))
        elapsed = time.monotonic() - started
        metrics = httpx.get(base + "/metrics", timeout=60).text
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            print("the server did not stop within 20 s of SIGTERM: requests still in flight", file=sys.stderr)
            server.kill()
        server_log.close()

    lat = sorted(tally.latencies)
    p50 = statistics.median(lat) * 1000 if lat else float("nan")
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000 if lat else float("nan")
    cache = ("Redis" if args.redis_url else "in-process") + (", cold (TTL 0)" if args.cold else ", warm")
    db = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    mix = "full dashboard (admin)" if args.full_dashboard else "admin/user mix"
    print(f"| {db} | {mix} | {cache} | {args.workers} | {args.clients} | {len(lat) / elapsed:.0f} | {p50:.1f} ms "
          f"| {p99:.1f} ms | {statements_per_request(metrics)} | {len(tally.errors)} | {len(tally.scope_violations)} |")
    for line in (tally.errors + tally.scope_violations)[:10]:
        print("  ", line, file=sys.stderr)
    if tally.errors or tally.scope_violations:
        raise SystemExit(1)


if __name__ == "__main__":
    asyncio.run(main())
