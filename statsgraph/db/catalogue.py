"""The figure catalogue: each pre-aggregated figure declared once.

A `Figure` says what it is (its Python type), how it is computed from raw `usage` rows (the
value picked per row and how those values aggregate), and which column holds it in each
pre-aggregate table, Aether's and statsgraph's own. The read queries (pre-aggregated days
plus raw rows) and the aggregator's row writers are both driven from here, as SQLAlchemy's own
`Column` objects drive both `select` and `insert`: adding a figure is one entry below."""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, case, distinct, func, literal

from .models import Base, OwnUserDaily, OwnUserDailyModel, StatsDaily, StatsDailyModel, StatsUserDaily, Usage
from .queries.filters import count_if, is_error
from .rollup_tables import UsageHourly, UsageHourlyNames


class Agg(enum.Enum):
    COUNT = "count"  # rows
    SUM = "sum"
    MEAN = "mean"  # over rows with a value; 0 when none has one
    DISTINCT = "distinct"  # distinct non-null values
    FALLBACKS = "fallbacks"  # from request_candidates, not from usage rows


@dataclass(frozen=True, slots=True)
class Figure:
    name: str
    kind: type[int] | type[float]
    agg: Agg
    # The value picked from each usage row; None for COUNT and FALLBACKS.
    source: Callable[[], Any] | None = None
    # Pre-aggregate table name → the column holding this figure there.
    columns: Mapping[str, str] = field(default_factory=dict)

    def zero(self) -> ColumnElement[Any]:
        return literal(0 if self.kind is int else 0.0).label(self.name)

    def raw(self, c: Any) -> ColumnElement[Any]:
        """The aggregate over a subquery of `picked` columns, labelled with the figure's name."""
        if self.agg is Agg.COUNT:
            return func.count().label(self.name)
        if self.agg is Agg.FALLBACKS:
            return self.zero()
        col = getattr(c, self.name)
        if self.agg is Agg.SUM:
            return func.sum(col).label(self.name)
        if self.agg is Agg.MEAN:
            return func.coalesce(func.avg(col), literal(0.0)).label(self.name)
        return func.count(distinct(col)).label(self.name)


def _in(*tables: type[Base], column: str) -> dict[str, str]:
    return {t.__tablename__: column for t in tables}


_DAY_TABLES = (StatsDaily, OwnUserDaily)
_ALL_DAY_TABLES = (StatsDaily, StatsUserDaily, OwnUserDaily)
_MODEL_TABLES = (StatsDailyModel, OwnUserDailyModel)
_ok_time = Usage.response_time_ms.is_not(None) & (Usage.status_code == 200)


def _sum(name: str, source: Callable[[], Any], kind: type[int] | type[float], column: str | None,
         tables: tuple[type[Base], ...]) -> Figure:
    return Figure(name, kind, Agg.SUM, source, _in(*tables, column=column) if column else {})


# The figures of one business day (`core.figures.DayFigures` has one attribute per entry).
DAY: tuple[Figure, ...] = (
    Figure("requests", int, Agg.COUNT, None, _in(*_ALL_DAY_TABLES, column="total_requests")),
    _sum("error_requests", lambda: count_if(is_error()), int, "error_requests", _ALL_DAY_TABLES),
    _sum("input_tokens", lambda: Usage.input_tokens, int, "input_tokens", _ALL_DAY_TABLES),
    _sum("output_tokens", lambda: Usage.output_tokens, int, "output_tokens", _ALL_DAY_TABLES),
    _sum("cache_creation_tokens", lambda: Usage.cache_creation_input_tokens, int, "cache_creation_tokens",
         _ALL_DAY_TABLES),
    _sum("cache_read_tokens", lambda: Usage.cache_read_input_tokens, int, "cache_read_tokens", _ALL_DAY_TABLES),
    _sum("cost", lambda: Usage.total_cost_usd, float, "total_cost", _ALL_DAY_TABLES),
    _sum("actual_cost", lambda: Usage.actual_total_cost_usd, float, "actual_total_cost", _DAY_TABLES),
    _sum("input_cost", lambda: Usage.input_cost_usd, float, "input_cost", (StatsDaily,)),
    _sum("output_cost", lambda: Usage.output_cost_usd, float, "output_cost", (StatsDaily,)),
    _sum("cache_creation_cost", lambda: Usage.cache_creation_cost_usd, float, "cache_creation_cost", _DAY_TABLES),
    _sum("cache_read_cost", lambda: Usage.cache_read_cost_usd, float, "cache_read_cost", _DAY_TABLES),
    Figure("avg_response_ms", float, Agg.MEAN, lambda: Usage.response_time_ms,
           _in(*_DAY_TABLES, column="avg_response_time_ms")),
    Figure("unique_models", int, Agg.DISTINCT, lambda: Usage.model, _in(*_DAY_TABLES, column="unique_models")),
    Figure("unique_providers", int, Agg.DISTINCT, lambda: Usage.provider_name,
           _in(*_DAY_TABLES, column="unique_providers")),
    Figure("fallback_count", int, Agg.FALLBACKS, None, _in(*_DAY_TABLES, column="fallback_count")),
    # Response times of status-200 requests (the system-health figure of today): raw rows only.
    _sum("ok_response_ms_sum", lambda: func.coalesce(Usage.response_time_ms, 0) * count_if(_ok_time), float,
         None, ()),
    _sum("ok_response_count", lambda: count_if(_ok_time), int, None, ()),
    # The mean's parts, for a day read partly from hourly rollups: raw rows only.
    _sum("response_ms_sum", lambda: func.coalesce(Usage.response_time_ms, 0), float, None, ()),
    _sum("response_count", lambda: count_if(Usage.response_time_ms.is_not(None)), int, None, ()),
)

_H = UsageHourly
_ok_cell = _H.status_code == 200
# DAY figures as the hourly rollup holds them (a cell's own figures, summed): what a day's
# rolled-up hours contribute. The distinct counts are sets, not sums (HOURLY_SETS), fallbacks
# come from candidates (`statsgraph_hourly_fallbacks`), and the input and output cost are absent
# (no reader of an open day asks them).
HOURLY_DAY: Mapping[str, Callable[[], ColumnElement[Any]]] = {
    "requests": lambda: func.sum(_H.requests),
    "error_requests": lambda: func.sum(case((_H.is_error.is_(True), _H.requests), else_=0)),
    "input_tokens": lambda: func.sum(_H.input_tokens),
    "output_tokens": lambda: func.sum(_H.output_tokens),
    "cache_creation_tokens": lambda: func.sum(_H.cache_creation_tokens),
    "cache_read_tokens": lambda: func.sum(_H.cache_read_tokens),
    "cost": lambda: func.sum(_H.cost),
    "actual_cost": lambda: func.sum(_H.actual_cost),
    "cache_creation_cost": lambda: func.sum(_H.cache_creation_cost),
    "cache_read_cost": lambda: func.sum(_H.cache_read_cost),
    "ok_response_ms_sum": lambda: func.sum(case((_ok_cell, _H.response_sum_ms), else_=0)),
    "ok_response_count": lambda: func.sum(case((_ok_cell, _H.response_count), else_=0)),
    "response_ms_sum": lambda: func.sum(_H.response_sum_ms),
    "response_count": lambda: func.sum(_H.response_count),
}
# The distinct counts: the column of the hourly names holding the values a day counts once.
HOURLY_SETS: Mapping[str, Callable[[], Any]] = {
    "unique_models": lambda: UsageHourlyNames.model,
    "unique_providers": lambda: UsageHourlyNames.provider_name,
}
# Figures a day read in parts cannot have from its hours' cells.
NOT_HOURLY = frozenset({"input_cost", "output_cost", "fallback_count"})

# The figures of one (business day, model) (`core.figures.ModelDay`).
MODEL_DAY: tuple[Figure, ...] = tuple(
    Figure(f.name, f.kind, f.agg, f.source,
           _in(*_MODEL_TABLES, column=f.columns["stats_daily"]) if "stats_daily" in f.columns else {})
    for f in DAY
    if f.name in {"requests", "input_tokens", "output_tokens", "cache_creation_tokens", "cache_read_tokens",
                  "cost", "avg_response_ms", "response_ms_sum", "response_count"}
)

# Columns some tables hold that are derived from figures rather than aggregated.
_DERIVED: Mapping[str, Callable[[Mapping[str, Any]], Any]] = {
    "success_requests": lambda v: v["requests"] - v["error_requests"],
}


def picked(figures: Iterable[Figure]) -> list[ColumnElement[Any]]:
    """The per-row values the raw aggregates of `figures` read, labelled by figure name."""
    return [f.source().label(f.name) for f in figures if f.source is not None]


def aggregated(c: Any, figures: Iterable[Figure], *, skip: frozenset[str] = frozenset()) -> list[ColumnElement[Any]]:
    """Each figure's aggregate over a subquery of `picked` columns (zero for those in `skip`)."""
    return [f.zero() if f.name in skip else f.raw(c) for f in figures]


def stored(table: type[Base], figures: Iterable[Figure]) -> list[ColumnElement[Any]]:
    """Each figure as the table holds it, zero where the table lacks it."""
    name = table.__tablename__
    out = []
    for f in figures:
        column = f.columns.get(name)
        if column is None:
            out.append(f.zero())
        elif f.agg is Agg.MEAN:
            out.append(func.coalesce(getattr(table, column), literal(0.0)).label(f.name))
        else:
            out.append(getattr(table, column).label(f.name))
    return out


def row_values(table: type[Base], figures: Iterable[Figure], values: Any) -> dict[str, Any]:
    """The table's figure columns for one row, from an object with one attribute per figure."""
    name = table.__tablename__
    by_figure = {f.name: getattr(values, f.name) for f in figures}
    out = {f.columns[name]: by_figure[f.name] for f in figures if name in f.columns}
    columns = set(table.__table__.columns.keys())
    out.update({col: derive(by_figure) for col, derive in _DERIVED.items() if col in columns})
    return out


def decode(figures: Iterable[Figure], row: Any, into: Any) -> None:
    """Add a result row's figures (labelled by name) into `into`: parts of one day add up."""
    for f in figures:
        value = getattr(row, f.name)
        if value:
            setattr(into, f.name, getattr(into, f.name) + f.kind(value))


__all__ = ["DAY", "HOURLY_DAY", "HOURLY_SETS", "MODEL_DAY", "NOT_HOURLY", "Agg", "Figure", "aggregated", "decode", "picked", "row_values", "stored"]
