"""The `usage` report of DESIGN.md ("Analytics"), computed the slow and obvious way: loops over
the raw rows held in memory, with its own calendar units and its own latency buckets.

Nothing here comes from `statsgraph`. The answer is shaped like the GraphQL response (camelCase
keys), so a test compares it with what the server said, field by field."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from tests.reference import Dataset, UsageRow

UTC = timezone.utc

MEASURE_FIELDS = (
    "requests successRequests errorRequests errorRate inputTokens outputTokens cacheCreationTokens "
    "cacheReadTokens totalTokens cacheHitRate cost cacheCreationCost cacheReadCost"
)
LATENCY_FIELDS = "count mean p50 p90 p95 p99 max"
KEY_FIELDS = "model provider { id } apiKey { id } user { id } apiFormat isStream outcome statusCode"


def document(*, operator: bool) -> str:
    extra = "actualCost costSavings" if operator else ""
    return """
fragment M on UsageMeasures {
  %s %s
  responseTime { %s } firstByteTime { %s }
}
fragment G on UsageGroup { isOther key { %s } measures { ...M } }
query ($range: TimeRange!, $granularity: Granularity, $groupBy: [Dimension!]!, $filter: UsageFilter,
       $timeZone: String, $orderBy: UsageOrder!, $limit: Int!, $userId: ID) {
  usage(range: $range, granularity: $granularity, groupBy: $groupBy, filter: $filter,
        timeZone: $timeZone, orderBy: $orderBy, limit: $limit, userId: $userId) {
    from to timeZone granularity
    totals { ...M }
    groups { ...G }
    buckets { start end totals { ...M } groups { ...G } }
  }
}""" % (MEASURE_FIELDS, extra, LATENCY_FIELDS, LATENCY_FIELDS, KEY_FIELDS)


# --- latency buckets (the contract's rule, written out plainly) ---------------------------


def _upper(i: int) -> int:
    return (100 * 51**i) // 50**i


def latency_bucket(ms: int) -> tuple[int, float]:
    """(bucket number, worth): values up to 100 are their own bucket."""
    if ms <= 100:
        return ms, float(ms)
    i = 1
    while _upper(i) < ms:
        i += 1
    return 1000 + i, (_upper(i - 1) + 1 + _upper(i)) / 2


def latency(values: list[int]) -> dict:
    if not values:
        return {"count": 0, "mean": None, "p50": None, "p90": None, "p95": None, "p99": None, "max": None}
    ordered = sorted(values)
    out: dict = {"count": len(values), "mean": sum(values) / len(values) / 1000, "max": max(values) / 1000}
    for p in (50, 90, 95, 99):
        rank = (p * len(values) + 99) // 100  # ceil(p/100 × count) in integers
        out[f"p{p}"] = latency_bucket(ordered[max(rank, 1) - 1])[1] / 1000
    return out


# --- rows ---------------------------------------------------------------------------------


def is_error(row: UsageRow) -> bool:
    return (row.status_code is not None and row.status_code >= 400) or row.error_message is not None


def provider_of(ds: Dataset, row: UsageRow) -> str | None:
    if row.provider_id is not None:
        return row.provider_id
    for p in ds.providers:
        if p.name == row.provider_name:
            return p.id
    return None


def key_value(ds: Dataset, row: UsageRow, dim: str) -> object:
    if dim == "MODEL":
        return row.model
    if dim == "PROVIDER":
        return provider_of(ds, row)
    if dim == "API_KEY":
        return row.api_key_id
    if dim == "USER":
        return row.user_id
    if dim == "API_FORMAT":
        return row.api_format
    if dim == "STREAM":
        return bool(row.is_stream)
    if dim == "OUTCOME":
        return "ERROR" if is_error(row) else "SUCCESS"
    if dim == "STATUS_CODE":
        return row.status_code
    raise AssertionError(dim)


def matches(ds: Dataset, row: UsageRow, flt: dict | None) -> bool:
    if not flt:
        return True
    checks = (
        ("models", row.model), ("providerIds", provider_of(ds, row)), ("apiKeyIds", row.api_key_id),
        ("userIds", row.user_id), ("apiFormats", row.api_format), ("statusCodes", row.status_code),
    )
    for name, value in checks:
        if flt.get(name) is not None and value not in flt[name]:
            return False
    if flt.get("isStream") is not None and bool(row.is_stream) != flt["isStream"]:
        return False
    if flt.get("outcome") is not None and ("ERROR" if is_error(row) else "SUCCESS") != flt["outcome"]:
        return False
    return True


def measures(rows: list[UsageRow], *, operator: bool) -> dict:
    requests = len(rows)
    errors = sum(1 for r in rows if is_error(r))
    inp = sum(r.input_tokens for r in rows)
    out = sum(r.output_tokens for r in rows)
    cc = sum(r.cache_creation_input_tokens for r in rows)
    cr = sum(r.cache_read_input_tokens for r in rows)
    cost = 0.0
    actual = 0.0
    cc_cost = 0.0
    cr_cost = 0.0
    for r in rows:
        cost += r.total_cost_usd
        actual += r.actual_total_cost_usd
        cc_cost += r.cache_creation_cost_usd
        cr_cost += r.cache_read_cost_usd
    m = {
        "requests": requests, "successRequests": requests - errors, "errorRequests": errors,
        "errorRate": errors / requests * 100 if requests else 0.0,
        "inputTokens": inp, "outputTokens": out, "cacheCreationTokens": cc, "cacheReadTokens": cr,
        "totalTokens": inp + out + cc + cr, "cacheHitRate": cr / (inp + cr) * 100 if inp + cr else 0.0,
        "cost": cost, "cacheCreationCost": cc_cost, "cacheReadCost": cr_cost,
        "responseTime": latency([r.response_time_ms for r in rows if r.response_time_ms is not None]),
        "firstByteTime": latency([r.first_byte_time_ms for r in rows if r.first_byte_time_ms is not None]),
    }
    if operator:
        m["actualCost"] = actual
        m["costSavings"] = cost - actual
    return m


# --- calendar -----------------------------------------------------------------------------


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=tz).astimezone(UTC)


def edges(start: datetime, end: datetime, granularity: str | None, tz_name: str) -> list[datetime]:
    tz = ZoneInfo(tz_name)
    if granularity is None:
        return [start, end]
    found = [start]
    if granularity == "HOUR":
        # Every UTC minute whose local time is a whole hour.
        t = start.replace(second=0, microsecond=0) + timedelta(minutes=1)
        while t < end:
            local = t.astimezone(tz)
            if local.minute == 0:
                found.append(t)
            t += timedelta(minutes=1)
    else:
        day = start.astimezone(tz).date() + timedelta(days=1)
        while True:
            starts_unit = (
                granularity == "DAY"
                or (granularity == "WEEK" and day.weekday() == 0)
                or (granularity == "MONTH" and day.day == 1)
            )
            at = local_midnight(day, tz)
            if at >= end:
                break
            if starts_unit and at > start:
                found.append(at)
            day += timedelta(days=1)
    found.append(end)
    return found


# --- the report ---------------------------------------------------------------------------


def _sort_key(order: str, key: tuple, m: dict) -> tuple:
    by_key = tuple((v is None, "" if v is None else v) for v in key)
    if order == "COST_DESC":
        return (-m["cost"], by_key)
    if order == "REQUESTS_DESC":
        return (-m["requests"], by_key)
    if order == "TOKENS_DESC":
        return (-m["totalTokens"], by_key)
    return (by_key,)


def _key_json(dims: list[str], key: tuple) -> dict:
    out: dict = {"model": None, "provider": None, "apiKey": None, "user": None, "apiFormat": None,
                 "isStream": None, "outcome": None, "statusCode": None}
    names = {"MODEL": "model", "PROVIDER": "provider", "API_KEY": "apiKey", "USER": "user",
             "API_FORMAT": "apiFormat", "STREAM": "isStream", "OUTCOME": "outcome", "STATUS_CODE": "statusCode"}
    for dim, value in zip(dims, key):
        if dim in ("PROVIDER", "API_KEY", "USER"):
            out[names[dim]] = None if value is None else {"id": value}
        else:
            out[names[dim]] = value
    return out


def groups(ds: Dataset, rows: list[UsageRow], dims: list[str], order: str, limit: int, *, operator: bool,
           known_ids: dict[str, set[str]]) -> list[dict]:
    by_key: dict[tuple, list[UsageRow]] = {}
    for r in rows:
        by_key.setdefault(tuple(key_value(ds, r, d) for d in dims), []).append(r)
    ranked = sorted(by_key.items(), key=lambda kv: _sort_key(order, kv[0], measures(kv[1], operator=False)))
    out = []
    for key, group_rows in ranked[:limit]:
        kj = _key_json(dims, key)
        # A reference to a row that no longer exists is null.
        for field, kind in (("provider", "providers"), ("apiKey", "api_keys"), ("user", "users")):
            if kj[field] is not None and kj[field]["id"] not in known_ids[kind]:
                kj[field] = None
        out.append({"isOther": False, "key": kj, "measures": measures(group_rows, operator=operator)})
    rest = [r for _, group_rows in ranked[limit:] for r in group_rows]
    if ranked[limit:]:
        out.append({"isOther": True, "key": _key_json([], ()), "measures": measures(rest, operator=operator)})
    return out


def usage_report(ds: Dataset, *, start: datetime, end: datetime, granularity: str | None, tz: str,
                 group_by: list[str], flt: dict | None, order: str, limit: int, user_id: str | None,
                 operator: bool) -> dict:
    """What `usage` answers; `user_id` is the scope (None = everyone)."""
    dims = list(dict.fromkeys(group_by))
    known = {"providers": {p.id for p in ds.providers}, "api_keys": {k.id for k in ds.api_keys},
             "users": {u.id for u in ds.users}}
    rows = [
        r for r in ds.usage
        if start <= r.created_at < end and (user_id is None or r.user_id == user_id) and matches(ds, r, flt)
    ]
    cuts = edges(start, end, granularity, tz)
    buckets = []
    if granularity is not None:
        for lo, hi in zip(cuts, cuts[1:]):
            inside = [r for r in rows if lo <= r.created_at < hi]
            buckets.append({
                "start": lo.isoformat(), "end": hi.isoformat(), "totals": measures(inside, operator=operator),
                "groups": groups(ds, inside, dims, order, limit, operator=operator, known_ids=known),
            })
    return {
        "from": start.isoformat(), "to": end.isoformat(), "timeZone": tz, "granularity": granularity,
        "totals": measures(rows, operator=operator),
        "groups": groups(ds, rows, dims, order, limit, operator=operator, known_ids=known),
        "buckets": buckets,
    }


ADDITIVE = ("requests", "successRequests", "errorRequests", "inputTokens", "outputTokens",
            "cacheCreationTokens", "cacheReadTokens", "totalTokens", "cost", "cacheCreationCost",
            "cacheReadCost")


def assert_additive(report: dict) -> None:
    """Σ groups = totals and Σ buckets = totals, for every additive measure."""

    def check(parts: list[dict], whole: dict, where: str) -> None:
        for name in ADDITIVE + (("actualCost",) if whole.get("actualCost") is not None else ()):
            total = sum(p[name] for p in parts)
            assert abs(total - whole[name]) <= 1e-9 * max(1.0, abs(whole[name])), (where, name, total, whole[name])
        for lat in ("responseTime", "firstByteTime"):
            if lat in whole:
                assert sum(p[lat]["count"] for p in parts) == whole[lat]["count"], (where, lat)

    totals = report["totals"]
    check([g["measures"] for g in report["groups"]], totals, "groups")
    if report["buckets"]:
        check([b["totals"] for b in report["buckets"]], totals, "buckets")
        for i, b in enumerate(report["buckets"]):
            check([g["measures"] for g in b["groups"]], b["totals"], f"bucket {i}")


__all__ = ["assert_additive", "document", "edges", "latency", "latency_bucket", "usage_report"]
