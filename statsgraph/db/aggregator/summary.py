"""Aether's `stats_summary`: written for Aether's pages, never read by statsgraph (it cannot say
which days it holds, so a stale summary would lose days)."""

from __future__ import annotations

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from ...core.calendar import BusinessCalendar
from ..models import ApiKey, StatsDaily, StatsSummary, User
from ..queries.filters import count_if
from .rows import stable_id


async def write_summary(session: AsyncSession, calendar: BusinessCalendar) -> None:
    """Aether's summary: the stats_daily rows before today, and user and key counts now."""
    cutoff = calendar.today_start()
    d = StatsDaily
    sums = (
        await session.execute(
            select(
                func.sum(d.total_requests), func.sum(d.success_requests), func.sum(d.error_requests),
                func.sum(d.input_tokens), func.sum(d.output_tokens), func.sum(d.cache_creation_tokens),
                func.sum(d.cache_read_tokens), func.sum(d.total_cost), func.sum(d.actual_total_cost),
            ).where(d.date < cutoff)
        )
    ).one()
    users = (
        await session.execute(select(func.count(User.id), func.sum(count_if(User.is_active.is_(True)))))
    ).one()
    keys = (
        await session.execute(select(func.count(ApiKey.id), func.sum(count_if(ApiKey.is_active.is_(True)))))
    ).one()
    now = calendar.now()
    values = {
        "cutoff_date": cutoff,
        "all_time_requests": int(sums[0] or 0),
        "all_time_success_requests": int(sums[1] or 0),
        "all_time_error_requests": int(sums[2] or 0),
        "all_time_input_tokens": int(sums[3] or 0),
        "all_time_output_tokens": int(sums[4] or 0),
        "all_time_cache_creation_tokens": int(sums[5] or 0),
        "all_time_cache_read_tokens": int(sums[6] or 0),
        "all_time_cost": float(sums[7] or 0),
        "all_time_actual_cost": float(sums[8] or 0),
        "total_users": int(users[0] or 0),
        "active_users": int(users[1] or 0),
        "total_api_keys": int(keys[0] or 0),
        "active_api_keys": int(keys[1] or 0),
        "updated_at": now,
    }
    existing = (await session.execute(select(StatsSummary.id).limit(1))).scalar()
    if existing is None:
        await session.execute(insert(StatsSummary).values(id=stable_id("summary"), created_at=now, **values))
    else:
        # The Table itself (`__table__` is typed as any FromClause): a Core UPDATE of the one row.
        summary = StatsSummary.metadata.tables[StatsSummary.__tablename__]
        await session.execute(summary.update().values(**values))


__all__ = ["write_summary"]
