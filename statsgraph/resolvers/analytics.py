"""The `usage` report: arguments checked against the contract, the scope applied, groups read
and ranked (rollups where they cover, raw rows for the rest) and added up by the pure core."""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields, replace
from datetime import date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from strawberry.types import Info
from strawberry.types.nodes import SelectedField, Selection

from ..core.analytics import (
    Dimension,
    Filter,
    Granularity,
    MeasureFamily,
    RangeError,
    Report,
    UsageOrder,
    assemble_report,
    bucket_edges,
    check_buckets,
    check_limit,
    check_range,
    day_start,
)
from ..core.latency import LatencyKind
from ..core.scope import Scope, UserScope
from ..db.queries.usage_cells import report_groups
from .cache.reports import report_from_plain
from .context import Context
from .errors import BadUserInput, Forbidden

UTC = timezone.utc
PERCENTILE_FIELDS = frozenset({"p50", "p90", "p95", "p99"})


@dataclass(frozen=True, slots=True)
class RangeArgs:
    start: datetime | None = None
    end: datetime | None = None
    start_date: date | None = None
    end_date: date | None = None


def zone_of(name: str | None, default: str) -> tuple[str, ZoneInfo]:
    tz_name = default if name is None else name
    try:
        if not tz_name or len(tz_name) > 64 or not tz_name.isprintable():
            raise ValueError(tz_name)
        return tz_name, ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise BadUserInput(f"Unknown time zone: {tz_name[:64]!r} (an IANA name)", argumentName="timeZone") from None


def _aware(value: datetime) -> datetime:
    return (value if value.tzinfo is not None else value.replace(tzinfo=UTC)).astimezone(UTC)


def resolve_range(r: RangeArgs, tz: ZoneInfo, now: datetime) -> tuple[datetime, datetime]:
    """[start, end) in UTC from exactly one of from/startDate and at most one of to/endDate."""
    if (r.start is None) == (r.start_date is None):
        raise BadUserInput("range needs exactly one of `from` and `startDate`", argumentName="range")
    if r.end is not None and r.end_date is not None:
        raise BadUserInput("range takes at most one of `to` and `endDate`", argumentName="range")
    start = _aware(r.start) if r.start is not None else day_start(r.start_date, tz)  # type: ignore[arg-type]
    if r.end is not None:
        end = _aware(r.end)
    elif r.end_date is not None:
        end = day_start(r.end_date + timedelta(days=1), tz)
    elif r.start_date is not None:
        end = day_start(now.astimezone(tz).date() + timedelta(days=1), tz)  # endDate defaults to today
    else:
        end = now
    return start, end


_LATENCY_FIELDS = {"responseTime": LatencyKind.RESPONSE, "firstByteTime": LatencyKind.FIRST_BYTE}

_F = MeasureFamily
_FAMILIES_OF_FIELD = {
    "successRequests": {_F.ERRORS}, "errorRequests": {_F.ERRORS}, "errorRate": {_F.ERRORS},
    **{name: {_F.TOKENS} for name in (
        "inputTokens", "outputTokens", "cacheCreationTokens", "cacheReadTokens", "totalTokens", "cacheHitRate",
    )},
    "cost": {_F.COST}, "actualCost": {_F.ACTUAL_COST}, "costSavings": {_F.COST, _F.ACTUAL_COST},
    "cacheCreationCost": {_F.CACHE_COSTS}, "cacheReadCost": {_F.CACHE_COSTS},
    "responseTime": {_F.RESPONSE}, "firstByteTime": {_F.FIRST_BYTE},
}


def _names_below(selections: Iterable[Selection]) -> set[str]:
    """Every field name selected below, through fragments, whatever the aliases."""
    out: set[str] = set()
    for s in selections:
        if isinstance(s, SelectedField):
            out.add(s.name)
        out |= _names_below(s.selections)
    return out


def measure_families(info: Info) -> frozenset[MeasureFamily]:
    """The measures selected anywhere below the current field: only those are summed. A name
    is taken wherever it appears (a key's field named like a measure only sums one more)."""
    names = _names_below(s for f in info.selected_fields for s in f.selections)
    return frozenset(f for name in names for f in _FAMILIES_OF_FIELD.get(name, ()))


def percentile_kinds(info: Info) -> frozenset[LatencyKind]:
    """The latencies whose percentiles are selected anywhere below the current field: only
    those need histograms (count, mean and max come from sums)."""
    kinds: set[LatencyKind] = set()

    def walk(selections: Iterable[Selection]) -> None:
        for s in selections:
            kind = _LATENCY_FIELDS.get(s.name) if isinstance(s, SelectedField) else None
            if kind is not None and _names_below(s.selections) & PERCENTILE_FIELDS:
                kinds.add(kind)
            walk(s.selections)

    for f in info.selected_fields:
        walk(f.selections)
    return frozenset(kinds)


def scoped_filter(ctx: Context, scope: Scope, flt: Filter) -> Filter:
    """A user viewer naming anyone else in `userIds` is refused; in a user scope, the
    scope's own condition makes other users' keys and ids match nothing."""
    viewer = ctx.require_viewer()
    if flt.user_ids is not None and not viewer.is_admin and any(u != viewer.id for u in flt.user_ids):
        raise Forbidden("You may only read your own statistics")
    if isinstance(scope, UserScope) and flt.user_ids is not None:
        return replace(flt, user_ids=tuple(u for u in flt.user_ids if u == scope.user_id))
    return flt


async def usage_report(
    ctx: Context,
    *,
    scope: Scope,
    range_args: RangeArgs,
    granularity: Granularity | None,
    dims: Sequence[Dimension],
    flt: Filter,
    time_zone: str | None,
    order: UsageOrder,
    limit: int,
    histograms: frozenset[LatencyKind],
    families: frozenset[MeasureFamily],
    path: Any = None,
) -> Report:
    tz_name, tz = zone_of(time_zone, ctx.calendar.tz_name)
    try:
        check_limit(limit)
        start, end = resolve_range(range_args, tz, ctx.calendar.now())
        check_range(start, end, granularity)
        edges = bucket_edges(start, end, granularity, tz) if granularity is not None else [start, end]
        check_buckets(edges)
    except RangeError as exc:
        raise BadUserInput(str(exc), argumentName=exc.argument) from None
    flt = scoped_filter(ctx, scope, flt)
    dims = tuple(dict.fromkeys(dims))  # a dimension named twice groups once

    async def compute() -> Report:
        async with ctx.sessions() as session:
            ranked = await report_groups(
                session, scope=scope, flt=flt, dims=dims, edges=edges, histograms=histograms,
                buckets=granularity is not None, order=order, limit=limit, families=families,
            )
        return assemble_report(
            ranked.whole, ranked.buckets, edges=edges, time_zone=tz_name, granularity=granularity, dimensions=dims,
        )

    # Keyed by the data's scope and the arguments as asked (a range running to now is one entry
    # per business day and lifetime, like today's figures); a range that ended before today
    # cannot change but by a late correction, and is kept until the day turns.
    asked = {
        "range": [range_args.start, range_args.end, range_args.start_date, range_args.end_date],
        "granularity": granularity, "dims": dims, "filter": flt, "zone": tz_name, "order": order, "limit": limit,
        "histograms": sorted(int(k) for k in histograms), "measures": sorted(f.value for f in families),
    }
    key = ctx.cache.key("Query.usage", scope.key, ctx.calendar.today().isoformat(), cache_args(asked))
    ttl = ctx.ttl_for("analytics", scope, closed=end <= ctx.calendar.today_start())
    cached = await ctx.cache.get_or_compute(
        key, ttl, compute, "Query.usage", report_from_plain, computed_as_decoded=True
    )
    if path is not None:
        ctx.freshness.record(path, cached.computed_at, ttl, scope, hit=cached.hit)
    return cached.data


def cache_args(values: dict[str, Any]) -> str:
    return json.dumps(values, sort_keys=True, default=_plain)


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, Filter):
        return {f.name: getattr(value, f.name) for f in fields(value)}
    raise TypeError(f"not part of a cache key: {type(value).__name__}")


__all__ = [
    "PERCENTILE_FIELDS", "RangeArgs", "measure_families", "percentile_kinds", "resolve_range", "usage_report", "zone_of",
]
