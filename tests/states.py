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
from statsgraph.db.rollup_hourly import roll_up_hours
from statsgraph.db.rollup_tables import ROLLUP_TABLES

# "aether": an Aether database before `statsgraph db init`, aggregated by statsgraph without
# its own tables (as Aether's aggregator leaves it: no per-user detail or model rows, no
# rollups). "midday": days complete, hours rolled up only to the middle of today's business
# day, the rest of today raw. "no hours": days complete, the rollup tables empty.
STATES = ("never", "complete", "stopped", "gaps", "aether", "midday", "no hours")


async def set_state(url: str, *, tz: str, now: datetime, state: str) -> None:
    engine = make_engine(url)
    if engine.dialect.name == "sqlite":
        serialise_sqlite_writers(engine)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)  # tables an "aether" state dropped
            for table in STATS_TABLES:
                await conn.execute(delete(table))
            for table in reversed(ROLLUP_TABLES):
                await conn.execute(delete(table))
            if state == "aether":
                for table in (OwnUserDailyModel, OwnUserDaily, *reversed(ROLLUP_TABLES)):
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
        if state in ("midday", "no hours"):
            async with engine.begin() as conn:
                for table in reversed(ROLLUP_TABLES):
                    await conn.execute(delete(table))
        if state == "midday":
            noon = calendar.today_start() + timedelta(hours=12, minutes=7)
            async with engine.connect() as conn:
                assert await roll_up_hours(conn, now=noon) > 0
        if state == "gaps":
            today = calendar.today()
            holes = [calendar.day_start(today - timedelta(days=n)) for n in (1, 3, 12, 33)]
            async with engine.begin() as conn:
                for table in (StatsDaily, StatsDailyModel, StatsUserDaily, OwnUserDaily, OwnUserDailyModel):
                    await conn.execute(delete(table).where(table.date.in_(holes)))
    finally:
        await engine.dispose()
