"""Rows for tests: small factories, and one deterministic dataset full of edge cases.

The dataset is meant to break wrong SQL: day boundaries (exact local midnights, a microsecond
before them, the start of the month, daylight-saving days), error rows of both kinds, null
response times, deleted users, providers known only by name, fallbacks whose candidates straddle
midnight, and token totals beyond 32 bits.

Every cost is a multiple of 2**-24 dollars, so sums of costs are exact in binary floating point
whatever order a database adds them in; the comparison with the reference then fails only for a
real difference, never for rounding."""

from __future__ import annotations

import hashlib
import random
import uuid
from dataclasses import asdict
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import insert

from statsgraph.db.models import ApiKey, Provider, RequestCandidate, Usage, User
from tests.reference import (
    ApiKeyRow,
    CandidateRow,
    Dataset,
    ProviderRow,
    UsageRow,
    UserRow,
    business_day,
    day_start,
)

UTC = timezone.utc
COST_QUANTUM = 2.0**-24

# USD per million tokens: input, output, cache creation, cache read.
MODEL_PRICES: dict[str, tuple[float, float, float, float]] = {
    "claude-sonnet-4": (3.0, 15.0, 3.75, 0.30),
    "claude-3-5-haiku": (0.80, 4.0, 1.0, 0.08),
    "gpt-4o": (2.50, 10.0, 0.0, 1.25),
    "gpt-4o-mini": (0.15, 0.60, 0.0, 0.075),
    "gemini-2.5-pro": (1.25, 10.0, 0.0, 0.31),
    # Free models: their days have several models tied at cost 0, which exercises "ties by name".
    "llama-3-local": (0.0, 0.0, 0.0, 0.0),
    "qwen-free": (0.0, 0.0, 0.0, 0.0),
}

# provider name per model; None = the row's provider_name is one no provider has.
MODEL_PROVIDER: dict[str, str | None] = {
    "claude-sonnet-4": "anthropic",
    "claude-3-5-haiku": "anthropic",
    "gpt-4o": "openai",
    "gpt-4o-mini": "openai",
    "gemini-2.5-pro": "gemini",
    "llama-3-local": "legacy-relay",
    "qwen-free": None,
}
UNKNOWN_PROVIDER_NAME = "community-mirror"


def quantize(usd: float) -> float:
    return round(usd / COST_QUANTUM) * COST_QUANTUM


def priced(model: str, input_tokens: int, output_tokens: int, cache_creation: int, cache_read: int,
           rate: float = 1.0) -> dict[str, float]:
    p_in, p_out, p_cc, p_cr = MODEL_PRICES.get(model, (0.0, 0.0, 0.0, 0.0))
    parts = {
        "input_cost_usd": quantize(input_tokens * p_in / 1e6),
        "output_cost_usd": quantize(output_tokens * p_out / 1e6),
        "cache_creation_cost_usd": quantize(cache_creation * p_cc / 1e6),
        "cache_read_cost_usd": quantize(cache_read * p_cr / 1e6),
    }
    total = parts["input_cost_usd"] + parts["output_cost_usd"] + parts["cache_creation_cost_usd"] + parts["cache_read_cost_usd"]
    return {**parts, "total_cost_usd": total, "actual_total_cost_usd": quantize(total * rate)}


# --- small factories ------------------------------------------------------------------------


def _new_id() -> str:
    return str(uuid.uuid4())


def make_user(*, id: str | None = None, username: str | None = None, email: str | None = None,  # noqa: A002
              role: str = "user", quota_usd: float | None = None, used_usd: float = 0.0,
              is_active: bool = True, is_deleted: bool = False,
              created_at: datetime | None = None) -> UserRow:
    uid = id or _new_id()
    name = username or f"user-{uid[:8]}"
    return UserRow(
        id=uid, username=name, email=email if email is not None else f"{name}@example.test", role=role,
        quota_usd=quota_usd, used_usd=used_usd, is_active=is_active, is_deleted=is_deleted,
        created_at=created_at or datetime(2025, 1, 1, tzinfo=UTC),
    )


def make_provider(*, id: str | None = None, name: str = "openai", display_name: str | None = None,  # noqa: A002
                  is_active: bool = True, created_at: datetime | None = None) -> ProviderRow:
    return ProviderRow(
        id=id or _new_id(), name=name, display_name=display_name or name.title(), is_active=is_active,
        created_at=created_at or datetime(2025, 1, 1, tzinfo=UTC),
    )


def make_api_key(*, user_id: str | None, id: str | None = None, name: str | None = "default",  # noqa: A002
                 is_active: bool = True, created_at: datetime | None = None) -> ApiKeyRow:
    kid = id or _new_id()
    return ApiKeyRow(
        id=kid, user_id=user_id, key_hash=hashlib.sha256(kid.encode()).hexdigest(), name=name,
        is_active=is_active, created_at=created_at or datetime(2025, 1, 1, tzinfo=UTC),
    )


def make_usage(*, created_at: datetime, user_id: str | None = None, id: str | None = None,  # noqa: A002
               request_id: str | None = None, api_key_id: str | None = None,
               provider_id: str | None = None, provider_name: str | None = "openai",
               model: str = "gpt-4o-mini", input_tokens: int = 100, output_tokens: int = 50,
               cache_creation_input_tokens: int = 0, cache_read_input_tokens: int = 0,
               rate: float = 1.0, is_stream: bool = False, status_code: int | None = 200,
               error_message: str | None = None, response_time_ms: int | None = 1000,
               status: str = "completed", api_format: str | None = None,
               first_byte_time_ms: int | None = None, **costs: float) -> UsageRow:
    """A usage row priced from MODEL_PRICES; any cost column passed in `costs` wins."""
    values = priced(model, input_tokens, output_tokens, cache_creation_input_tokens, cache_read_input_tokens, rate)
    unknown = set(costs) - set(values)
    if unknown:
        raise TypeError(f"unknown usage columns: {sorted(unknown)}")
    values.update(costs)
    uid = id or _new_id()
    return UsageRow(
        id=uid, request_id=request_id or f"req-{uid}", user_id=user_id, api_key_id=api_key_id,
        provider_id=provider_id, provider_name=provider_name, model=model,
        input_tokens=input_tokens, output_tokens=output_tokens,
        cache_creation_input_tokens=cache_creation_input_tokens,
        cache_read_input_tokens=cache_read_input_tokens,
        is_stream=is_stream, status_code=status_code, error_message=error_message,
        response_time_ms=response_time_ms, status=status, created_at=created_at,
        api_format=api_format, first_byte_time_ms=first_byte_time_ms, **values,
    )


def make_candidate(*, request_id: str, created_at: datetime, status: str = "success",
                   candidate_index: int = 0, retry_index: int = 0, provider_id: str | None = None,
                   id: str | None = None) -> CandidateRow:  # noqa: A002
    return CandidateRow(
        id=id or _new_id(), request_id=request_id, candidate_index=candidate_index,
        retry_index=retry_index, provider_id=provider_id, status=status, created_at=created_at,
    )


# --- the edge-case dataset ------------------------------------------------------------------

SPAN_DAYS = 135  # reaches back past early November, so a New York window holds both DST changes
BOUNDARY_DAYS_AGO = (0, 1, 2, 6, 7, 13, 29, 30, 39, 40, 89, 90, 99, 134)
HUGE_INPUT_TOKENS = 900_000_000

# name, role, quota, used, active, deleted, traffic weight, actual/cost rate
_PEOPLE = (
    ("admin", "admin", None, 12.5, True, False, 0.06, 1.0),
    ("alice", "user", 500.0, 123.375, True, False, 0.40, 0.8),
    ("bob", "user", 0.0, 3.25, True, False, 0.06, 1.0),
    ("carol", "user", None, 41.0, True, False, 0.19, 0.8),
    ("dave", "user", 50.0, 75.5, True, False, 0.11, 0.6),
    ("erin", "user", 20.0, 1.5, True, False, 0.04, 1.0),
    ("frank", "user", 10.0, 0.0, True, False, 0.01, 1.0),
    ("ivan", "user", 5.0, 2.0, False, False, 0.02, 1.0),
    # Soft-deleted but still flagged active: "active" users must exclude her all the same.
    ("dora", "user", 30.0, 9.0, True, True, 0.05, 0.8),
)
_GONE_WEIGHT = 0.06  # rows of a user whose id has been nulled out
_PICK = object()  # usage_row: choose the user at random (None already means "no user")


class _Builder:
    def __init__(self, now: datetime, tz: str, seed: int) -> None:
        self.now = now.astimezone(UTC)
        self.tz = tz
        self.zone = ZoneInfo(tz)
        self.rng = random.Random(seed)
        self.seed = seed
        self.today = business_day(self.now, tz)
        self.ds = Dataset()
        self.used_instants: set[datetime] = set()
        self.used_request_ids: set[str] = set()
        self.user_by_name: dict[str, UserRow] = {}
        self.rate_by_user: dict[str | None, float] = {None: 1.0}
        self.keys_by_user: dict[str | None, list[ApiKeyRow]] = {}
        self.provider_by_name: dict[str, ProviderRow] = {}

    # ids and instants

    def uid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def request_id(self) -> str:
        while True:
            rid = f"req_{self.rng.getrandbits(64):016x}"
            if rid not in self.used_request_ids:
                self.used_request_ids.add(rid)
                return rid

    def claim(self, instant: datetime, *, exact: bool = False) -> datetime:
        """Keep created_at unique, so "newest first" has one right answer."""
        if instant in self.used_instants:
            if exact:
                raise AssertionError(f"two special rows at {instant}")
            wanted = instant
            while instant in self.used_instants:
                instant -= timedelta(microseconds=1)
            # Moving a row into another business day would silently change what it tests.
            assert business_day(instant, self.tz) == business_day(wanted, self.tz), wanted
        self.used_instants.add(instant)
        return instant

    def start(self, day: date) -> datetime:
        return day_start(day, self.tz)

    def random_instant(self, day: date) -> datetime:
        lo = self.start(day)
        hi = min(self.start(day + timedelta(days=1)), self.now)
        span_us = int((hi - lo) / timedelta(microseconds=1))
        return lo + timedelta(microseconds=self.rng.randrange(max(span_us, 1)))

    # entities

    def people(self) -> None:
        created = self.start(self.today - timedelta(days=SPAN_DAYS + 30))
        for i, (name, role, quota, used, active, deleted, _w, rate) in enumerate(_PEOPLE):
            user = UserRow(
                id=self.uid(), username=name, email=f"{name}@aether.test", role=role, quota_usd=quota,
                used_usd=used, is_active=active, is_deleted=deleted, created_at=created + timedelta(hours=i),
            )
            self.ds.users.append(user)
            self.user_by_name[name] = user
            self.rate_by_user[user.id] = rate
            keys = []
            for k in range(1 + (i % 3)):
                # dora's and ivan's keys are off; everyone else has a retired key now and then.
                is_active = not (deleted or not active or (k == 1 and i % 2 == 0))
                kid = self.uid()
                keys.append(ApiKeyRow(
                    id=kid, user_id=user.id, key_hash=hashlib.sha256(f"sk-{kid}".encode()).hexdigest(),
                    name=f"{name}-key-{k}", is_active=is_active, created_at=created + timedelta(hours=i, minutes=k),
                ))
            self.ds.api_keys.extend(keys)
            self.keys_by_user[user.id] = keys
        # A standalone key belongs to no user: it counts in the global scope only.
        kid = self.uid()
        self.ds.api_keys.append(ApiKeyRow(
            id=kid, user_id=None, key_hash=hashlib.sha256(f"sk-{kid}".encode()).hexdigest(),
            name="standalone", is_active=True, created_at=created,
        ))
        self.keys_by_user[None] = []

    def providers(self) -> None:
        created = self.start(self.today - timedelta(days=SPAN_DAYS + 40))
        for i, (name, display, active) in enumerate((
            ("openai", "OpenAI", True),
            ("anthropic", "Anthropic", True),
            ("gemini", "Google Gemini", True),
            ("legacy-relay", "Legacy Relay", False),
        )):
            provider = ProviderRow(id=self.uid(), name=name, display_name=display, is_active=active,
                                   created_at=created + timedelta(hours=i))
            self.ds.providers.append(provider)
            self.provider_by_name[name] = provider

    # usage

    def pick_user(self) -> UserRow | None:
        weights = [w for (*_, w, _r) in _PEOPLE] + [_GONE_WEIGHT]
        choice = self.rng.choices(range(len(_PEOPLE) + 1), weights=weights)[0]
        if choice == len(_PEOPLE):
            return None
        user = self.user_by_name[_PEOPLE[choice][0]]
        if user.is_deleted and self.rng.random() < 0.5:
            return None  # half of dora's history lost its user_id; the rest still points at her
        return user

    def pick_model(self, user: UserRow | None) -> str:
        models = list(MODEL_PRICES)
        # Each user leans on a different favourite, so per-user model summaries differ.
        favourite = models[(hash_name(user.username) if user else 3) % len(models)]
        weights = [6.0 if m == favourite else (0.6 if MODEL_PRICES[m][0] == 0 else 1.5) for m in models]
        return self.rng.choices(models, weights=weights)[0]

    def provider_fields(self, model: str) -> tuple[str | None, str | None]:
        name = MODEL_PROVIDER[model]
        if name is None:
            return None, UNKNOWN_PROVIDER_NAME
        provider = self.provider_by_name[name]
        roll = self.rng.random()
        if roll < 0.12:
            return None, provider.name  # older rows: attributed by name only
        if roll < 0.14:
            return provider.id, f"{provider.name}-old"  # renamed since: the id decides
        if roll < 0.15:
            return None, None
        return provider.id, provider.name

    def usage_row(self, at: datetime, *, user: UserRow | None | object = _PICK, exact: bool = False,
                  kind: str | None = None, model: str | None = None, **override: object) -> UsageRow:
        rng = self.rng
        if user is _PICK:
            user = self.pick_user()
        assert user is None or isinstance(user, UserRow)
        user_id = user.id if user else None
        model = model or self.pick_model(user)
        provider_id, provider_name = self.provider_fields(model)
        keys = self.keys_by_user.get(user_id) or []
        api_key_id = rng.choice(keys).id if keys and rng.random() < 0.95 else None
        is_stream = rng.random() < 0.5

        kind = kind or rng.choices(
            ("ok", "ok_no_time", "msg_200", "http_error", "pending", "streaming", "failed_no_code"),
            weights=(85, 3, 3, 6, 1.2, 1.2, 0.6),
        )[0]
        input_tokens = int(min(180_000, 1_500 * rng.paretovariate(1.15)))
        output_tokens = int(min(16_000, 120 * rng.paretovariate(1.4)))
        cache_creation = cache_read = 0
        if model.startswith("claude"):
            if rng.random() < 0.3:
                cache_creation = int(input_tokens * rng.uniform(0.2, 1.5))
            if rng.random() < 0.5:
                cache_read = int(min(400_000, 2_000 * rng.paretovariate(1.3)))
        elif model.startswith(("gpt", "gemini")) and rng.random() < 0.3:
            cache_read = int(input_tokens * rng.uniform(0.1, 0.9))
        response_ms: int | None = int(min(120_000, rng.lognormvariate(7.3, 0.8) * (1.6 if is_stream else 1.0)))
        status_code: int | None = 200
        error_message: str | None = None
        status = "completed"

        if kind == "ok_no_time":
            response_ms = None
        elif kind == "msg_200":
            # The upstream said 200, then the stream broke: an error by its message alone.
            error_message = rng.choice(("stream interrupted: client disconnected", "upstream closed mid-stream"))
            status = "failed"
            output_tokens //= 3
            if rng.random() < 0.4:
                response_ms = None
        elif kind == "http_error":
            status_code = rng.choice((400, 401, 403, 404, 429, 500, 502, 503, 529))
            status = "failed"
            # Some gateways drop the message: the status code alone makes it an error.
            error_message = None if rng.random() < 0.25 else f"upstream returned {status_code}"
            if status_code == 400 and rng.random() < 0.5:
                output_tokens = cache_creation = cache_read = 0
            else:
                input_tokens = output_tokens = cache_creation = cache_read = 0
            response_ms = None if rng.random() < 0.3 else int(rng.uniform(20, 3000))
        elif kind in ("pending", "streaming"):
            status_code = None
            response_ms = None
            status = kind
            output_tokens = cache_creation = cache_read = 0
            if kind == "pending":
                input_tokens = 0
        elif kind == "failed_no_code":
            status_code = None
            status = "failed"
            error_message = "connection reset by peer"
            input_tokens = output_tokens = cache_creation = cache_read = 0
            response_ms = None if rng.random() < 0.5 else int(rng.uniform(100, 30_000))

        values = dict(
            id=self.uid(), request_id=self.request_id(), user_id=user_id, api_key_id=api_key_id,
            provider_id=provider_id, provider_name=provider_name, model=model,
            input_tokens=input_tokens, output_tokens=output_tokens,
            cache_creation_input_tokens=cache_creation, cache_read_input_tokens=cache_read,
            is_stream=is_stream, status_code=status_code, error_message=error_message,
            response_time_ms=response_ms, status=status, created_at=self.claim(at, exact=exact),
        )
        values.update(override)
        values.update(priced(model, values["input_tokens"], values["output_tokens"],  # type: ignore[arg-type]
                             values["cache_creation_input_tokens"], values["cache_read_input_tokens"],  # type: ignore[arg-type]
                             self.rate_by_user.get(user_id, 1.0)))
        row = UsageRow(**values)  # type: ignore[arg-type]
        self.ds.usage.append(row)
        return row

    # candidates

    def candidate(self, request_id: str, at: datetime, status: str, index: int, retry: int = 0) -> None:
        providers = self.ds.providers
        provider_id = None if self.rng.random() < 0.05 else self.rng.choice(providers).id
        self.ds.candidates.append(CandidateRow(
            id=self.uid(), request_id=request_id, candidate_index=index, retry_index=retry,
            provider_id=provider_id, status=status, created_at=at,
        ))

    def candidates_for(self, row: UsageRow) -> None:
        rng = self.rng
        n = rng.choices((1, 2, 3, 4), weights=(50, 25, 15, 10))[0]
        offsets = [timedelta(0)]
        for _ in range(n - 1):
            offsets.append(offsets[-1] + timedelta(microseconds=rng.randrange(50_000, 25_000_000)))
        if row.created_at + offsets[-1] > self.now:
            return  # nothing is created after "now"
        if row.status in ("pending", "streaming"):
            final = "pending"
        elif row.status == "completed":
            final = "success"
        else:
            final = "failed"
        index = retry = 0
        for i, offset in enumerate(offsets):
            if i == n - 1:
                status = final
            else:
                status = rng.choices(("failed", "skipped", "pending"), weights=(75, 20, 5))[0]
            self.candidate(row.request_id, row.created_at + offset, status, index, retry)
            if rng.random() < 0.3:
                retry += 1  # the same candidate tried again
            else:
                index += 1
                retry = 0

    def straddling_fallbacks(self, boundary: datetime, owners: list[UserRow | None]) -> None:
        """Fallbacks whose candidates sit on both sides of a business-day boundary."""
        us = timedelta(microseconds=1)
        s = timedelta(seconds=1)
        plans = (
            # one counted candidate each side: a fallback on neither day
            (-5 * s, [(-5 * s, "failed"), (2 * s, "success")]),
            # two before midnight (one a microsecond before), one exactly at it: the day before
            (-10 * s, [(-10 * s, "failed"), (-us, "failed"), (timedelta(0), "success")]),
            # the usage row is on the day before, but the fallback happens on the day after
            (-3 * s, [(-3 * s, "failed"), (-2 * s, "skipped"), (1 * s, "failed"), (4 * s, "success")]),
            # all failed: still a fallback, on the day after
            (-1 * s, [(-1 * s, "skipped"), (3 * s, "failed"), (7 * s, "failed"), (9 * s, "pending")]),
        )
        for i, (row_offset, cands) in enumerate(plans):
            owner = owners[i % len(owners)]
            row = self.usage_row(boundary + row_offset - timedelta(microseconds=7 + i), user=owner, kind="ok")
            for j, (offset, status) in enumerate(cands):
                at = boundary + offset
                if at <= self.now:
                    self.candidate(row.request_id, at, status, j)

    # the whole thing

    def build(self) -> Dataset:
        self.people()
        self.providers()
        alice, bob = self.user_by_name["alice"], self.user_by_name["bob"]
        rotation: list[UserRow | None] = [alice, bob, None, self.user_by_name["carol"], self.user_by_name["dora"]]
        turn = iter(range(10**9))

        def next_owner() -> UserRow | None:
            return rotation[next(turn) % len(rotation)]

        first_day = self.today - timedelta(days=SPAN_DAYS - 1)
        special_days: set[date] = set()

        # Exact day starts, and a microsecond before them.
        for ago in BOUNDARY_DAYS_AGO:
            day = self.today - timedelta(days=ago)
            if day < first_day:
                continue
            start = self.start(day)
            self.usage_row(start, user=next_owner(), exact=True)
            self.usage_row(start - timedelta(microseconds=1), user=next_owner(), exact=True)
            special_days.update((day, day - timedelta(days=1)))

        # The start of this business month and of the previous one.
        month_start = self.today.replace(day=1)
        prev_month_start = (month_start - timedelta(days=1)).replace(day=1)
        for day in (month_start, prev_month_start):
            start = self.start(day)
            for offset_us in (0, -1):
                at = start + timedelta(microseconds=offset_us)
                if at not in self.used_instants:
                    self.usage_row(at, user=next_owner(), exact=True)
            special_days.update((day, day - timedelta(days=1)))

        # Daylight saving: days of 23 or 25 hours, where "start + 24 h" is not the next day.
        for ago in range(SPAN_DAYS - 1, 0, -1):
            day = self.today - timedelta(days=ago)
            next_start = self.start(day + timedelta(days=1))
            length = next_start - self.start(day)
            if length == timedelta(hours=24):
                continue
            special_days.update((day, day + timedelta(days=1)))
            naive_next = self.start(day) + timedelta(hours=24)
            switch = self.transition_in(day)
            for at in (
                next_start - timedelta(minutes=30), next_start + timedelta(minutes=30),
                naive_next - timedelta(microseconds=1), naive_next, naive_next + timedelta(microseconds=1),
                switch - timedelta(minutes=30), switch - timedelta(microseconds=1), switch,
                switch + timedelta(minutes=30),
            ):
                if at <= self.now and at not in self.used_instants:
                    self.usage_row(at, user=next_owner(), exact=True)
            self.straddling_fallbacks(next_start, [alice, None])

        # The provider-status window: exactly 24 h before now, and a microsecond outside it.
        for at in (self.now - timedelta(hours=24), self.now - timedelta(hours=24, microseconds=1),
                   self.now - timedelta(microseconds=1)):
            if at not in self.used_instants:
                self.usage_row(at, user=next_owner(), exact=True)

        # Fallbacks across the midnights of yesterday, two days ago, and the month start.
        for boundary_day in (self.today - timedelta(days=1), self.today - timedelta(days=2), month_start):
            self.straddling_fallbacks(self.start(boundary_day), [alice, bob, None])
        special_days.update({self.today, self.today - timedelta(days=1), self.today - timedelta(days=2)})

        # A day without any request, and a day whose requests recorded no response time.
        empty_day = self.pick_quiet_day(9, special_days)
        timeless_day = self.pick_quiet_day(20, special_days | {empty_day, empty_day + timedelta(days=1)})

        # Huge rows: every row fits in 32 bits, their sums do not.
        huge_day = self.pick_quiet_day(4, special_days | {empty_day, timeless_day}, allow_near=True)
        old_huge_day = self.today - timedelta(days=60)
        for day in (huge_day, huge_day, old_huge_day):
            self.usage_row(self.random_instant(day), user=alice, kind="ok", model="claude-sonnet-4",
                           input_tokens=HUGE_INPUT_TOKENS, output_tokens=1_000,
                           cache_creation_input_tokens=0, cache_read_input_tokens=0)
        self.usage_row(self.random_instant(huge_day), user=self.user_by_name["carol"], kind="ok",
                       model="claude-sonnet-4", input_tokens=5_000, output_tokens=500,
                       cache_creation_input_tokens=0, cache_read_input_tokens=HUGE_INPUT_TOKENS)

        # Ordinary traffic: growth over time, quieter weekends, noise.
        for ago in range(SPAN_DAYS - 1, -1, -1):
            day = self.today - timedelta(days=ago)
            if day == empty_day:
                continue
            growth = 0.6 + 0.8 * (SPAN_DAYS - ago) / SPAN_DAYS
            weekend = 0.5 if day.weekday() >= 5 else 1.0
            n = int(24 * growth * weekend * self.rng.uniform(0.6, 1.4))
            if ago == 0:
                elapsed = (self.now - self.start(day)) / (self.start(day + timedelta(days=1)) - self.start(day))
                n = max(12, int(n * elapsed * 1.5))
            for _ in range(n):
                if day == timeless_day:
                    self.usage_row(self.random_instant(day),
                                   kind=self.rng.choice(("ok_no_time", "pending", "streaming", "failed_no_code")),
                                   response_time_ms=None)
                else:
                    self.usage_row(self.random_instant(day))

        # Candidate rows for many requests (not the straddling ones, which have theirs).
        have_candidates = {c.request_id for c in self.ds.candidates}
        for row in list(self.ds.usage):
            if row.request_id not in have_candidates and self.rng.random() < 0.45:
                self.candidates_for(row)

        # Candidates of requests that have no usage row: fallbacks of the global scope only.
        for k in range(3):
            rid = self.request_id()
            at = self.random_instant(self.today - timedelta(days=3 + k))
            self.candidate(rid, at, "failed", 0)
            self.candidate(rid, at + timedelta(seconds=2), "success", 1)

        self.formats_and_first_bytes()
        self.ds.usage.sort(key=lambda r: r.created_at)
        self.ds.candidates.sort(key=lambda c: (c.created_at, c.id))
        return self.ds

    def formats_and_first_bytes(self) -> None:
        """API format and time to first byte, drawn from a generator of their own so every
        other column (and every figure computed before these existed) stays as it was."""
        rng = random.Random(f"formats-{self.seed}")
        for row in self.ds.usage:
            row.api_format = rng.choices(("openai", "claude", "gemini", None), weights=(55, 30, 12, 3))[0]
            if row.is_stream and row.response_time_ms is not None and rng.random() < 0.9:
                row.first_byte_time_ms = int(row.response_time_ms * rng.uniform(0.02, 0.7))
            elif row.is_stream and row.status == "streaming":
                row.first_byte_time_ms = rng.randrange(40, 900)

    def transition_in(self, day: date) -> datetime:
        """The UTC instant at which the zone's offset changes during `day`."""
        lo = self.start(day)
        hi = self.start(day + timedelta(days=1))
        before = lo.astimezone(self.zone).utcoffset()
        # Offsets change on whole minutes in every zone this is used with.
        t = lo
        while t < hi:
            if t.astimezone(self.zone).utcoffset() != before:
                return t
            t += timedelta(minutes=1)
        return lo  # the change happened at midnight itself

    def pick_quiet_day(self, ago: int, avoid: set[date], allow_near: bool = False) -> date:
        """A day about `ago` days back that no boundary row lands on."""
        for step in range(40):
            day = self.today - timedelta(days=ago + step)
            near = {day - timedelta(days=1), day + timedelta(days=1)}
            if day not in avoid and (allow_near or not (near & avoid)):
                return day
        raise AssertionError("no quiet day")


def hash_name(name: str) -> int:
    # Not hash(): it is salted per process, and the dataset must not change between runs.
    return int(hashlib.sha256(name.encode()).hexdigest()[:8], 16)


def edge_case_dataset(*, now: datetime, tz: str, seed: int = 1372) -> Dataset:
    """A deterministic dataset of a few thousand requests over ~135 business days up to `now`."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return _Builder(now, tz, seed).build()


# --- insertion ------------------------------------------------------------------------------


def _user_dict(u: UserRow) -> dict:
    return {**asdict(u), "password_hash": "$2b$12$" + hashlib.sha256(u.id.encode()).hexdigest()[:53]}


def _key_dict(k: ApiKeyRow) -> dict:
    return {**asdict(k), "is_standalone": k.user_id is None}


def _provider_dict(p: ProviderRow) -> dict:
    return {**asdict(p), "billing_type": "pay_as_you_go"}


def _usage_dict(r: UsageRow) -> dict:
    # usage.total_tokens is Aether's column: input + output, cache tokens left out.
    return {**asdict(r), "total_tokens": r.input_tokens + r.output_tokens}


async def insert_dataset(session, ds: Dataset) -> None:  # noqa: ANN001
    """Insert every row through the ORM models (parents first), then commit."""
    for model, rows, to_dict in (
        (User, ds.users, _user_dict),
        (Provider, ds.providers, _provider_dict),
        (ApiKey, ds.api_keys, _key_dict),
        (Usage, ds.usage, _usage_dict),
        (RequestCandidate, ds.candidates, asdict),
    ):
        if rows:
            await session.execute(insert(model), [to_dict(r) for r in rows])
    await session.commit()


__all__ = [
    "MODEL_PRICES",
    "edge_case_dataset",
    "insert_dataset",
    "make_api_key",
    "make_candidate",
    "make_provider",
    "make_usage",
    "make_user",
    "priced",
    "quantize",
]
