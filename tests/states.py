"""Put the pre-aggregated tables in each state the figures must survive."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete

from statsgraph.core.calendar import BusinessCalendar
from statsgraph.db.aggregator import aggregate, serialise_sqlite_writers
from statsgraph.db.engine import make_engine
from statsgraph.db.models import (
    STATS_TABLES,
    Base,
    OwnUserDaily,
    OwnUserDailyModel,
    StatsDaily,
    StatsDailyModel,
    StatsUserDaily,
)

# "aether": an Aether database before `statsgraph db init`, aggregated by statsgraph without
# its own tables (as Aether's aggregator leaves it: no per-user detail or model rows).
STATES = ("never", "complete", "stopped", "gaps", "aether")


async def set_state(url: str, *, tz: str, now: datetime, state: str) -> None:
    engine = make_engine(url)
    if engine.dialect.name == "sqlite":
        serialise_sqlite_writers(engine)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)  # tables an "aether" state dropped
            for table in STATS_TABLES:
                await conn.execute(delete(table))
            if state == "aether":
                for table in (OwnUserDailyModel, OwnUserDaily):
                    await conn.run_sync(table.__table__.drop)
        calendar = BusinessCalendar(tz, clock=lambda: now)
        if state == "never":
            return
        if state == "stopped":
            # The aggregator last ran 5 days ago: summary cutoff old, the last days raw.
            then = now - timedelta(days=5)
            await aggregate(engine, calendar=BusinessCalendar(tz, clock=lambda: then))
            return
        await aggregate(engine, calendar=calendar)
        if state == "gaps":
            today = calendar.today()
            holes = [calendar.day_start(today - timedelta(days=n)) for n in (1, 3, 12, 33)]
            async with engine.begin() as conn:
                for table in (StatsDaily, StatsDailyModel, StatsUserDaily, OwnUserDaily, OwnUserDailyModel):
                    await conn.execute(delete(table).where(table.date.in_(holes)))
    finally:
        await engine.dispose()
