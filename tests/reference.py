"""Every figure of DESIGN.md ("Definitions"), computed the slow and obvious way: plain loops
over plain rows held in memory.

Tests compare the production queries with these functions, so nothing here may come from
`statsgraph`: a shared helper would make a shared mistake invisible. When this module and
DESIGN.md disagree, this module is wrong."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

UTC = timezone.utc
FALLBACK_STATUSES = ("success", "failed")


# --- rows -----------------------------------------------------------------------------------


@dataclass
class UserRow:
    id: str
    username: str
    email: str | None
    role: str  # 'admin' | 'user'
    quota_usd: float | None
    used_usd: float
    is_active: bool
    is_deleted: bool
    created_at: datetime


@dataclass
class ApiKeyRow:
    id: str
    user_id: str | None
    key_hash: str
    name: str | None
    is_active: bool
    created_at: datetime


@dataclass
class ProviderRow:
    id: str
    name: str
    display_name: str
    is_active: bool
    created_at: datetime


@dataclass
class UsageRow:
    id: str
    request_id: str
    user_id: str | None
    api_key_id: str | None
    provider_id: str | None
    provider_name: str | None
    model: str
    input_tokens: int
    output_tokens: int
    cache_creation_input_tokens: int
    cache_read_input_tokens: int
    input_cost_usd: float
    output_cost_usd: float
    cache_creation_cost_usd: float
    cache_read_cost_usd: float
    total_cost_usd: float
    actual_total_cost_usd: float
    is_stream: bool
    status_code: int | None
    error_message: str | None
    response_time_ms: int | None
    status: str
    created_at: datetime
    # Seed-era columns the analytics read (defaulted: older figures never look at them).
    api_format: str | None = None
    first_byte_time_ms: int | None = None


@dataclass
class CandidateRow:
    id: str
    request_id: str
    candidate_index: int
    retry_index: int
    provider_id: str | None
    status: str
    created_at: datetime


@dataclass
class Dataset:
    users: list[UserRow] = field(default_factory=list)
    api_keys: list[ApiKeyRow] = field(default_factory=list)
    providers: list[ProviderRow] = field(default_factory=list)
    usage: list[UsageRow] = field(default_factory=list)
    candidates: list[CandidateRow] = field(default_factory=list)


# --- calendar -------------------------------------------------------------------------------


def business_day(instant: datetime, tz: str) -> date:
    return instant.astimezone(ZoneInfo(tz)).date()


def day_start(day: date, tz: str) -> datetime:
    """The first UTC instant of a business day (its local midnight)."""
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(tz)).astimezone(UTC)


def days_between(first_day: date, last_day: date) -> list[date]:
    out = []
    day = first_day
    while day <= last_day:
        out.append(day)
        day += timedelta(days=1)
    return out


def _in_period(day: date, first_day: date | None, last_day: date) -> bool:
    return (first_day is None or day >= first_day) and day <= last_day


# --- single rows ----------------------------------------------------------------------------


def is_error(row: UsageRow) -> bool:
    return (row.status_code is not None and row.status_code >= 400) or row.error_message is not None


def row_total_tokens(row: UsageRow) -> int:
    return row.input_tokens + row.output_tokens + row.cache_creation_input_tokens + row.cache_read_input_tokens


def in_scope(row: UsageRow, user_id: str | None) -> bool:
    return user_id is None or row.user_id == user_id


def belongs_to_provider(row: UsageRow, provider: ProviderRow) -> bool:
    if row.provider_id is not None:
        return row.provider_id == provider.id
    return row.provider_name == provider.name


def mean_response_ms(rows: list[UsageRow]) -> float:
    """The mean over the rows that recorded a response time; 0 when none did."""
    total = 0
    count = 0
    for row in rows:
        if row.response_time_ms is not None:
            total += row.response_time_ms
            count += 1
    if count == 0:
        return 0.0
    return total / count


# --- grouping -------------------------------------------------------------------------------


def _usage_by_day(ds: Dataset, user_id: str | None, first_day: date | None, last_day: date, tz: str) -> dict[date, list[UsageRow]]:
    by_day: dict[date, list[UsageRow]] = {}
    for row in ds.usage:
        if not in_scope(row, user_id):
            continue
        day = business_day(row.created_at, tz)
        if _in_period(day, first_day, last_day):
            by_day.setdefault(day, []).append(row)
    return by_day


def _fallbacks_by_day(ds: Dataset, user_id: str | None, first_day: date | None, last_day: date, tz: str) -> dict[date, int]:
    # A candidate has no user of its own: in a user scope it goes with the usage row of its request.
    owner: dict[str, str | None] = {}
    for row in ds.usage:
        owner[row.request_id] = row.user_id

    counted: dict[date, dict[str, int]] = {}
    for cand in ds.candidates:
        if cand.status not in FALLBACK_STATUSES:
            continue
        if user_id is not None and owner.get(cand.request_id) != user_id:
            continue
        day = business_day(cand.created_at, tz)
        if not _in_period(day, first_day, last_day):
            continue
        per_request = counted.setdefault(day, {})
        per_request[cand.request_id] = per_request.get(cand.request_id, 0) + 1

    out: dict[date, int] = {}
    for day, per_request in counted.items():
        out[day] = sum(1 for n in per_request.values() if n > 1)
    return out


def _sum_float(values) -> float:  # noqa: ANN001
    total = 0.0
    for v in values:
        total += v
    return total


# --- figures --------------------------------------------------------------------------------


def totals(ds: Dataset, *, user_id: str | None, first_day: date | None, last_day: date, tz: str) -> dict:
    by_day = _usage_by_day(ds, user_id, first_day, last_day, tz)
    rows = [row for day in sorted(by_day) for row in by_day[day]]

    requests = len(rows)
    errors = sum(1 for r in rows if is_error(r))
    input_tokens = sum(r.input_tokens for r in rows)
    output_tokens = sum(r.output_tokens for r in rows)
    cache_creation = sum(r.cache_creation_input_tokens for r in rows)
    cache_read = sum(r.cache_read_input_tokens for r in rows)
    cost = _sum_float(r.total_cost_usd for r in rows)
    actual_cost = _sum_float(r.actual_total_cost_usd for r in rows)

    weighted_ms = 0.0
    for day in sorted(by_day):
        weighted_ms += mean_response_ms(by_day[day]) * len(by_day[day])
    avg_response_time = weighted_ms / requests / 1000 if requests else 0.0

    fallbacks = _fallbacks_by_day(ds, user_id, first_day, last_day, tz)

    return {
        "requests": requests,
        "success_requests": requests - errors,
        "error_requests": errors,
        "error_rate": errors / requests * 100 if requests else 0.0,
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "cache_creation_tokens": cache_creation,
        "cache_read_tokens": cache_read,
        "total_tokens": input_tokens + output_tokens + cache_creation + cache_read,
        "cache_hit_rate": cache_read / (input_tokens + cache_read) * 100 if input_tokens + cache_read else 0.0,
        "cost": cost,
        "actual_cost": actual_cost,
        "cost_savings": cost - actual_cost,
        "cache_creation_cost": _sum_float(r.cache_creation_cost_usd for r in rows),
        "cache_read_cost": _sum_float(r.cache_read_cost_usd for r in rows),
        "avg_response_time": avg_response_time,
        "fallback_count": sum(fallbacks.values()),
    }


def _by_cost_then_name(item: dict) -> tuple:
    return (-item["cost"], item["model"])


def _model_breakdown(rows: list[UsageRow]) -> list[dict]:
    by_model: dict[str, list[UsageRow]] = {}
    for row in rows:
        by_model.setdefault(row.model, []).append(row)
    out = []
    for model, model_rows in by_model.items():
        out.append({
            "model": model,
            "requests": len(model_rows),
            "total_tokens": sum(row_total_tokens(r) for r in model_rows),
            "cost": _sum_float(r.total_cost_usd for r in model_rows),
        })
    out.sort(key=_by_cost_then_name)
    return out


def daily(ds: Dataset, *, user_id: str | None, first_day: date, last_day: date, tz: str) -> list[dict]:
    by_day = _usage_by_day(ds, user_id, first_day, last_day, tz)
    fallbacks = _fallbacks_by_day(ds, user_id, first_day, last_day, tz)
    out = []
    for day in days_between(first_day, last_day):
        rows = by_day.get(day, [])
        out.append({
            "date": day,
            "requests": len(rows),
            "error_requests": sum(1 for r in rows if is_error(r)),
            "input_tokens": sum(r.input_tokens for r in rows),
            "output_tokens": sum(r.output_tokens for r in rows),
            "cache_creation_tokens": sum(r.cache_creation_input_tokens for r in rows),
            "cache_read_tokens": sum(r.cache_read_input_tokens for r in rows),
            "total_tokens": sum(row_total_tokens(r) for r in rows),
            "cost": _sum_float(r.total_cost_usd for r in rows),
            "avg_response_time": mean_response_ms(rows) / 1000,
            "unique_models": len({r.model for r in rows if r.model is not None}),
            "unique_providers": len({r.provider_name for r in rows if r.provider_name is not None}),
            "fallback_count": fallbacks.get(day, 0),
            "model_breakdown": _model_breakdown(rows),
        })
    return out


def model_summary(ds: Dataset, *, user_id: str | None, first_day: date | None, last_day: date, tz: str) -> list[dict]:
    by_day = _usage_by_day(ds, user_id, first_day, last_day, tz)
    by_model_day: dict[str, dict[date, list[UsageRow]]] = {}
    for day in sorted(by_day):
        for row in by_day[day]:
            by_model_day.setdefault(row.model, {}).setdefault(day, []).append(row)

    out = []
    for model, days in by_model_day.items():
        rows = [r for day in sorted(days) for r in days[day]]
        requests = len(rows)
        tokens = sum(row_total_tokens(r) for r in rows)
        cost = _sum_float(r.total_cost_usd for r in rows)
        weighted_ms = 0.0
        for day in sorted(days):
            weighted_ms += mean_response_ms(days[day]) * len(days[day])
        out.append({
            "model": model,
            "requests": requests,
            "total_tokens": tokens,
            "cost": cost,
            "avg_response_time": weighted_ms / requests / 1000,
            "cost_per_request": cost / requests,
            "tokens_per_request": tokens / requests,
        })
    out.sort(key=_by_cost_then_name)
    return out


def provider_status(ds: Dataset, *, user_id: str | None, now: datetime, limit: int) -> list[dict]:
    since = now - timedelta(hours=24)
    out = []
    for provider in ds.providers:
        if not provider.is_active:
            continue
        requests = 0
        for row in ds.usage:
            if in_scope(row, user_id) and row.created_at >= since and belongs_to_provider(row, provider):
                requests += 1
        out.append({
            "id": provider.id,
            "name": provider.name,
            "display_name": provider.display_name,
            "requests": requests,
        })
    out.sort(key=lambda p: (-p["requests"], p["name"]))
    return out[:limit]


def _provider_of(row: UsageRow, ds: Dataset) -> ProviderRow | None:
    if row.provider_id is not None:
        for provider in ds.providers:
            if provider.id == row.provider_id:
                return provider
    if row.provider_name is not None:
        for provider in ds.providers:
            if provider.name == row.provider_name:
                return provider
    return None


def recent(ds: Dataset, *, user_id: str | None, limit: int) -> list[dict]:
    rows = [r for r in ds.usage if in_scope(r, user_id)]
    rows.sort(key=lambda r: r.created_at, reverse=True)
    out = []
    for row in rows[:limit]:
        user = None
        for u in ds.users:
            if row.user_id is not None and u.id == row.user_id:
                user = {"id": u.id, "username": u.username}
        provider = _provider_of(row, ds)
        out.append({
            "id": row.id,
            "request_id": row.request_id,
            "created_at": row.created_at,
            "user": user,
            "provider": (
                {"id": provider.id, "name": provider.name, "display_name": provider.display_name}
                if provider is not None else None
            ),
            "model": row.model,
            "is_stream": row.is_stream,
            "status_code": row.status_code,
            "input_tokens": row.input_tokens,
            "output_tokens": row.output_tokens,
            "total_tokens": row_total_tokens(row),
            "cost": row.total_cost_usd,
        })
    return out


def api_key_counts(ds: Dataset, *, user_id: str | None) -> dict:
    keys = [k for k in ds.api_keys if user_id is None or k.user_id == user_id]
    return {"total": len(keys), "active": sum(1 for k in keys if k.is_active)}


def user_counts(ds: Dataset) -> dict:
    present = [u for u in ds.users if not u.is_deleted]
    return {"total": len(present), "active": sum(1 for u in present if u.is_active)}


def quota(ds: Dataset, *, user_id: str) -> dict:
    user = next(u for u in ds.users if u.id == user_id)
    limit = user.quota_usd
    used = user.used_usd
    if limit is None:
        percent = None
    elif limit == 0:
        percent = 100.0
    else:
        percent = used / limit * 100
    return {"limit_usd": limit, "used_usd": used, "used_percent": percent}


def system_health(ds: Dataset, *, user_id: str | None, now: datetime, tz: str) -> dict:
    today = business_day(now, tz)
    seconds = []
    for row in ds.usage:
        if (
            in_scope(row, user_id)
            and business_day(row.created_at, tz) == today
            and row.status_code == 200
            and row.response_time_ms is not None
        ):
            seconds.append(row.response_time_ms / 1000)
    month = totals(ds, user_id=user_id, first_day=today.replace(day=1), last_day=today, tz=tz)
    return {
        "avg_response_time": _sum_float(seconds) / len(seconds) if seconds else 0.0,
        "error_rate": month["error_rate"],
        "error_requests": month["error_requests"],
        "fallback_count": month["fallback_count"],
        "total_requests": month["requests"],
    }


__all__ = [
    "ApiKeyRow",
    "CandidateRow",
    "Dataset",
    "ProviderRow",
    "UsageRow",
    "UserRow",
    "api_key_counts",
    "belongs_to_provider",
    "business_day",
    "daily",
    "day_start",
    "days_between",
    "in_scope",
    "is_error",
    "mean_response_ms",
    "model_summary",
    "provider_status",
    "quota",
    "recent",
    "row_total_tokens",
    "system_health",
    "totals",
    "user_counts",
]
