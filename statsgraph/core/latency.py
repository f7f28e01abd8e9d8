"""Latency figures that merge: fixed buckets, histograms, nearest-rank percentiles.

Every value (integer milliseconds) falls into a fixed bucket, the same whoever computes it: a
value `v <= 100` is its own bucket, worth `v`; above 100, bucket `i >= 1` holds
`U(i-1) < v <= U(i)` with `U(i) = (100 × 51^i) div 50^i` (about 2 % wide), worth the middle of
its integers. A histogram is a count per bucket, so histograms of hours, days or groups merge by
adding counts, and a percentile read from a merged histogram equals the one read from the rows.
Mean and maximum come from exact sums, not from the buckets."""

from __future__ import annotations

import enum
from bisect import bisect_left
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

# Bucket ids: 0..100 (and below) are the values themselves; bucket i >= 1 above 100 is 100 + i.
LINEAR_MAX = 100
PERCENTILES = (50, 90, 95, 99)

_upper: list[int] = [LINEAR_MAX]  # U(0), U(1), ... extended on demand


class LatencyKind(enum.IntEnum):
    """Which latency a histogram counts; the value is what the rollups store as `kind`."""

    RESPONSE = 0
    FIRST_BYTE = 1


def upper_edge(i: int) -> int:
    """U(i) = (100 × 51^i) div 50^i, in integer arithmetic."""
    while len(_upper) <= i:
        n = len(_upper)
        _upper.append((100 * 51**n) // 50**n)
    return _upper[i]


def bucket_of(ms: int) -> int:
    """The bucket id of a value in milliseconds."""
    v = int(ms)
    if v <= LINEAR_MAX:
        return v
    while _upper[-1] < v:
        upper_edge(len(_upper))
    return LINEAR_MAX + bisect_left(_upper, v)


def bucket_worth(bucket: int) -> float:
    """What a bucket stands for, in milliseconds."""
    if bucket <= LINEAR_MAX:
        return float(bucket)
    i = bucket - LINEAR_MAX
    return (upper_edge(i - 1) + 1 + upper_edge(i)) / 2


def bucket_bounds(bucket: int) -> tuple[int, int]:
    """The smallest and largest value a bucket holds."""
    if bucket <= LINEAR_MAX:
        return bucket, bucket
    i = bucket - LINEAR_MAX
    return upper_edge(i - 1) + 1, upper_edge(i)


@dataclass(slots=True)
class Latency:
    """Count, exact sum and maximum, and the histogram of one set of latency values (ms)."""

    count: int = 0
    sum_ms: float = 0.0
    max_ms: float | None = None
    buckets: dict[int, int] = field(default_factory=dict)

    def add_value(self, ms: int, n: int = 1) -> None:
        self.count += n
        self.sum_ms += ms * n
        self.max_ms = ms if self.max_ms is None else max(self.max_ms, ms)
        b = bucket_of(ms)
        self.buckets[b] = self.buckets.get(b, 0) + n

    def add_buckets(self, buckets: Mapping[int, int]) -> None:
        """Merge histogram counts (count, sum and max are added separately)."""
        for b, n in buckets.items():
            if n:
                self.buckets[b] = self.buckets.get(b, 0) + n

    def add_sums(self, count: int, sum_ms: float, max_ms: float | None) -> None:
        self.count += count
        self.sum_ms += sum_ms
        if max_ms is not None:
            self.max_ms = max_ms if self.max_ms is None else max(self.max_ms, max_ms)

    def merge(self, other: Latency) -> None:
        if not other.count and not other.buckets:
            return  # most cells of a report have no latency of one kind or the other
        self.add_sums(other.count, other.sum_ms, other.max_ms)
        self.add_buckets(other.buckets)

    @property
    def mean_ms(self) -> float | None:
        return self.sum_ms / self.count if self.count else None

    def percentile_ms(self, percent: int) -> float | None:
        """The worth of the bucket holding the nearest-rank element, the ceil(p × count)-th
        smallest value; None when the histogram is empty."""
        total = sum(self.buckets.values())
        if total == 0:
            return None
        rank = max(1, -(-percent * total // 100))
        seen = 0
        for b in sorted(self.buckets):
            seen += self.buckets[b]
            if seen >= rank:
                return bucket_worth(b)
        raise AssertionError("unreachable: rank within the total")


def histogram_of(values: Iterable[int]) -> Latency:
    out = Latency()
    for v in values:
        out.add_value(v)
    return out


def seconds(ms: float | None) -> float | None:
    return None if ms is None else ms / 1000


__all__ = [
    "LINEAR_MAX",
    "PERCENTILES",
    "Latency",
    "bucket_bounds",
    "bucket_of",
    "bucket_worth",
    "histogram_of",
    "seconds",
    "upper_edge",
]
