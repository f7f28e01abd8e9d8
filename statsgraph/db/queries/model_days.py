"""Per-(business day, model) figures of a window: pre-aggregated days plus raw rows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Row, Select, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from ...core.analytics import NO_FILTER
from ...core.calendar import BusinessCalendar, Window
from ...core.figures import ModelDay
from ...core.scope import GLOBAL, Scope, UserScope
from ..catalogue import HOURLY_DAY, MODEL_DAY, aggregated, decode, picked, stored
from ..models import OwnUserDailyModel, StatsDailyModel, Usage
from ..rollup_tables import UsageHourly
from ..sqlexpr import as_date, business_date
from .coverage import covered_in, in_ranges, inside, ranges_of_days, raw_ranges, without
from .filters import usage_in_scope
from .usage_rollups import HOURLY, cell_conditions


async def model_days(
    session: AsyncSession,
    *,
    scope: Scope,
    window: Window,
    calendar: BusinessCalendar,
    covered: frozenset[date],
    rolled: Sequence[Window] = (),
) -> list[ModelDay]:
    """One row per model and business day with requests, in the window.

    Rows without a model are left out, as Aether's aggregator leaves them out of
    `stats_daily_model`; the day totals still count them. `covered` are the scope's
    pre-aggregated days: `stats_daily_model` for the global scope, statsgraph's
    `statsgraph_user_daily_model` for a user (whose coverage is that of `statsgraph_user_daily`,
    written in the same transaction). `rolled` are rolled-up hours inside the window's raw days,
    read from the hourly rollup (see `day_figures`)."""
    dialect = session.get_bind().dialect.name
    covered_days = covered_in(window, covered, calendar)
    ranges = raw_ranges(window, covered_days, calendar)
    parts: list[Select] = []
    if covered_days:
        m: type[StatsDailyModel] | type[OwnUserDailyModel] = (
            OwnUserDailyModel if isinstance(scope, UserScope) else StatsDailyModel
        )
        stored_rows = select(
            business_date(m.date, dialect=dialect, calendar=calendar, window=window).label("day"),
            m.model.label("model"),
            *stored(m, MODEL_DAY),
        ).where(m.date.in_([calendar.day_start(d) for d in covered_days]))
        if isinstance(scope, UserScope):
            stored_rows = stored_rows.where(OwnUserDailyModel.user_id == scope.user_id)
        parts.append(stored_rows)
    rolled = inside(ranges, rolled)
    raw = without(ranges, rolled)
    if raw:
        parts.append(_raw(scope, raw, dialect=dialect, calendar=calendar, window=window, by_user=False))
    if rolled:
        parts.append(_hourly(scope, rolled, dialect=dialect, calendar=calendar, window=window))
    if not parts:
        return []
    result = await session.execute(union_all(*parts) if len(parts) > 1 else parts[0])
    if not rolled:
        return [_model_day(r) for r in result]
    # A day read in parts has a row per part and model: add them up; its means come from the
    # exact sums (an hourly part carries no mean of its own).
    merged: dict[tuple[date, str], ModelDay] = {}
    for r in result:
        part = _model_day(r)
        have = merged.get((part.day, part.model))
        if have is None:
            merged[(part.day, part.model)] = part
        else:
            for f in MODEL_DAY:
                setattr(have, f.name, getattr(have, f.name) + getattr(part, f.name))
    in_parts = {calendar.date_of(r.start) for r in rolled if r.start is not None}
    for md in merged.values():
        if md.day in in_parts:
            md.avg_response_ms = md.response_ms_sum / md.response_count if md.response_count else 0.0
    return list(merged.values())


def _hourly(scope: Scope, rolled: Sequence[Window], *, dialect: str, calendar: BusinessCalendar,
            window: Window) -> Select:
    h = UsageHourly
    where = [in_ranges(h.hour, list(rolled)), h.model.is_not(None), *cell_conditions(HOURLY, scope, NO_FILTER)]
    day = business_date(h.hour, dialect=dialect, calendar=calendar, window=window).label("day")
    cols = [HOURLY_DAY[f.name]().label(f.name) if f.name in HOURLY_DAY else f.zero() for f in MODEL_DAY]
    return select(day, h.model.label("model"), *cols).where(*where).group_by(day, h.model)


async def raw_model_days(
    session: AsyncSession, *, days: list[date], calendar: BusinessCalendar
) -> tuple[list[ModelDay], list[tuple[str, ModelDay]]]:
    """For the aggregator: the given days' model figures from raw rows, for everyone and per
    user (two grouped statements, whatever the number of days, users or models)."""
    dialect = session.get_bind().dialect.name
    window = calendar.days_window(days[0], days[-1])
    ranges = ranges_of_days(days, calendar)
    everyone = await session.execute(
        _raw(GLOBAL, ranges, dialect=dialect, calendar=calendar, window=window, by_user=False)
    )
    per_user = await session.execute(
        _raw(GLOBAL, ranges, dialect=dialect, calendar=calendar, window=window, by_user=True)
    )
    return [_model_day(r) for r in everyone], [(r.user_id, _model_day(r)) for r in per_user]


def _raw(
    scope: Scope, ranges: list[Window], *, dialect: str, calendar: BusinessCalendar, window: Window, by_user: bool
) -> Select:
    u = Usage
    rows = select(
        business_date(u.created_at, dialect=dialect, calendar=calendar, window=window).label("day"),
        u.user_id, u.model, *picked(MODEL_DAY),
    ).where(usage_in_scope(scope), in_ranges(u.created_at, ranges), u.model.is_not(None))
    if by_user:
        rows = rows.where(u.user_id.is_not(None))
    c = rows.subquery().c
    keys = [c.day, c.user_id, c.model] if by_user else [c.day, c.model]
    return select(*keys, *aggregated(c, MODEL_DAY)).group_by(*keys)


def _model_day(r: Row[Any]) -> ModelDay:
    out = ModelDay(day=as_date(r.day), model=r.model)
    decode(MODEL_DAY, r, out)
    return out


__all__ = ["model_days", "raw_model_days"]
