"""Faults under load: a two-worker server on PostgreSQL and Redis keeps answering many concurrent
dashboard clients while the test stops and restarts Redis, then PostgreSQL.

Every response is classified against figures computed here with plain SQL, before the run:
- correct: no errors, and every figure belongs to the token's own scope;
- unavailable: every error is SERVICE_UNAVAILABLE (allowed only while PostgreSQL is down or
  reconnecting), and any figure that did come back is still correct;
- anything else (a 5xx, another error code, a transport failure, a wrong or foreign figure) fails."""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
import time
from dataclasses import dataclass, field

import httpx
import pytest
from sqlalchemy import text

from statsgraph.db.engine import make_engine
from statsgraph.db.setup import init_database
from statsgraph.demo.generator import generate_demo
from statsgraph.server.auth import mint_token
from statsgraph.server.settings import Settings
from tests.servers import PostgresServer, RedisServer, available, free_port, skip_or_fail

pytestmark = pytest.mark.slow

SECRET = "fault-load-secret-0123456789abcdef012345"
DOC = """{ viewer { id } dashboardStats { allTime { requests } today { requests } }
  recentRequests(limit: 5) { user { id } } }"""
CLIENTS = 8


@dataclass
class Outcome:
    at: float
    kind: str  # "correct" | "unavailable" | "wrong"
    latency: float
    detail: str = ""


@dataclass
class Run:
    started: float = field(default_factory=time.monotonic)
    outcomes: list[Outcome] = field(default_factory=list)

    def between(self, start: float, end: float) -> list[Outcome]:
        return [o for o in self.outcomes if start <= o.at < end]


@pytest.fixture
def servers():  # noqa: ANN201
    for kind in ("postgres", "redis"):
        reason = available(kind)
        if reason:
            skip_or_fail(reason)
    with PostgresServer() as pg, RedisServer() as redis:
        yield pg, redis


async def expected_figures(url: str) -> tuple[str, dict[str, int]]:
    """The admin's id, and all-time request counts by viewer id (the admin's is every row)."""
    engine = make_engine(url)
    async with engine.connect() as conn:
        admin = (await conn.execute(text(
            "SELECT id FROM users WHERE role = 'admin' AND is_active AND NOT is_deleted LIMIT 1"
        ))).scalar_one()
        users = (await conn.execute(text(
            "SELECT id FROM users WHERE role <> 'admin' AND is_active AND NOT is_deleted"
        ))).scalars().all()
        per_user = dict((await conn.execute(text("SELECT user_id, count(*) FROM usage GROUP BY user_id"))).all())
        everything = (await conn.execute(text("SELECT count(*) FROM usage"))).scalar_one()
    await engine.dispose()
    counts = {u: int(per_user.get(u, 0)) for u in users}
    counts[admin] = int(everything)
    return admin, counts


def classify(response: httpx.Response, viewer: str, admin: str, counts: dict[str, int]) -> tuple[str, str]:
    if response.status_code != 200:
        return "wrong", f"HTTP {response.status_code}: {response.text[:200]}"
    body = response.json()
    data = body.get("data") or {}
    problems = []
    if data.get("viewer") and data["viewer"]["id"] != viewer:
        problems.append(f"viewer {data['viewer']['id']} for a token of {viewer}")
    stats = data.get("dashboardStats") or {}
    if stats.get("allTime") and stats["allTime"]["requests"] != counts[viewer]:
        problems.append(f"allTime.requests {stats['allTime']['requests']} != {counts[viewer]}")
    if viewer != admin:
        owners = {r["user"]["id"] for r in data.get("recentRequests") or [] if r.get("user")}
        if owners - {viewer}:
            problems.append(f"recent requests of {owners - {viewer}}")
    if problems:
        return "wrong", "; ".join(problems)
    errors = body.get("errors") or []
    if not errors:
        return "correct", ""
    codes = {e.get("extensions", {}).get("code") for e in errors}
    if codes == {"SERVICE_UNAVAILABLE"}:
        return "unavailable", ""
    return "wrong", f"error codes {codes}: {str(errors)[:200]}"


async def client_loop(base: str, plan: list[tuple[str, str]], admin: str, counts: dict[str, int],
                      run: Run, stop: asyncio.Event) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        while not stop.is_set():
            viewer, token = random.choice(plan)
            sent = time.monotonic()
            try:
                r = await client.post("/graphql", json={"query": DOC}, headers={"Authorization": f"Bearer {token}"})
            except httpx.HTTPError as exc:
                run.outcomes.append(Outcome(sent - run.started, "wrong", time.monotonic() - sent, f"transport: {exc!r}"))
                continue
            kind, detail = classify(r, viewer, admin, counts)
            run.outcomes.append(Outcome(sent - run.started, kind, time.monotonic() - sent, detail))


async def test_redis_and_postgres_restarts_under_load(servers, tmp_path) -> None:  # noqa: ANN001
    pg, redis = servers
    url = pg.url
    engine = make_engine(url)
    await init_database(engine)
    await generate_demo(engine, requests=4_000, days=14)
    await engine.dispose()
    admin, counts = await expected_figures(url)
    settings = Settings(database_url=url, jwt_secret_key=SECRET)
    plan = [(admin, mint_token(admin, settings=settings))] * 3
    plan += [(u, mint_token(u, settings=settings)) for u in counts if u != admin]

    port = free_port()
    env = {
        **os.environ, "DATABASE_URL": url, "REDIS_URL": redis.url, "JWT_SECRET_KEY": SECRET,
        # Short TTLs, so the database is read throughout and not only on the first requests.
        "TTL_DASHBOARD_GLOBAL": "1", "TTL_DASHBOARD_USER": "1", "REDIS_BREAKER_SECONDS": "2",
    }
    log_path = tmp_path / "server.log"
    with open(log_path, "w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "statsgraph.server.cli", "serve", "--port", str(port), "--workers", "2"],
            env=env, stdout=subprocess.DEVNULL, stderr=log,
        )
    base = f"http://127.0.0.1:{port}"
    run = Run()
    stop = asyncio.Event()
    try:
        async with httpx.AsyncClient(base_url=base, timeout=2) as probe:
            for _ in range(300):
                try:
                    await probe.get("/healthz")
                    break
                except httpx.HTTPError:
                    await asyncio.sleep(0.1)
            else:
                pytest.fail("the server did not start:\n" + log_path.read_text()[-2000:])

            run = Run()
            clients = [asyncio.create_task(client_loop(base, plan, admin, counts, run, stop)) for _ in range(CLIENTS)]
            clock = lambda: time.monotonic() - run.started  # noqa: E731

            await asyncio.sleep(3)
            redis_down = clock()
            await asyncio.to_thread(redis.stop)
            await asyncio.sleep(4)
            await asyncio.to_thread(redis.start)
            redis_up = clock()
            await asyncio.sleep(4)  # past the breaker, so Redis is back in use before the next fault
            pg_down = clock()
            await asyncio.to_thread(pg.stop)
            await asyncio.sleep(4)
            pg_ready_during_outage = (await probe.get("/readyz")).status_code
            await asyncio.to_thread(pg.start)
            pg_up = clock()

            # Recovery: wait until a full second of answers is all correct, then keep going 3 s.
            recovered = None
            while clock() < pg_up + 30:
                await asyncio.sleep(0.5)
                recent = run.between(clock() - 1, clock())
                if recent and all(o.kind == "correct" for o in recent):
                    recovered = clock()
                    break
            await asyncio.sleep(3)
            ready_after = (await probe.get("/readyz")).status_code
            stop.set()
            await asyncio.gather(*clients)
            end = clock()
    finally:
        stop.set()
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()

    wrong = [o for o in run.outcomes if o.kind == "wrong"]
    assert not wrong, f"{len(wrong)} wrong answers, e.g. {[(round(o.at, 1), o.detail) for o in wrong[:5]]}"

    # Redis down and back: every answer is correct (cache-less), and none waits on Redis for long.
    # Judged by when the answer came: a request sent before PostgreSQL's stop but answered after
    # it may rightly say SERVICE_UNAVAILABLE (on a loaded machine answers can take seconds).
    redis_phase = [o for o in run.between(0, pg_down) if o.at + o.latency < pg_down]
    assert len(redis_phase) > 50
    assert all(o.kind == "correct" for o in redis_phase), [o.detail for o in redis_phase if o.kind != "correct"][:5]
    during_redis_outage = run.between(redis_down, redis_up)
    assert len(during_redis_outage) > 10
    assert max(o.latency for o in during_redis_outage) < 5
    # The workers did see the outage, and said so once per breaker period, not once per request.
    warnings = log_path.read_text().count("Redis unavailable")
    assert 1 <= warnings <= 2 * (4 // 2 + 3), warnings  # 2 workers, 4 s outage, 2 s breaker

    # PostgreSQL down: clean SERVICE_UNAVAILABLE answers, not-ready probe, then full recovery.
    unavailable = [o for o in run.outcomes if o.kind == "unavailable"]
    assert unavailable, "no request saw the PostgreSQL outage"
    assert all(o.at + o.latency >= pg_down for o in unavailable), "SERVICE_UNAVAILABLE answered before the outage"
    assert pg_ready_during_outage == 503
    assert recovered is not None, "no recovery within 30 s of PostgreSQL's restart:\n" + log_path.read_text()[-2000:]
    after = run.between(recovered, end)
    assert len(after) > 20 and all(o.kind == "correct" for o in after)
    assert ready_after == 200
    # Errors were not cached: the figures served after recovery are the right ones (checked per
    # answer above), and nothing unavailable came back once recovered.
    assert not [o for o in unavailable if o.at >= recovered]
