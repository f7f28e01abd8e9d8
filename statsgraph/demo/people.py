"""The demo's people: users with their traffic profiles, API keys and quotas."""

from __future__ import annotations

import math
import random
import uuid
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from itertools import accumulate
from typing import Any, TypeVar

from .world import (
    KEY_NAMES,
    MODELS,
    NAMES,
    ModelSpec,
)

UTC = timezone.utc
T = TypeVar("T")


@dataclass(slots=True)
class Profile:
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


def weighted(items: Sequence[T], weights: Sequence[float]) -> tuple[list[float], Sequence[T]]:
    return list(accumulate(weights)), items


def pick(rng: random.Random, table: tuple[list[float], Sequence[T]]) -> T:
    cum, items = table
    return items[bisect_right(cum, rng.random() * cum[-1])]


def new_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def user_count(requests: int) -> int:
    return max(12, min(400, round(40 * (max(requests, 1) / 50_000) ** 0.25)))


def usernames(n: int) -> list[str]:
    return [NAMES[i] if i < len(NAMES) else f"user{i + 1}" for i in range(n)]


def build_users(
    rng: random.Random, n: int, start: float, now: float
) -> tuple[list[dict[str, Any]], list[Profile]]:
    span = now - start
    names = usernames(n)
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
    profiles: list[Profile] = []

    admin_id = new_uuid(rng)
    rows.append(user_row(admin_id, "admin", "admin", start - ages[0] - 86_400, active=True, deleted=False))
    profiles.append(profile_of(rng, admin_id, "admin", weight=0.02, heavy=False, rate=1.0, quota_kind="unlimited"))

    for i, name in enumerate(names):
        user_id = new_uuid(rng)
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
        profile = profile_of(
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
        rows.append(user_row(user_id, name, "user", created, active=i != disabled and not deleted, deleted=deleted))
        profiles.append(profile)
    return rows, profiles


def user_row(user_id: str, name: str, role: str, created: float, *, active: bool, deleted: bool) -> dict[str, Any]:
    return {
        "id": user_id, "email": f"{name}@example.com", "username": name, "password_hash": "!demo",
        "role": role, "quota_usd": None, "used_usd": 0.0, "is_active": active, "is_deleted": deleted,
        "created_at": datetime.fromtimestamp(created, UTC),
    }


def profile_of(
    rng: random.Random, user_id: str, name: str, *, weight: float, heavy: bool, rate: float, quota_kind: str
) -> Profile:
    # Each user leans on a few models of their own: popularity times a personal taste.
    taste = [m.popularity * rng.lognormvariate(0, 0.9) for m in MODELS]
    return Profile(
        id=user_id, username=name, weight=weight, rate=rate, heavy=heavy,
        stream_share=min(0.95, max(0.1, rng.gauss(0.6, 0.15))),
        cache_share=0.75 if heavy else rng.uniform(0.1, 0.4),
        quota_kind=quota_kind, models=weighted(MODELS, taste), keys=([1.0], [""]),
        usage_user_id=user_id,
    )


def build_keys(rng: random.Random, profiles: list[Profile], created: dict[str, datetime]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for profile in profiles:
        count = rng.choices((1, 2, 3, 4), weights=(35, 35, 20, 10))[0]
        names = rng.sample(KEY_NAMES, count)
        ids: list[str] = []
        for j in range(count):
            key_id = new_uuid(rng)
            ids.append(key_id)
            rows.append({
                "id": key_id, "user_id": profile.id, "key_hash": f"{rng.getrandbits(256):064x}",
                "name": names[j], "is_active": profile.keys_active and (j == 0 or rng.random() < 0.75),
                "is_standalone": False,
                "created_at": created[profile.id] + timedelta(hours=rng.uniform(0.1, 48) * (j + 1)),
            })
        profile.key_ids = ids
        profile.keys = weighted(ids, [1.0 / (j + 1) ** 1.5 for j in range(count)])
    admin = profiles[0]
    rows.append({
        "id": new_uuid(rng), "user_id": admin.id, "key_hash": f"{rng.getrandbits(256):064x}",
        "name": "standalone-balance", "is_active": True, "is_standalone": True,
        "created_at": created[admin.id] + timedelta(days=3),
    })
    return rows



def quota_of(rng: random.Random, profile: Profile) -> float | None:
    if profile.quota_kind == "unlimited":
        return None
    if profile.quota_kind == "zero":
        return 0.0
    # Round limits above what was spent; some users run close to theirs.
    headroom = rng.choice((1.05, 1.3, 1.6, 2.5, 4.0))
    step = 50.0 if profile.spent * headroom > 100 else 5.0
    return max(step, math.ceil(profile.spent * headroom / step) * step)


__all__ = [
    "Profile", "build_keys", "build_users", "new_uuid", "pick", "profile_of", "quota_of", "user_count",
    "user_row", "usernames", "weighted",
]
