"""Plain figures computed by the queries: one business day, and a period's totals.

These are the definitions of docs/figures.md in code; the GraphQL types are built from them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date


def total_tokens(input_tokens: int, output_tokens: int, cache_creation_tokens: int, cache_read_tokens: int) -> int:
    """totalTokens, everywhere: all four kinds (Aether's `usage.total_tokens` leaves cache out)."""
    return input_tokens + output_tokens + cache_creation_tokens + cache_read_tokens


@dataclass(slots=True, kw_only=True)
class Tokens:
    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_tokens: int = 0
    cache_read_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return total_tokens(self.input_tokens, self.output_tokens, self.cache_creation_tokens, self.cache_read_tokens)


@dataclass(slots=True, kw_only=True)
class Sums(Tokens):
    """What adds up across days: a day's or a period's counts, tokens and money."""

    requests: int = 0
    error_requests: int = 0
    cost: float = 0.0
    actual_cost: float = 0.0
    cache_creation_cost: float = 0.0
    cache_read_cost: float = 0.0
    fallback_count: int = 0


# The fields `totals_of` adds day by day.
_ADDITIVE = tuple(f for f in Sums.__dataclass_fields__)


@dataclass(slots=True)
class DayFigures(Sums):
    day: date
    input_cost: float = 0.0
    output_cost: float = 0.0
    # Mean response time (ms) over the day's requests that recorded one; 0 when none did.
    avg_response_ms: float = 0.0
    unique_models: int = 0
    unique_providers: int = 0
    # Response times of status-200 requests (the system-health figure); raw days only.
    ok_response_ms_sum: float = 0.0
    ok_response_count: int = 0
    # The exact sum and count behind `avg_response_ms` where a day is read in parts (its
    # rolled-up hours and its raw rows); zero for pre-aggregated days.
    response_ms_sum: float = 0.0
    response_count: int = 0


@dataclass(slots=True)
class Totals(Sums):
    avg_response_time: float = 0.0  # seconds
    ok_avg_response_time: float = 0.0  # seconds, status-200 requests only

    @property
    def success_requests(self) -> int:
        return self.requests - self.error_requests

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


@dataclass(frozen=True, slots=True)
class HealthFigures:
    """The admin's health block: today's status-200 response time and this month's errors."""

    avg_response_time: float  # seconds
    error_rate: float
    error_requests: int
    fallback_count: int
    total_requests: int


def totals_of(days: Iterable[DayFigures]) -> Totals:
    """Sum days into a period. Response time is the days' means weighted by their requests."""
    out = Totals()
    weighted_ms = 0.0
    ok_sum = 0.0
    ok_count = 0
    for d in days:
        for name in _ADDITIVE:
            setattr(out, name, getattr(out, name) + getattr(d, name))
        weighted_ms += d.avg_response_ms * d.requests
        ok_sum += d.ok_response_ms_sum
        ok_count += d.ok_response_count
    out.avg_response_time = weighted_ms / out.requests / 1000 if out.requests else 0.0
    out.ok_avg_response_time = ok_sum / ok_count / 1000 if ok_count else 0.0
    return out


@dataclass(slots=True)
class ModelDay(Tokens):
    """One model on one business day."""

    day: date
    model: str
    requests: int = 0
    cost: float = 0.0
    avg_response_ms: float = 0.0
    # The mean's exact parts where a day is read in parts (rolled-up hours and raw rows).
    response_ms_sum: float = 0.0
    response_count: int = 0


@dataclass(slots=True)
class ModelTotals:
    model: str
    requests: int = 0
    total_tokens: int = 0
    cost: float = 0.0
    avg_response_time: float = 0.0  # seconds, model-days' means weighted by their requests
    _weighted_ms: float = field(default=0.0, repr=False)

    @property
    def cost_per_request(self) -> float:
        return self.cost / self.requests if self.requests else 0.0

    @property
    def tokens_per_request(self) -> float:
        return self.total_tokens / self.requests if self.requests else 0.0


def model_totals_of(rows: Iterable[ModelDay]) -> list[ModelTotals]:
    """Per-model totals over a period, most cost first, ties by name."""
    by_model: dict[str, ModelTotals] = {}
    for r in rows:
        m = by_model.setdefault(r.model, ModelTotals(r.model))
        m.requests += r.requests
        m.total_tokens += r.total_tokens
        m.cost += r.cost
        m._weighted_ms += r.avg_response_ms * r.requests
    for m in by_model.values():
        m.avg_response_time = m._weighted_ms / m.requests / 1000 if m.requests else 0.0
    return sorted(by_model.values(), key=lambda m: (-m.cost, m.model))


def by_cost(rows: Iterable[ModelDay]) -> list[ModelDay]:
    return sorted(rows, key=lambda r: (-r.cost, r.model))


__all__ = ["DayFigures", "Sums", "Tokens", "total_tokens", "HealthFigures", "ModelDay", "ModelTotals", "Totals", "by_cost", "model_totals_of", "totals_of"]
