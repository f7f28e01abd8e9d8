"""Period arithmetic on plain figures (no database)."""

from __future__ import annotations

from datetime import date

import pytest

from statsgraph.core.accounts import QuotaState
from statsgraph.core.figures import DayFigures, ModelDay, model_totals_of, totals_of


def test_totals_sum_days_and_weigh_response_time_by_requests() -> None:
    days = [
        DayFigures(date(2026, 1, 1), requests=1, error_requests=1, input_tokens=10, cache_read_tokens=30,
                   cost=1.5, actual_cost=1.0, avg_response_ms=1000, fallback_count=2),
        DayFigures(date(2026, 1, 2), requests=3, input_tokens=30, output_tokens=5, cost=0.5,
                   avg_response_ms=2000, ok_response_ms_sum=900, ok_response_count=3),
    ]
    t = totals_of(days)
    assert (t.requests, t.error_requests, t.success_requests, t.fallback_count) == (4, 1, 3, 2)
    assert t.total_tokens == 75
    assert t.avg_response_time == pytest.approx((1000 * 1 + 2000 * 3) / 4 / 1000)
    assert t.ok_avg_response_time == pytest.approx(0.3)
    assert t.error_rate == 25.0
    assert t.cache_hit_rate == pytest.approx(30 / 70 * 100)
    assert t.cost_savings == pytest.approx(1.0)


def test_empty_periods_divide_by_nothing() -> None:
    t = totals_of([])
    assert (t.error_rate, t.cache_hit_rate, t.avg_response_time, t.ok_avg_response_time) == (0, 0, 0, 0)


def test_model_totals_most_cost_first_ties_by_name() -> None:
    rows = [
        ModelDay(date(2026, 1, 1), "b", requests=2, input_tokens=4, cost=1.0, avg_response_ms=100),
        ModelDay(date(2026, 1, 2), "b", requests=2, output_tokens=4, cost=1.0, avg_response_ms=300),
        ModelDay(date(2026, 1, 1), "a", requests=1, cost=2.0),
        ModelDay(date(2026, 1, 1), "c", requests=1, cost=2.0),
    ]
    out = model_totals_of(rows)
    assert [m.model for m in out] == ["a", "b", "c"]
    b = out[1]
    assert (b.requests, b.total_tokens, b.cost) == (4, 8, 2.0)
    assert b.avg_response_time == pytest.approx(0.2)
    assert (b.cost_per_request, b.tokens_per_request) == (0.5, 2.0)


@pytest.mark.parametrize(
    ("limit", "used", "percent"), [(None, 5.0, None), (0.0, 5.0, 100.0), (20.0, 5.0, 25.0)]
)
def test_quota_percent(limit: float | None, used: float, percent: float | None) -> None:
    assert QuotaState(limit_usd=limit, used_usd=used).used_percent == percent
