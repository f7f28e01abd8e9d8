"""Generated Aether traffic for the demo database and for benchmarks.

Everything comes from one seeded `random.Random`, so a seed and a `now` give the same database
every time. Rows are written with Core `insert()` executemany in chunks: building ORM objects for
a million requests would cost more than generating them."""
from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, TypeVar

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from ..core.calendar import BusinessCalendar
from ..db.models import ApiKey, Provider, RequestCandidate, Usage, User
from .people import (
    build_keys,
    build_users,
    new_uuid,
    quota_of,
    user_count,
)
from .traffic import Traffic, sample_times
from .world import (
    PROVIDERS,
)

UTC = timezone.utc
CHUNK = 5_000
CHUNKS_PER_COMMIT = 10
SQLITE_CACHE_KIB = 256 * 1024
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class DemoSummary:
    users: int
    api_keys: int
    providers: int
    requests: int
    candidates: int
    first_day: date
    last_day: date


async def _ensure_empty(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        for table in (User, Usage):
            if (await conn.execute(select(func.count()).select_from(table))).scalar_one():
                raise ValueError(
                    f"generate_demo fills an empty database; table {table.__tablename__!r} has rows"
                )


async def generate_demo(
    engine: AsyncEngine,
    *,
    requests: int = 50_000,
    days: int = 90,
    seed: int = 7,
    now: datetime | None = None,
    tz: str = "Asia/Shanghai",
    progress: Callable[[int, int], None] | None = None,
) -> DemoSummary:
    """Fill an empty database (tables created) with `requests` usage rows spread over the last
    `days` business days of `tz`, today included up to `now`."""
    if requests < 0 or days < 1:
        raise ValueError("requests must be >= 0 and days >= 1")
    now = now or datetime.now(UTC)
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    now = now.astimezone(UTC)
    await _ensure_empty(engine)

    rng = random.Random(seed)
    cal = BusinessCalendar(tz, clock=lambda: now)
    last_day = cal.today()
    first_day = last_day - timedelta(days=days - 1)
    start, end = cal.day_start(first_day).timestamp(), now.timestamp()
    span = end - start

    user_rows, profiles = build_users(rng, user_count(requests), start, end)
    created = {row["id"]: row["created_at"] for row in user_rows}
    key_rows = build_keys(rng, profiles, created)
    oldest = min(created.values())
    provider_rows = [
        {
            "id": new_uuid(rng), "name": p.name, "display_name": p.display_name, "billing_type": p.billing_type,
            "is_active": p.active, "created_at": oldest - timedelta(days=30 - 3 * i),
        }
        for i, p in enumerate(PROVIDERS)
    ]
    provider_ids = {row["name"]: row["id"] for row in provider_rows}
    async with engine.begin() as conn:
        await conn.execute(insert(User), user_rows)
        await conn.execute(insert(ApiKey), key_rows)
        await conn.execute(insert(Provider), provider_rows)

    # A handful of requests still in flight at `now`, on top of the finished ones.
    live = min(6, requests // 500) if requests >= 50 else 0
    times = sample_times(rng, requests - live, cal, start, end)
    times += sorted(max(start, end - rng.uniform(1, 240)) for _ in range(live))
    live_from = requests - live
    traffic = Traffic(rng, profiles, provider_ids, retire_at=start + 0.35 * span)

    def make(first: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        usage_rows: list[dict[str, Any]] = []
        candidate_rows: list[dict[str, Any]] = []
        for i in range(first, min(requests, first + CHUNK)):
            row, candidates = traffic.request(times[i], i >= live_from)
            usage_rows.append(row)
            candidate_rows.extend(candidates)
        return usage_rows, candidate_rows

    async with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            # Random ids land all over their indexes: a cache that holds them, and commits that
            # each cover many chunks, keep SQLite from rewriting the same pages chunk after chunk.
            await conn.exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
        try:
            done = 0
            for n, first in enumerate(range(0, requests, CHUNK)):
                usage_rows, candidate_rows = make(first)
                await conn.execute(insert(Usage), usage_rows)
                await conn.execute(insert(RequestCandidate), candidate_rows)
                done += len(usage_rows)
                if (n + 1) % CHUNKS_PER_COMMIT == 0 or done == requests:
                    await conn.commit()
                if progress is not None:
                    progress(done, requests)
        finally:
            if sqlite:
                await conn.exec_driver_sql("PRAGMA cache_size = -2000")
    if progress is not None and requests == 0:
        progress(0, 0)

    async with engine.begin() as conn:
        await conn.execute(
            update(User).where(User.id == bindparam("b_id")).values(
                used_usd=bindparam("b_used"), quota_usd=bindparam("b_quota")
            ),
            [{"b_id": p.id, "b_used": p.spent, "b_quota": quota_of(rng, p)} for p in profiles],
        )

    return DemoSummary(
        users=len(user_rows), api_keys=len(key_rows), providers=len(provider_rows), requests=requests,
        candidates=traffic.candidates, first_day=first_day, last_day=last_day,
    )


__all__ = ["DemoSummary", "generate_demo"]
