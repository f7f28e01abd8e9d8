"""One chunk of business days: read the days' figures through the same queries the API reads
raw rows with, and replace the chunk's pre-aggregate rows in grouped statements (never one
statement per model, user or day). Column values come from the figure catalogue."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from ...core.calendar import BusinessCalendar
from ...core.figures import DayFigures
from ...core.scope import GLOBAL
from ..catalogue import DAY, MODEL_DAY, row_values
from ..models import Base, OwnUserDaily, OwnUserDailyModel, StatsDaily, StatsDailyModel, StatsUserDaily, User
from ..queries.days import day_figures, raw_user_day_figures
from ..queries.model_days import raw_model_days

_ID_NAMESPACE = uuid.UUID("6f1d3c2e-5a4b-4c1d-9e8f-7a6b5c4d3e2f")


def stable_id(*parts: object) -> str:
    # Deterministic ids: re-aggregating a day writes byte-identical rows.
    return str(uuid.uuid5(_ID_NAMESPACE, "|".join(str(p) for p in parts)))


async def write_days(
    session: AsyncSession, calendar: BusinessCalendar, days: list[date], *, own_tables: bool
) -> None:
    """Replace every pre-aggregate row of `days` (sorted): Aether's tables, and statsgraph's
    own when `own_tables` (False on an Aether database where `statsgraph db init` has not run)."""
    window = calendar.days_window(days[0], days[-1])
    figures = await day_figures(
        session, scope=GLOBAL, window=window, calendar=calendar, covered=frozenset(), raw_days=days
    )
    models, user_models = await raw_model_days(session, days=days, calendar=calendar)
    per_user = await raw_user_day_figures(session, days=days, calendar=calendar)
    active_users = list(
        await session.scalars(select(User.id).where(User.is_active.is_(True), User.is_deleted.is_not(True)))
    )

    now = calendar.now()
    starts = [calendar.day_start(d) for d in days]
    tables: list[type[Base]] = [StatsDaily, StatsDailyModel, StatsUserDaily]
    if own_tables:
        tables += [OwnUserDaily, OwnUserDailyModel]
    for table in tables:
        await session.execute(delete(table).where(table.date.in_(starts)))  # type: ignore[attr-defined]

    stamps = {"created_at": now, "updated_at": now}
    await session.execute(
        insert(StatsDaily),
        [
            {"id": stable_id("daily", d), "date": calendar.day_start(d), **stamps,
             **row_values(StatsDaily, DAY, figures.get(d) or DayFigures(d))}
            for d in days
        ],
    )
    if models:
        await session.execute(
            insert(StatsDailyModel),
            [
                {"id": stable_id("model", m.day, m.model), "date": calendar.day_start(m.day), "model": m.model,
                 **stamps, **row_values(StatsDailyModel, MODEL_DAY, m)}
                for m in models
            ],
        )
    # Like Aether: a row for every user active now (zeros included) and for anyone with usage.
    user_days = [
        (user_id, day, per_user.get((day, user_id)) or DayFigures(day))
        for day in days
        for user_id in sorted(set(active_users) | {u for (d, u) in per_user if d == day})
    ]
    if user_days:
        await session.execute(
            insert(StatsUserDaily),
            [
                {"id": stable_id("user", user_id, day), "user_id": user_id, "date": calendar.day_start(day),
                 **stamps, **row_values(StatsUserDaily, DAY, figs)}
                for user_id, day, figs in user_days
            ],
        )
    if not own_tables:
        return
    if user_days:
        await session.execute(
            insert(OwnUserDaily),
            [
                {"id": stable_id("user-detail", user_id, day), "user_id": user_id,
                 "date": calendar.day_start(day), "created_at": now, **row_values(OwnUserDaily, DAY, figs)}
                for user_id, day, figs in user_days
            ],
        )
    if user_models:
        await session.execute(
            insert(OwnUserDailyModel),
            [
                {"id": stable_id("user-model", user_id, m.day, m.model), "user_id": user_id,
                 "date": calendar.day_start(m.day), "model": m.model, "created_at": now,
                 **row_values(OwnUserDailyModel, MODEL_DAY, m)}
                for user_id, m in user_models
            ],
        )


__all__ = ["stable_id", "write_days"]
