"""Generated Aether traffic for the demo database and for benchmarks.

Everything comes from one seeded `random.Random`, so a seed and a `now` give the same database
every time. Rows are written with Core `insert()` executemany in chunks: building ORM objects for
a million requests would cost more than generating them."""

from __future__ import annotations

import math
import random
import uuid
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from itertools import accumulate
from typing import Any, TypeVar

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from ..core.calendar import BusinessCalendar
from ..db.models import ApiKey, Provider, RequestCandidate, Usage, User
from .world import (
    FAILURE_RATE,
    FAILURES,
    FALLBACK_RATE,
    GROWTH,
    HOUR_WEIGHTS,
    KEY_NAMES,
    MODELS,
    NAMES,
    NO_LATENCY_RATE,
    PROVIDER_ID_MISSING_RATE,
    PROVIDERS,
    RETIRED,
    STREAM_CUT_MESSAGES,
    STREAM_CUT_RATE,
    WEEKEND_FACTOR,
    ModelSpec,
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


@dataclass(slots=True)
class _Profile:
    """One user's habits, and what their traffic has cost so far."""

    id: str
    username: str
    weight: float
    rate: float
    heavy: bool
    stream_share: float
    cache_share: float
    quota_kind: str  # "unlimited" | "zero" | "positive"
    models: tuple[list[float], Sequence[ModelSpec]]
    keys: tuple[list[float], Sequence[str]]
    since: float = -math.inf
    until: float = math.inf
    # Usage rows name this id; None for the user whose rows Aether unlinked on deletion.
    usage_user_id: str | None = None
    keys_kept: bool = True
    keys_active: bool = True
    spent: float = 0.0
    key_ids: list[str] = field(default_factory=list)


def _table(items: Sequence[T], weights: Sequence[float]) -> tuple[list[float], Sequence[T]]:
    return list(accumulate(weights)), items


def _pick(rng: random.Random, table: tuple[list[float], Sequence[T]]) -> T:
    cum, items = table
    return items[bisect_right(cum, rng.random() * cum[-1])]


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _user_count(requests: int) -> int:
    return max(12, min(400, round(40 * (max(requests, 1) / 50_000) ** 0.25)))


def _usernames(n: int) -> list[str]:
    return [NAMES[i] if i < len(NAMES) else f"user{i + 1}" for i in range(n)]


def _build_users(
    rng: random.Random, n: int, start: float, now: float
) -> tuple[list[dict[str, Any]], list[_Profile]]:
    span = now - start
    names = _usernames(n)
    # Traffic rank: alice is the second-heaviest (the demo's user token is hers), the holders of
    # ranks 2 and 5 are deleted and rank 8 is disabled, so all of them have visible history.
    others = list(range(1, n))
    rng.shuffle(others)
    ranks = [0] * n
    order = [others[0], 0, *others[1:]]
    for rank, who in enumerate(order):
        ranks[who] = rank
    by_rank = {rank: who for who, rank in enumerate(ranks)}
    soft_deleted, hard_deleted, disabled = by_rank[2], by_rank[5], by_rank[8]
    zero_quota = by_rank[n - 1]
    special = {0, soft_deleted, hard_deleted, disabled}
    joiners = {i for i in range(int(n * 0.7), n) if i not in special and rng.random() < 0.5}

    ages = sorted((rng.uniform(1, 240) * 86_400 for _ in range(n + 1)), reverse=True)
    rows: list[dict[str, Any]] = []
    profiles: list[_Profile] = []

    admin_id = _uuid(rng)
    rows.append(_user_row(admin_id, "admin", "admin", start - ages[0] - 86_400, active=True, deleted=False))
    profiles.append(_profile(rng, admin_id, "admin", weight=0.02, heavy=False, rate=1.0, quota_kind="unlimited"))

    for i, name in enumerate(names):
        user_id = _uuid(rng)
        rank = ranks[i]
        created = start - ages[i + 1]
        since = -math.inf
        if i in joiners:
            since = start + rng.uniform(0.05, 0.7) * span
            created = since - rng.uniform(600, 3 * 86_400)
        rate = rng.choices((1.0, 0.8, 0.5), weights=(70, 20, 10))[0]
        if i == zero_quota:
            quota_kind = "zero"
        else:
            quota_kind = "unlimited" if rng.random() < 0.35 else "positive"
        profile = _profile(
            rng, user_id, name, weight=1 / (rank + 1) ** 1.15, heavy=rank < 5, rate=rate, quota_kind=quota_kind
        )
        profile.since = since
        if i == soft_deleted:
            profile.until = start + 0.4 * span
        elif i == hard_deleted:
            profile.until = start + 0.6 * span
            profile.usage_user_id = None
            profile.keys_kept = False
        elif i == disabled:
            profile.until = start + 0.8 * span
        deleted = i in (soft_deleted, hard_deleted)
        profile.keys_active = i not in (soft_deleted, hard_deleted, disabled)
        rows.append(_user_row(user_id, name, "user", created, active=i != disabled and not deleted, deleted=deleted))
        profiles.append(profile)
    return rows, profiles


def _user_row(user_id: str, name: str, role: str, created: float, *, active: bool, deleted: bool) -> dict[str, Any]:
    return {
        "id": user_id, "email": f"{name}@example.com", "username": name, "password_hash": "!demo",
        "role": role, "quota_usd": None, "used_usd": 0.0, "is_active": active, "is_deleted": deleted,
        "created_at": datetime.fromtimestamp(created, UTC),
    }


def _profile(
    rng: random.Random, user_id: str, name: str, *, weight: float, heavy: bool, rate: float, quota_kind: str
) -> _Profile:
    # Each user leans on a few models of their own: popularity times a personal taste.
    taste = [m.popularity * rng.lognormvariate(0, 0.9) for m in MODELS]
    return _Profile(
        id=user_id, username=name, weight=weight, rate=rate, heavy=heavy,
        stream_share=min(0.95, max(0.1, rng.gauss(0.6, 0.15))),
        cache_share=0.75 if heavy else rng.uniform(0.1, 0.4),
        quota_kind=quota_kind, models=_table(MODELS, taste), keys=([1.0], [""]),
        usage_user_id=user_id,
    )


def _build_keys(rng: random.Random, profiles: list[_Profile], created: dict[str, datetime]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for profile in profiles:
        count = rng.choices((1, 2, 3, 4), weights=(35, 35, 20, 10))[0]
        names = rng.sample(KEY_NAMES, count)
        ids: list[str] = []
        for j in range(count):
            key_id = _uuid(rng)
            ids.append(key_id)
            rows.append({
                "id": key_id, "user_id": profile.id, "key_hash": f"{rng.getrandbits(256):064x}",
                "name": names[j], "is_active": profile.keys_active and (j == 0 or rng.random() < 0.75),
                "is_standalone": False,
                "created_at": created[profile.id] + timedelta(hours=rng.uniform(0.1, 48) * (j + 1)),
            })
        profile.key_ids = ids
        profile.keys = _table(ids, [1.0 / (j + 1) ** 1.5 for j in range(count)])
    admin = profiles[0]
    rows.append({
        "id": _uuid(rng), "user_id": admin.id, "key_hash": f"{rng.getrandbits(256):064x}",
        "name": "standalone-balance", "is_active": True, "is_standalone": True,
        "created_at": created[admin.id] + timedelta(days=3),
    })
    return rows


def _sample_times(rng: random.Random, n: int, cal: BusinessCalendar, start: float, now: float) -> list[float]:
    """`n` instants in [start, now), sorted, following the daily and weekly rhythm of `cal`."""
    if n <= 0 or now <= start:
        return []
    span = now - start
    bucket_starts: list[float] = []
    weights: list[float] = []
    day_mood: dict[date, float] = {}
    b = start
    while b < now:
        length = min(3_600.0, now - b)
        local = datetime.fromtimestamp(b + length / 2, cal.tz)
        mood = day_mood.get(local.date())
        if mood is None:
            mood = day_mood[local.date()] = rng.lognormvariate(0, 0.15)
        w = HOUR_WEIGHTS[local.hour] * mood * (1 + GROWTH * (b - start) / span) * length / 3_600
        if local.weekday() >= 5:
            w *= WEEKEND_FACTOR
        bucket_starts.append(b)
        weights.append(w)
        b += 3_600.0
    cum = list(accumulate(weights))
    picked = rng.choices(range(len(bucket_starts)), cum_weights=cum, k=n)
    rand = rng.random
    times = [bucket_starts[i] + rand() * min(3_600.0, now - bucket_starts[i]) for i in picked]
    times.sort()
    return times


class _Traffic:
    """Makes one request (its usage row and its candidates) at a time."""

    def __init__(
        self, rng: random.Random, profiles: list[_Profile], provider_ids: dict[str, str], retire_at: float
    ) -> None:
        self.rng = rng
        self.provider_ids = provider_ids
        self.retire_at = retire_at
        self.error_factor = {p.name: p.error_factor for p in PROVIDERS}
        cuts = sorted({t for p in profiles for t in (p.since, p.until) if math.isfinite(t)})
        self.cuts = cuts
        self.user_tables: list[tuple[list[float], Sequence[_Profile]]] = []
        for s in range(len(cuts) + 1):
            lo = cuts[s - 1] if s > 0 else -math.inf
            hi = cuts[s] if s < len(cuts) else math.inf
            members = [p for p in profiles if p.since <= lo and p.until >= hi]
            self.user_tables.append(_table(members, [p.weight for p in members]))
        self.routes = {
            m.name: (
                _table([n for n, _ in m.providers], [w for _, w in m.providers]),
                _table(*zip(*[(n, w) for n, w in m.providers if n != RETIRED], strict=True)),
            )
            for m in MODELS
        }
        self.failure_table = _table(FAILURES, [w for _, w, _ in FAILURES])
        self.candidates = 0

    def request(self, ts: float, live: bool) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        rng = self.rng
        rand = rng.random
        profile: _Profile = _pick(rng, self.user_tables[bisect_right(self.cuts, ts)])
        model: ModelSpec = _pick(rng, profile.models)
        retired = ts >= self.retire_at
        provider: str = _pick(rng, self.routes[model.name][1 if retired else 0])
        is_stream = model.streams and rand() < profile.stream_share

        roll = rand()
        fail_p = FAILURE_RATE * self.error_factor[provider]
        if live:
            outcome = "live"
        elif roll < fail_p:
            outcome = "failed"
        elif roll < fail_p + STREAM_CUT_RATE and is_stream:
            outcome = "cut"
        else:
            outcome = "completed"

        inp = out = cc = cr = 0
        if outcome in ("completed", "cut"):
            scale = 1.6 if profile.heavy else 1.0
            prompt = max(1, min(200_000, int(rng.lognormvariate(math.log(model.prompt_median * scale), 0.9))))
            if model.output_median:
                out = max(1, min(32_000, int(rng.lognormvariate(math.log(model.output_median), 0.8))))
            inp = prompt
            if model.prices[3] and rand() < profile.cache_share:
                cr = int(prompt * rng.uniform(0.5, 0.95))
                inp -= cr
            if model.prices[2] and rand() < 0.15:
                cc = int(inp * rng.uniform(0.3, 0.8))
                inp -= cc
            if outcome == "cut":
                out = int(out * rng.uniform(0.05, 0.6))
        p_in, p_out, p_cw, p_cr = model.prices
        c_in, c_out, c_cc, c_cr = inp * p_in / 1e6, out * p_out / 1e6, cc * p_cw / 1e6, cr * p_cr / 1e6
        total = c_in + c_out + c_cc + c_cr

        status_code: int | None
        error: str | None = None
        latency: int | None
        if outcome == "live":
            status, status_code, latency = rng.choice(("pending", "streaming")), None, None
            is_stream = is_stream or status == "streaming"
        elif outcome == "failed":
            status_code, _, messages = _pick(rng, self.failure_table)
            status, error = "failed", rng.choice(messages)
            median = 150 if status_code == 429 else 4_000
            latency = int(rng.lognormvariate(math.log(median), 0.8)) + 1
        else:
            status, status_code = ("failed", 200) if outcome == "cut" else ("completed", 200)
            if outcome == "cut":
                error = rng.choice(STREAM_CUT_MESSAGES)
            shape = 0.6 + 0.4 * out / model.output_median if model.output_median else 1.0
            latency = int(rng.lognormvariate(math.log(model.latency_ms), 0.45) * shape) + 1
        if latency is not None and rand() < NO_LATENCY_RATE:
            latency = None

        request_id = f"req_{rng.getrandbits(128):032x}"
        candidates, elapsed_ms = self._candidates(request_id, ts, model, provider, outcome, retired)
        if latency is not None:
            latency += elapsed_ms
        profile.spent += total * profile.rate
        row = {
            "id": _uuid(rng),
            "user_id": profile.usage_user_id,
            "api_key_id": _pick(rng, profile.keys) if profile.keys_kept else None,
            "request_id": request_id,
            "provider_name": provider,
            "provider_id": None if rand() < PROVIDER_ID_MISSING_RATE else self.provider_ids[provider],
            "model": model.name,
            "input_tokens": inp,
            "output_tokens": out,
            "total_tokens": inp + out,
            "cache_creation_input_tokens": cc,
            "cache_read_input_tokens": cr,
            "input_cost_usd": c_in,
            "output_cost_usd": c_out,
            "cache_creation_cost_usd": c_cc,
            "cache_read_cost_usd": c_cr,
            "total_cost_usd": total,
            "actual_total_cost_usd": total * profile.rate,
            "is_stream": is_stream,
            "status_code": status_code,
            "error_message": error,
            "response_time_ms": latency,
            "status": status,
            "created_at": datetime.fromtimestamp(ts, UTC),
            "api_format": _api_format(model.name),
            "first_byte_time_ms": _first_byte(request_id, latency) if is_stream else None,
        }
        return row, candidates

    def _candidates(
        self, request_id: str, ts: float, model: ModelSpec, provider: str, outcome: str, retired: bool
    ) -> tuple[list[dict[str, Any]], int]:
        """The scheduler's attempts for one request, and the milliseconds they took before the
        attempt that answered."""
        rng = self.rng
        rand = rng.random
        final = {"live": "pending", "failed": "failed", "cut": "failed"}.get(outcome, "success")
        plan: list[tuple[str, str]] = []
        roll = rand()
        if outcome == "completed" and roll < FALLBACK_RATE:
            failures = rng.choices((1, 2, 3), weights=(70, 22, 8))[0]
        elif outcome == "failed" and roll < 0.3:
            failures = 1
        else:
            failures = 0
        if failures:
            others = [n for n, _ in model.providers if n != provider and not (retired and n == RETIRED)]
            rng.shuffle(others)
            for j in range(failures):
                plan.append((others[j] if j < len(others) else provider, "failed"))
        plan.append((provider, final))
        # A skipped attempt (circuit open, or the provider switched off) is not a fallback by
        # itself: fallbacks count only succeeded and failed attempts.
        if outcome != "live" and rand() < (0.25 if failures else 0.01):
            skipped = RETIRED if retired else rng.choice([p.name for p in PROVIDERS if p.name != provider])
            plan.insert(rng.randrange(len(plan)), (skipped, "skipped"))

        rows: list[dict[str, Any]] = []
        index = retry = 0
        elapsed = 0.0
        previous: tuple[str, str] | None = None
        for name, status in plan:
            if previous is not None:
                # A skipped attempt costs no round trip; a failed one does.
                elapsed += rng.uniform(0.001, 0.01) if previous[1] == "skipped" else rng.uniform(0.15, 1.2)
                if name == previous[0] and status != "skipped":
                    retry += 1
                else:
                    index, retry = index + 1, 0
            rows.append({
                "id": _uuid(rng), "request_id": request_id, "candidate_index": index, "retry_index": retry,
                "provider_id": self.provider_ids[name], "status": status,
                "created_at": datetime.fromtimestamp(ts + elapsed, UTC),
            })
            previous = (name, status)
        self.candidates += len(rows)
        return rows, int(elapsed * 1000)


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

    user_rows, profiles = _build_users(rng, _user_count(requests), start, end)
    created = {row["id"]: row["created_at"] for row in user_rows}
    key_rows = _build_keys(rng, profiles, created)
    oldest = min(created.values())
    provider_rows = [
        {
            "id": _uuid(rng), "name": p.name, "display_name": p.display_name, "billing_type": p.billing_type,
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
    times = _sample_times(rng, requests - live, cal, start, end)
    times += sorted(max(start, end - rng.uniform(1, 240)) for _ in range(live))
    live_from = requests - live
    traffic = _Traffic(rng, profiles, provider_ids, retire_at=start + 0.35 * span)

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
            [{"b_id": p.id, "b_used": p.spent, "b_quota": _quota(rng, p)} for p in profiles],
        )

    return DemoSummary(
        users=len(user_rows), api_keys=len(key_rows), providers=len(provider_rows), requests=requests,
        candidates=traffic.candidates, first_day=first_day, last_day=last_day,
    )


def _quota(rng: random.Random, profile: _Profile) -> float | None:
    if profile.quota_kind == "unlimited":
        return None
    if profile.quota_kind == "zero":
        return 0.0
    # Round limits above what was spent; some users run close to theirs.
    headroom = rng.choice((1.05, 1.3, 1.6, 2.5, 4.0))
    step = 50.0 if profile.spent * headroom > 100 else 5.0
    return max(step, math.ceil(profile.spent * headroom / step) * step)


def _api_format(model: str) -> str:
    """The wire format clients speak for a model family."""
    if model.startswith("claude"):
        return "claude"
    if model.startswith("gemini"):
        return "gemini"
    return "openai"


def _first_byte(request_id: str, latency: int | None) -> int | None:
    # Drawn from the request id rather than the generator, so every other column stays as it was.
    if latency is None:
        return None
    share = 0.04 + 0.5 * (int(request_id[-6:], 16) / 0xFFFFFF)
    return max(1, int(latency * share))


__all__ = ["DemoSummary", "generate_demo"]
