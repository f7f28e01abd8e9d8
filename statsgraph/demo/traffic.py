"""The demo's traffic: request times over the days, and the usage and candidate rows."""

from __future__ import annotations

import math
import random
from bisect import bisect_right
from collections.abc import Sequence
from datetime import date, datetime, timezone
from itertools import accumulate
from typing import Any, TypeVar

from ..core.calendar import BusinessCalendar
from .people import Profile, new_uuid, pick, weighted
from .world import (
    FAILURE_RATE,
    FAILURES,
    FALLBACK_RATE,
    GROWTH,
    HOUR_WEIGHTS,
    MODELS,
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
T = TypeVar("T")
CHUNK = 5_000


def sample_times(rng: random.Random, n: int, cal: BusinessCalendar, start: float, now: float) -> list[float]:
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


class Traffic:
    """Makes one request (its usage row and its candidates) at a time."""

    def __init__(
        self, rng: random.Random, profiles: list[Profile], provider_ids: dict[str, str], retire_at: float
    ) -> None:
        self.rng = rng
        self.provider_ids = provider_ids
        self.retire_at = retire_at
        self.error_factor = {p.name: p.error_factor for p in PROVIDERS}
        cuts = sorted({t for p in profiles for t in (p.since, p.until) if math.isfinite(t)})
        self.cuts = cuts
        self.user_tables: list[tuple[list[float], Sequence[Profile]]] = []
        for s in range(len(cuts) + 1):
            lo = cuts[s - 1] if s > 0 else -math.inf
            hi = cuts[s] if s < len(cuts) else math.inf
            members = [p for p in profiles if p.since <= lo and p.until >= hi]
            self.user_tables.append(weighted(members, [p.weight for p in members]))
        self.routes = {
            m.name: (
                weighted([n for n, _ in m.providers], [w for _, w in m.providers]),
                weighted(*zip(*[(n, w) for n, w in m.providers if n != RETIRED], strict=True)),
            )
            for m in MODELS
        }
        self.failure_table = weighted(FAILURES, [w for _, w, _ in FAILURES])
        self.candidates = 0

    def request(self, ts: float, live: bool) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        rng = self.rng
        rand = rng.random
        profile: Profile = pick(rng, self.user_tables[bisect_right(self.cuts, ts)])
        model: ModelSpec = pick(rng, profile.models)
        retired = ts >= self.retire_at
        provider: str = pick(rng, self.routes[model.name][1 if retired else 0])
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
            status_code, _, messages = pick(rng, self.failure_table)
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
            "id": new_uuid(rng),
            "user_id": profile.usage_user_id,
            "api_key_id": pick(rng, profile.keys) if profile.keys_kept else None,
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
            "api_format": api_format_of(model.name),
            "first_byte_time_ms": first_byte_of(request_id, latency) if is_stream else None,
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
                "id": new_uuid(rng), "request_id": request_id, "candidate_index": index, "retry_index": retry,
                "provider_id": self.provider_ids[name], "status": status,
                "created_at": datetime.fromtimestamp(ts + elapsed, UTC),
            })
            previous = (name, status)
        self.candidates += len(rows)
        return rows, int(elapsed * 1000)



def api_format_of(model: str) -> str:
    """The wire format clients speak for a model family."""
    if model.startswith("claude"):
        return "claude"
    if model.startswith("gemini"):
        return "gemini"
    return "openai"


def first_byte_of(request_id: str, latency: int | None) -> int | None:
    # Drawn from the request id rather than the generator, so every other column stays as it was.
    if latency is None:
        return None
    share = 0.04 + 0.5 * (int(request_id[-6:], 16) / 0xFFFFFF)
    return max(1, int(latency * share))


__all__ = ["Traffic", "api_format_of", "first_byte_of", "sample_times"]
