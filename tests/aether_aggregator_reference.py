"""What Aether's own aggregator writes into its `stats_*` tables for a set of closed days,
computed the slow and obvious way from the raw rows (plain Python; imports nothing from
statsgraph). One dict per row, keyed by column name, every column Aether's pages read."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime

from tests import reference as ref


def _day_sums(rows: list[ref.UsageRow]) -> dict[str, float | int]:
    timed = [r.response_time_ms for r in rows if r.response_time_ms is not None]
    errors = sum(1 for r in rows if ref.is_error(r))
    return {
        "total_requests": len(rows),
        "success_requests": len(rows) - errors,
        "error_requests": errors,
        "input_tokens": sum(r.input_tokens for r in rows),
        "output_tokens": sum(r.output_tokens for r in rows),
        "cache_creation_tokens": sum(r.cache_creation_input_tokens for r in rows),
        "cache_read_tokens": sum(r.cache_read_input_tokens for r in rows),
        "total_cost": sum(r.total_cost_usd for r in rows),
        "actual_total_cost": sum(r.actual_total_cost_usd for r in rows),
        "input_cost": sum(r.input_cost_usd for r in rows),
        "output_cost": sum(r.output_cost_usd for r in rows),
        "cache_creation_cost": sum(r.cache_creation_cost_usd for r in rows),
        "cache_read_cost": sum(r.cache_read_cost_usd for r in rows),
        "avg_response_time_ms": sum(timed) / len(timed) if timed else 0.0,
        "unique_models": len({r.model for r in rows if r.model is not None}),
        "unique_providers": len({r.provider_name for r in rows if r.provider_name is not None}),
    }


def _fallbacks(ds: ref.Dataset, day: date, tz: str) -> int:
    executed: dict[str, int] = defaultdict(int)
    for c in ds.candidates:
        if c.status in ("success", "failed") and ref.business_day(c.created_at, tz) == day:
            executed[c.request_id] += 1
    return sum(1 for n in executed.values() if n > 1)


def expected_tables(ds: ref.Dataset, days: list[date], tz: str, cutoff: datetime) -> dict[str, list[dict]]:
    by_day: dict[date, list[ref.UsageRow]] = defaultdict(list)
    for r in ds.usage:
        by_day[ref.business_day(r.created_at, tz)].append(r)
    daily, models, users = [], [], []
    active = {u.id for u in ds.users if u.is_active and not u.is_deleted}
    for day in days:
        rows = by_day.get(day, [])
        start = ref.day_start(day, tz)
        daily.append({"date": start, **_day_sums(rows), "fallback_count": _fallbacks(ds, day, tz)})
        per_model: dict[str, list[ref.UsageRow]] = defaultdict(list)
        for r in rows:
            if r.model:
                per_model[r.model].append(r)
        for model, mrows in per_model.items():
            s = _day_sums(mrows)
            models.append({"date": start, "model": model, **{k: s[k] for k in (
                "total_requests", "input_tokens", "output_tokens", "cache_creation_tokens",
                "cache_read_tokens", "total_cost", "avg_response_time_ms")}})
        per_user: dict[str, list[ref.UsageRow]] = {uid: [] for uid in active}
        for r in rows:
            if r.user_id is not None:
                per_user.setdefault(r.user_id, []).append(r)
        for user_id, urows in per_user.items():
            s = _day_sums(urows)
            users.append({"user_id": user_id, "date": start, **{k: s[k] for k in (
                "total_requests", "success_requests", "error_requests", "input_tokens", "output_tokens",
                "cache_creation_tokens", "cache_read_tokens", "total_cost")}})
    before = [d for d in daily if d["date"] < cutoff]
    summary = {
        "cutoff_date": cutoff,
        **{f"all_time_{k}": sum(d[k] for d in before) for k in (
            "success_requests", "error_requests", "input_tokens", "output_tokens",
            "cache_creation_tokens", "cache_read_tokens")},
        "all_time_requests": sum(d["total_requests"] for d in before),
        "all_time_cost": sum(d["total_cost"] for d in before),
        "all_time_actual_cost": sum(d["actual_total_cost"] for d in before),
        "total_users": len(ds.users),
        "active_users": sum(1 for u in ds.users if u.is_active),
        "total_api_keys": len(ds.api_keys),
        "active_api_keys": sum(1 for k in ds.api_keys if k.is_active),
    }
    return {"stats_daily": daily, "stats_daily_model": models, "stats_user_daily": users, "stats_summary": [summary]}
