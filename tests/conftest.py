"""Shared fixtures: real databases (SQLite file, throwaway PostgreSQL), real Redis, and an app
client per role."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest

from statsgraph.db.engine import make_engine, make_session_factory
from statsgraph.db.models import Base
from statsgraph.server.app import create_app
from statsgraph.server.auth import mint_token
from statsgraph.server.runtime import make_runtime
from statsgraph.server.settings import Settings
from tests.factories import edge_case_dataset, insert_dataset
from tests.reference import Dataset, UserRow
from tests.servers import PostgresServer, RedisServer, available, skip_or_fail

SECRET = "test-secret-0123456789abcdef0123456789"


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    reason = available("postgres")
    if reason:
        skip_or_fail(reason)
    with PostgresServer() as server:
        yield server


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    reason = available("redis")
    if reason:
        skip_or_fail(reason)
    with RedisServer() as server:
        yield server


def fresh_database_url(kind: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    if kind == "sqlite":
        path: Path = tmp_path_factory.mktemp("db") / "stats.db"
        return f"sqlite+aiosqlite:///{path}"
    server: PostgresServer = request.getfixturevalue("postgres")
    # Unique names: this module is imported twice (as pytest's conftest and as tests.conftest).
    return server.create_database(f"t_{uuid.uuid4().hex[:12]}")


async def create_tables(url: str) -> None:
    engine = make_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    await engine.dispose()


async def load_dataset(url: str, *, now: datetime, tz: str) -> Dataset:
    """Create the tables and insert the edge-case dataset; the returned rows are what the
    reference computes from."""
    await create_tables(url)
    ds = edge_case_dataset(now=now, tz=tz)
    engine = make_engine(url)
    async with make_session_factory(engine)() as session:
        await insert_dataset(session, ds)
    await engine.dispose()
    return ds


def sqlite_url(tmp_path_factory: pytest.TempPathFactory, name: str) -> str:
    return f"sqlite+aiosqlite:///{tmp_path_factory.mktemp(name) / 'db.sqlite'}"


def live_admin(ds: Dataset):  # noqa: ANN201
    return next(u for u in ds.users if u.role == "admin" and u.is_active and not u.is_deleted)


def live_users(ds: Dataset) -> list:
    return [u for u in ds.users if u.role != "admin" and u.is_active and not u.is_deleted]


@pytest.fixture(params=["sqlite", "postgresql"])
async def empty_db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    url = fresh_database_url(request.param, request, tmp_path_factory)
    await create_tables(url)
    return url


# For tests of the analytics' figures, where a report's size is what is under test; the cost
# limit has its own tests.
UNPRICED = 10**9


# Every dashboard TTL 0: each request computes its figures (a cold server).
COLD_TTLS = {"ttl_dashboard_global": 0, "ttl_dashboard_user": 0, "ttl_daily_stats": 0, "ttl_provider_status": 0}


def settings_for(url: str, *, tz: str = "Asia/Shanghai", redis_url: str | None = None, **kw: object) -> Settings:
    return Settings(
        database_url=url, jwt_secret_key=SECRET, app_timezone=tz, redis_url=redis_url, **kw  # type: ignore[arg-type]
    )


class Api:
    """An HTTP client of the app, speaking GraphQL, with one viewer's token."""

    def __init__(self, client: httpx.AsyncClient, token: str | None) -> None:
        self.client = client
        self.token = token

    async def post(self, query: str, variables: dict | None = None, token: str | None = ...) -> httpx.Response:  # type: ignore[assignment]
        tok = self.token if token is ... else token
        headers = {"Authorization": f"Bearer {tok}"} if tok else {}
        return await self.client.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)

    async def query(self, query: str, variables: dict | None = None) -> dict:
        response = await self.post(query, variables)
        assert response.status_code == 200, response.text
        body = response.json()
        assert not body.get("errors"), body["errors"]
        return body["data"]


@asynccontextmanager
async def app_client(
    settings: Settings, now: datetime | Callable[[], datetime] | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    """The app over ASGI; `now` is a fixed instant or a clock the test moves."""
    clock = now if callable(now) else (lambda: now) if now else None
    runtime = make_runtime(settings, clock=clock)
    app = create_app(settings, runtime=runtime)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client
    finally:
        await app.state.lane.close(timeout=5)
        await runtime.engine.dispose()
        if hasattr(runtime.shared, "close"):
            await runtime.shared.close()


async def fetch(url: str, stmt: Any) -> list[Any]:
    """The rows of one statement, on a connection of its own."""
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return list(await conn.execute(stmt))
    finally:
        await engine.dispose()


def aware(instant: datetime) -> datetime:
    """A timestamp as UTC-aware (SQLite returns them naive)."""
    return instant if instant.tzinfo else instant.replace(tzinfo=timezone.utc)


async def run_sql(url: str, *stmts: Any) -> None:
    """Run statements against the database in one transaction (a test changing rows)."""
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            for stmt in stmts:
                await conn.execute(stmt)
    finally:
        await engine.dispose()


def token_for(user_id: str, settings: Settings) -> str:
    return mint_token(user_id, settings=settings)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def assert_forbidden(body: dict, path: list[str] | None = None) -> None:
    errors = body.get("errors") or []
    assert errors, f"expected a FORBIDDEN error, got {body}"
    codes = {e.get("extensions", {}).get("code") for e in errors}
    assert codes == {"FORBIDDEN"}, errors
    if path is not None:
        assert any(e.get("path") == path for e in errors), errors


# --- one shared dataset and a client per role --------------------------------------------------

EDGE_NOW = datetime(2026, 3, 10, 15, 30, tzinfo=timezone.utc)
EDGE_TZ = "Asia/Shanghai"


@dataclass(frozen=True)
class EdgeWorld:
    """The edge-case dataset on SQLite, loaded once per run. Read-only: a test that changes
    rows builds its own database."""

    url: str
    ds: Dataset
    admin: UserRow
    user: UserRow  # the heaviest live user
    other: UserRow  # another live user

    def settings(self, **overrides: object) -> Settings:
        return settings_for(self.url, tz=EDGE_TZ, **overrides)


@pytest.fixture(scope="session")
async def edge_world(tmp_path_factory: pytest.TempPathFactory) -> EdgeWorld:
    url = sqlite_url(tmp_path_factory, "edge")
    ds = await load_dataset(url, now=EDGE_NOW, tz=EDGE_TZ)
    users = live_users(ds)
    heaviest = max(users, key=lambda u: sum(1 for r in ds.usage if r.user_id == u.id))
    other = next(u for u in users if u.id != heaviest.id)
    return EdgeWorld(url, ds, live_admin(ds), heaviest, other)


@pytest.fixture
async def admin_api(edge_world: EdgeWorld) -> AsyncIterator[Api]:
    settings = edge_world.settings()
    async with app_client(settings, EDGE_NOW) as client:
        yield Api(client, token_for(edge_world.admin.id, settings))


@pytest.fixture
async def user_api(edge_world: EdgeWorld) -> AsyncIterator[Api]:
    settings = edge_world.settings()
    async with app_client(settings, EDGE_NOW) as client:
        yield Api(client, token_for(edge_world.user.id, settings))
