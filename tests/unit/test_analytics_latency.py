"""The latency bucket rule, histograms and percentiles: pure, fast, no servers."""

from __future__ import annotations

import math
import random

from statsgraph.core.latency import (
    Latency,
    bucket_bounds,
    bucket_of,
    bucket_worth,
    histogram_of,
    upper_edge,
)


def test_upper_edges_are_the_contracts() -> None:
    assert [upper_edge(i) for i in range(4)] == [100, 102, 104, 106]
    for i in range(1, 600):
        assert upper_edge(i) == (100 * 51**i) // 50**i
        assert upper_edge(i) > upper_edge(i - 1)


def test_small_values_are_their_own_bucket() -> None:
    for v in (0, 1, 57, 100):
        assert bucket_of(v) == v and bucket_worth(v) == v


def test_every_value_lands_between_its_bucket_edges() -> None:
    for v in list(range(95, 3000)) + [10**5, 120_000, 10**7]:
        lo, hi = bucket_bounds(bucket_of(v))
        assert lo <= v <= hi, v
    assert bucket_of(101) == bucket_of(102) != bucket_of(103)
    assert bucket_worth(bucket_of(101)) == 101.5


def test_percentile_is_nearest_rank_within_one_percent() -> None:
    rng = random.Random(7)
    for _ in range(30):
        values = [int(rng.lognormvariate(7, 1.2)) for _ in range(rng.randrange(1, 500))]
        h = histogram_of(values)
        ordered = sorted(values)
        for p in (50, 90, 95, 99):
            exact = ordered[math.ceil(p / 100 * len(values)) - 1]
            got = h.percentile_ms(p)
            assert got is not None
            assert abs(got - exact) <= 0.01 * exact + 0.5, (p, got, exact)
        assert h.max_ms == max(values)
        assert h.mean_ms == sum(values) / len(values)


def test_rank_uses_exact_arithmetic() -> None:
    # 0.9 × 10 is 9.000000000000002 in floating point: the 9th value, not the 10th.
    h = histogram_of(range(1, 11))
    assert h.percentile_ms(90) == 9
    assert h.percentile_ms(50) == 5
    assert histogram_of([42]).percentile_ms(1) == 42


def test_merging_histograms_equals_one_histogram() -> None:
    rng = random.Random(3)
    parts = [[rng.randrange(0, 50_000) for _ in range(rng.randrange(0, 80))] for _ in range(12)]
    merged = Latency()
    for part in parts:
        merged.merge(histogram_of(part))
    whole = histogram_of([v for part in parts for v in part])
    assert merged.buckets == whole.buckets and merged.count == whole.count
    assert merged.max_ms == whole.max_ms and merged.sum_ms == whole.sum_ms
    for p in (50, 90, 95, 99):
        assert merged.percentile_ms(p) == whole.percentile_ms(p)


def test_empty_has_no_figures() -> None:
    h = Latency()
    assert h.mean_ms is None and h.max_ms is None and h.percentile_ms(50) is None
