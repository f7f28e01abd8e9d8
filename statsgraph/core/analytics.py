"""The arithmetic of usage reports, apart from any database: calendar units in a time zone,
additive measures, and a report assembled from its ranked groups.

The database ranks a report's groups (each bucket's and the whole range's, the rest summed into
one "other" group) and hands them over as Groups; everything here only adds them up into bucket
and report totals, so a figure is the same whichever source its rows came from."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from .latency import Latency

UTC = timezone.utc

MAX_RANGE_DAYS = 400
MAX_BUCKETS = 800
MAX_HOUR_RANGE_DAYS = 31
MAX_GROUPS = 100


class Granularity(enum.Enum):
    HOUR = "hour"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


class Dimension(enum.Enum):
    MODEL = "model"
    PROVIDER = "provider"
    API_KEY = "api_key"
    USER = "user"
    API_FORMAT = "api_format"
    STREAM = "stream"
    OUTCOME = "outcome"
    STATUS_CODE = "status_code"


class UsageOrder(enum.Enum):
    """How groups rank: by the measure, largest first, ties (and KEY_ASC) by key ascending per
    dimension in `groupBy` order, nulls last, strings by code point."""

    COST_DESC = "cost_desc"
    REQUESTS_DESC = "requests_desc"
    TOKENS_DESC = "tokens_desc"
    KEY_ASC = "key_asc"


class MeasureFamily(enum.Enum):
    """Measures read together, so a report reads only the families its query selects.
    Requests are always read: they decide whether a group exists and what rests to drop."""

    ERRORS = "errors"
    TOKENS = "tokens"
    COST = "cost"
    ACTUAL_COST = "actual_cost"
    CACHE_COSTS = "cache_costs"
    RESPONSE = "response"
    FIRST_BYTE = "first_byte"


EVERY_MEASURE = frozenset(MeasureFamily)


def families_for_order(order: UsageOrder) -> frozenset[MeasureFamily]:
    """What a ranking reads whether or not the query selects it."""
    if order is UsageOrder.COST_DESC:
        return frozenset({MeasureFamily.COST})
    if order is UsageOrder.TOKENS_DESC:
        return frozenset({MeasureFamily.TOKENS})
    return frozenset()


class RangeError(ValueError):
    """A range, granularity or limit outside the contract; `argument` names what to fix."""

    def __init__(self, message: str, argument: str) -> None:
        super().__init__(message)
        self.argument = argument


@dataclass(frozen=True, slots=True)
class Filter:
    """Which rows a report holds; every list is "any of", None = no filter."""

    models: tuple[str, ...] | None = None
    provider_ids: tuple[str, ...] | None = None
    api_key_ids: tuple[str, ...] | None = None
    user_ids: tuple[str, ...] | None = None
    api_formats: tuple[str, ...] | None = None
    is_stream: bool | None = None
    error: bool | None = None  # True: errors only; False: successes only
    status_codes: tuple[int, ...] | None = None


NO_FILTER = Filter()


# --- calendar units ---------------------------------------------------------------------------


def _unit_start(local: datetime, unit: Granularity) -> datetime:
    """The start of the unit holding a local wall-clock time (naive)."""
    if unit is Granularity.HOUR:
        return local.replace(minute=0, second=0, microsecond=0)
    day = local.date()
    if unit is Granularity.WEEK:
        day -= timedelta(days=day.weekday())
    elif unit is Granularity.MONTH:
        day = day.replace(day=1)
    return datetime.combine(day, time.min)


def _next_unit(local_start: datetime, unit: Granularity) -> datetime:
    if unit is Granularity.HOUR:
        return local_start + timedelta(hours=1)
    if unit is Granularity.DAY:
        return local_start + timedelta(days=1)
    if unit is Granularity.WEEK:
        return local_start + timedelta(days=7)
    year, month = (local_start.year + 1, 1) if local_start.month == 12 else (local_start.year, local_start.month + 1)
    return local_start.replace(year=year, month=month, day=1)


def bucket_edges(start: datetime, end: datetime, unit: Granularity, tz: ZoneInfo) -> list[datetime]:
    """UTC edges of the units of `tz` covering [start, end), clipped to the range: the first
    edge is `start`, the last `end`. Days are local midnights (23 or 25 hours across DST); hours
    are the zone's hours, counted in UTC so a repeated local hour is two buckets."""
    edges = [start]
    if unit is Granularity.HOUR:
        # Every zone's offset is a whole number of quarter hours: a local hour starts at the
        # next quarter-hour UTC instant whose local minute is 0. Stepping in UTC counts an
        # hour repeated by DST twice and a skipped one not at all.
        quarter = timedelta(minutes=15)
        cursor = start.replace(minute=start.minute - start.minute % 15, second=0, microsecond=0)
        while True:
            cursor += quarter
            if cursor >= end:
                break
            if cursor.astimezone(tz).minute == 0:
                edges.append(cursor)
        edges.append(end)
        return edges
    local = _unit_start(start.astimezone(tz).replace(tzinfo=None), unit)
    while True:
        local = _next_unit(local, unit)
        instant = local.replace(tzinfo=tz).astimezone(UTC)
        if instant >= end:
            break
        if instant > edges[-1]:
            edges.append(instant)
    edges.append(end)
    return edges


def check_range(start: datetime, end: datetime, unit: Granularity | None) -> None:
    if end <= start:
        raise RangeError("the range is empty: `to` must be after `from`", "range")
    if end - start > timedelta(days=MAX_RANGE_DAYS):
        raise RangeError(f"a range may span at most {MAX_RANGE_DAYS} days", "range")
    if unit is Granularity.HOUR and end - start > timedelta(days=MAX_HOUR_RANGE_DAYS):
        raise RangeError(f"HOUR granularity allows a range of at most {MAX_HOUR_RANGE_DAYS} days", "granularity")


def check_buckets(edges: Sequence[datetime]) -> None:
    if len(edges) - 1 > MAX_BUCKETS:
        raise RangeError(f"a report may have at most {MAX_BUCKETS} buckets", "granularity")


def check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_GROUPS:
        raise RangeError(f"limit must be between 1 and {MAX_GROUPS}", "limit")


def day_start(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=tz).astimezone(UTC)


# --- measures ---------------------------------------------------------------------------------


@dataclass(slots=True)
class Measures:
    """Additive figures of a set of usage rows, and their two latency distributions. The
    families a report did not read (`MeasureFamily`) stay zero."""

    requests: int = 0
    error_requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_tokens: int = 0
    cache_read_tokens: int = 0
    cost: float = 0.0
    actual_cost: float = 0.0
    cache_creation_cost: float = 0.0
    cache_read_cost: float = 0.0
    response: Latency = field(default_factory=Latency)
    first_byte: Latency = field(default_factory=Latency)

    def add(self, other: Measures) -> None:
        self.requests += other.requests
        self.error_requests += other.error_requests
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.cache_creation_tokens += other.cache_creation_tokens
        self.cache_read_tokens += other.cache_read_tokens
        self.cost += other.cost
        self.actual_cost += other.actual_cost
        self.cache_creation_cost += other.cache_creation_cost
        self.cache_read_cost += other.cache_read_cost
        # Most cells hold no latency of one kind or both: skip the calls, not just their work.
        if other.response.count or other.response.buckets:
            self.response.merge(other.response)
        if other.first_byte.count or other.first_byte.buckets:
            self.first_byte.merge(other.first_byte)

    @property
    def success_requests(self) -> int:
        return self.requests - self.error_requests

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens + self.cache_creation_tokens + self.cache_read_tokens

    @property
    def error_rate(self) -> float:
        return self.error_requests / self.requests * 100 if self.requests else 0.0

    @property
    def cache_hit_rate(self) -> float:
        divisor = self.input_tokens + self.cache_read_tokens
        return self.cache_read_tokens / divisor * 100 if divisor else 0.0

    @property
    def cost_savings(self) -> float:
        return self.cost - self.actual_cost


# A group key: one value per grouped dimension, in the order of `groupBy`. PROVIDER holds the
# provider id, API_KEY the key id, USER the user id, OUTCOME "SUCCESS"/"ERROR".
Key = tuple[object, ...]


def sum_measures(items: Iterable[Measures]) -> Measures:
    out = Measures()
    for m in items:
        out.add(m)
    return out


@dataclass(slots=True)
class Group:
    key: Key
    measures: Measures
    is_other: bool = False


@dataclass(slots=True)
class Bucket:
    start: datetime
    end: datetime
    totals: Measures
    groups: list[Group]


@dataclass(slots=True)
class Report:
    start: datetime
    end: datetime
    time_zone: str
    granularity: Granularity | None
    dimensions: tuple[Dimension, ...]
    totals: Measures
    groups: list[Group]
    buckets: list[Bucket]


def assemble_report(
    whole: list[Group],
    per_bucket: Sequence[list[Group]] | None,
    *,
    edges: Sequence[datetime],
    time_zone: str,
    granularity: Granularity | None,
    dimensions: tuple[Dimension, ...],
) -> Report:
    """A report from its ranked groups: the whole range's, and each bucket's when there is a
    granularity (index i for [edges[i], edges[i+1])). Totals are the sum of the groups (the
    top ones and the rest), so Σ groups = totals by construction."""
    buckets = []
    if granularity is not None:
        n = len(edges) - 1
        rows = per_bucket or [[] for _ in range(n)]
        for i in range(n):
            buckets.append(Bucket(edges[i], edges[i + 1], sum_measures(g.measures for g in rows[i]), rows[i]))
    return Report(
        start=edges[0], end=edges[-1], time_zone=time_zone, granularity=granularity,
        dimensions=dimensions, totals=sum_measures(g.measures for g in whole), groups=whole,
        buckets=buckets,
    )


__all__ = [
    "MAX_BUCKETS",
    "MAX_GROUPS",
    "MAX_HOUR_RANGE_DAYS",
    "MAX_RANGE_DAYS",
    "NO_FILTER",
    "Bucket",
    "Dimension",
    "EVERY_MEASURE",
    "Filter",
    "Granularity",
    "Group",
    "Key",
    "MeasureFamily",
    "Measures",
    "RangeError",
    "Report",
    "UsageOrder",
    "bucket_edges",
    "assemble_report",
    "check_buckets",
    "check_limit",
    "check_range",
    "day_start",
    "families_for_order",
    "sum_measures",
]
