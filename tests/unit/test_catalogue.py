"""The figure catalogue covers every figure and every column of the tables it writes."""

from __future__ import annotations

import dataclasses
from datetime import date

from statsgraph.core.figures import DayFigures, ModelDay
from statsgraph.db.catalogue import DAY, MODEL_DAY, row_values
from statsgraph.db.models import OwnUserDaily, OwnUserDailyModel, StatsDaily, StatsDailyModel, StatsUserDaily

# Columns a writer sets itself: keys and bookkeeping, not figures.
KEYS = {"id", "date", "user_id", "model", "created_at", "updated_at"}


def test_every_day_figure_is_declared_once() -> None:
    names = [f.name for f in DAY]
    assert len(names) == len(set(names))
    assert set(names) == {f.name for f in dataclasses.fields(DayFigures)} - {"day"}
    assert {f.name for f in MODEL_DAY} == {f.name for f in dataclasses.fields(ModelDay)} - {"day", "model"}


def test_writers_fill_every_figure_column_of_every_table() -> None:
    figs = DayFigures(date(2026, 1, 1), requests=5, error_requests=2, input_cost=0.25, output_cost=0.5)
    for table in (StatsDaily, StatsUserDaily, OwnUserDaily):
        row = row_values(table, DAY, figs)
        assert set(row) == set(table.__table__.columns.keys()) - KEYS, table.__tablename__
    daily = row_values(StatsDaily, DAY, figs)
    assert (daily["input_cost"], daily["output_cost"], daily["success_requests"]) == (0.25, 0.5, 3)
    model = ModelDay(date(2026, 1, 1), "m", requests=2, cost=1.0)
    for table in (StatsDailyModel, OwnUserDailyModel):
        assert set(row_values(table, MODEL_DAY, model)) == set(table.__table__.columns.keys()) - KEYS
