"""The seed's four REST dashboard endpoints as plain SQLAlchemy, for side-by-side benchmarks.

The statements follow Aether's `src/api/dashboard/routes.py` at the seed's commit: the same
filters, the same one-figure-per-statement shapes, the same N+1 (one user lookup per recent
request, one count per provider), run one after the other on one session, and no cache (their
`cache_result` decorator is what "cold" switches off). Only the statements are kept: the JSON
formatting around them is left out, since it is not what takes the time.

Two helpers of Aether's `StatsAggregatorService` are called there but are not in that file; they
are written here in the shape of Aether's aggregator of that era (an assumption, said so):
`get_today_realtime_stats` = one grouped aggregate over today's usage rows;
`get_combined_stats` = the `stats_summary` row plus that aggregate; `compute_daily_stats` (a
missing closed day of the daily chart, at most 7) = the day's aggregate, its distinct models,
its distinct providers and its fallbacks, four statements.

Timestamps are UTC; `today`, `yesterday` and the month start are business-day starts of `tz`,
as in the seed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from statsgraph.db.models import (
    ApiKey,
    Provider,
    RequestCandidate,
    StatsDaily,
    StatsDailyModel,
    StatsSummary,
    Usage,
    User,
)

UTC = timezone.utc
EXECUTED = ["success", "failed"]


@dataclass(frozen=True, slots=True)
class Moments:
    now: datetime
    today: datetime
    yesterday: datetime
    month_start: datetime
    today_local: datetime

    @classmethod
    def of(cls, now: datetime, tz: str) -> Moments:
        local = now.astimezone(ZoneInfo(tz))
        today_local = local.replace(hour=0, minute=0, second=0, microsecond=0)
        return cls(
            now=now.astimezone(UTC),
            today=today_local.astimezone(UTC),
            yesterday=(today_local - timedelta(days=1)).astimezone(UTC),
            month_start=today_local.replace(day=1).astimezone(UTC),
            today_local=today_local,
        )


async def _scalar(s: AsyncSession, stmt: Any) -> Any:
    return (await s.execute(stmt)).scalar()


async def _first(s: AsyncSession, stmt: Any) -> Any:
    return (await s.execute(stmt)).first()


# --- StatsAggregatorService (assumed shapes, see the module's docstring) -----------------------


async def today_realtime_stats(s: AsyncSession, m: Moments) -> Any:
    u = Usage
    return await _first(s, select(
        func.count(u.id), func.sum(u.total_cost_usd), func.sum(u.actual_total_cost_usd),
        func.sum(u.input_tokens), func.sum(u.output_tokens), func.sum(u.cache_creation_input_tokens),
        func.sum(u.cache_read_input_tokens),
        func.count(u.id).filter((u.status_code >= 400) | (u.error_message.is_not(None))),
    ).where(u.created_at >= m.today))


async def combined_stats(s: AsyncSession, m: Moments) -> Any:
    summary = (await s.execute(select(StatsSummary).limit(1))).scalars().first()
    return summary, await today_realtime_stats(s, m)


async def compute_daily_stats(s: AsyncSession, start: datetime, end: datetime) -> None:
    u, rc = Usage, RequestCandidate
    in_day = and_(u.created_at >= start, u.created_at < end)
    await _first(s, select(
        func.count(u.id), func.sum(u.input_tokens), func.sum(u.output_tokens),
        func.sum(u.cache_creation_input_tokens), func.sum(u.cache_read_input_tokens),
        func.sum(u.total_cost_usd), func.avg(u.response_time_ms),
    ).where(in_day))
    await _scalar(s, select(func.count(func.distinct(u.model))).where(in_day))
    await _scalar(s, select(func.count(func.distinct(u.provider_name))).where(in_day))
    executed = (
        select(rc.request_id)
        .where(rc.created_at >= start, rc.created_at < end, rc.status.in_(EXECUTED))
        .group_by(rc.request_id).having(func.count(rc.id) > 1).subquery()
    )
    await _scalar(s, select(func.count()).select_from(executed))


# --- /api/dashboard/stats ---------------------------------------------------------------------


async def admin_stats(s: AsyncSession, m: Moments) -> None:
    u = Usage
    summary, _ = await combined_stats(s, m)
    if not (summary and summary.total_users):
        await _scalar(s, select(func.count(User.id)))
        await _scalar(s, select(func.count(User.id)).where(User.is_active.is_(True)))
    if not (summary and summary.total_api_keys):
        await _scalar(s, select(func.count(ApiKey.id)))
        await _scalar(s, select(func.count(ApiKey.id)).where(ApiKey.is_active.is_(True)))
    await today_realtime_stats(s, m)
    yesterday = (await s.execute(select(StatsDaily).where(StatsDaily.date == m.yesterday))).scalars().first()
    if yesterday is None:
        window = and_(u.created_at >= m.yesterday, u.created_at < m.today)
        await _scalar(s, select(func.count(u.id)).where(window))
        await _scalar(s, select(func.sum(u.total_cost_usd)).where(window))
        await _first(s, select(
            func.sum(u.input_tokens), func.sum(u.output_tokens), func.sum(u.cache_creation_input_tokens),
            func.sum(u.cache_read_input_tokens),
        ).where(window))
    d = StatsDaily
    month = await _first(s, select(
        func.sum(d.total_requests), func.sum(d.error_requests), func.sum(d.total_cost),
        func.sum(d.actual_total_cost),
        func.sum(d.input_tokens + d.output_tokens + d.cache_creation_tokens + d.cache_read_tokens),
        func.sum(d.cache_creation_tokens), func.sum(d.cache_read_tokens), func.sum(d.cache_creation_cost),
        func.sum(d.cache_read_cost), func.sum(d.fallback_count),
    ).where(d.date >= m.month_start, d.date < m.today))
    if not (month and month[0]):
        since = u.created_at >= m.month_start
        await _scalar(s, select(func.count(u.id)).where(since))
        await _scalar(s, select(func.sum(u.total_cost_usd)).where(since))
        await _scalar(s, select(func.sum(u.actual_total_cost_usd)).where(since))
        await _scalar(s, select(func.count(u.id)).where(
            since, (u.status_code >= 400) | (u.error_message.is_not(None))
        ))
        await _scalar(s, select(func.sum(u.total_tokens)).where(since))
        await _first(s, select(
            func.sum(u.cache_creation_input_tokens), func.sum(u.cache_read_input_tokens),
            func.sum(u.cache_creation_cost_usd), func.sum(u.cache_read_cost_usd),
        ).where(since))
        rc = RequestCandidate
        executed = (
            select(rc.request_id, func.count(rc.id).label("executed_count"))
            .where(rc.created_at >= m.month_start, rc.status.in_(EXECUTED))
            .group_by(rc.request_id).subquery()
        )
        await _scalar(s, select(func.count()).select_from(executed).where(executed.c.executed_count > 1))
    await _scalar(s, select(func.avg(u.response_time_ms)).where(
        u.created_at >= m.today, u.status_code == 200, u.response_time_ms.is_not(None)
    ))


async def user_stats(s: AsyncSession, m: Moments, user_id: str) -> None:
    u = Usage
    mine = u.user_id == user_id
    await _scalar(s, select(func.count(ApiKey.id)).where(ApiKey.user_id == user_id))
    await _scalar(s, select(func.count(ApiKey.id)).where(ApiKey.user_id == user_id, ApiKey.is_active.is_(True)))
    await _first(s, select(
        func.sum(u.input_tokens), func.sum(u.output_tokens), func.sum(u.cache_creation_input_tokens),
        func.sum(u.cache_read_input_tokens),
    ).where(mine))
    await _scalar(s, select(func.count(u.id)).where(mine, u.created_at >= m.month_start))
    await _scalar(s, select(func.sum(u.total_cost_usd)).where(mine, u.created_at >= m.month_start))
    await _scalar(s, select(func.count(u.id)).where(mine, u.created_at >= m.today))
    await _scalar(s, select(func.sum(u.total_cost_usd)).where(mine, u.created_at >= m.today))
    await _scalar(s, select(func.sum(u.total_tokens)).where(mine, u.created_at >= m.today))
    await _scalar(s, select(func.count(u.id)).where(mine, u.created_at >= m.yesterday, u.created_at < m.today))
    await _first(s, select(
        func.sum(u.cache_creation_input_tokens), func.sum(u.cache_read_input_tokens), func.sum(u.input_tokens),
    ).where(mine, u.created_at >= m.month_start))
    await _first(s, select(
        func.sum(u.cache_creation_input_tokens), func.sum(u.cache_read_input_tokens),
    ).where(mine, u.created_at >= m.today))


# --- /api/dashboard/recent-requests, /provider-status -------------------------------------------


async def recent_requests(s: AsyncSession, limit: int, user_id: str | None) -> None:
    stmt = select(Usage)
    if user_id is not None:
        stmt = stmt.where(Usage.user_id == user_id)
    rows = (await s.execute(stmt.order_by(Usage.created_at.desc()).limit(limit))).scalars().all()
    for row in rows:  # the seed's N+1: one user lookup per request
        (await s.execute(select(User).where(User.id == row.user_id))).scalars().first()


async def provider_status(s: AsyncSession, m: Moments) -> None:
    providers = (await s.execute(select(Provider).where(Provider.is_active.is_(True)))).scalars().all()
    since = m.now - timedelta(days=1)
    for p in providers:  # one count per provider
        await _scalar(s, select(func.count(Usage.id)).where(Usage.provider_name == p.name, Usage.created_at >= since))


# --- /api/dashboard/daily-stats -----------------------------------------------------------------


async def daily_stats(s: AsyncSession, m: Moments, days: int, user_id: str | None, tz: str) -> None:
    u = Usage
    zone = ZoneInfo(tz)
    start_local = m.today_local - timedelta(days=days - 1)
    start = start_local.astimezone(UTC)
    end = m.today_local.replace(hour=23, minute=59, second=59, microsecond=999999).astimezone(UTC)
    if user_id is None:
        found = (await s.execute(
            select(StatsDaily).where(StatsDaily.date >= start, StatsDaily.date < m.today).order_by(StatsDaily.date)
        )).scalars().all()
        have = {row.date.astimezone(zone).date() for row in found}
        today_stats = await today_realtime_stats(s, m)
        if today_stats and today_stats[0]:
            await _scalar(s, select(func.avg(u.response_time_ms)).where(
                u.created_at >= m.today, u.response_time_ms.is_not(None)
            ))
            await _scalar(s, select(func.count(func.distinct(u.model))).where(u.created_at >= m.today))
            await _scalar(s, select(func.count(func.distinct(u.provider_name))).where(u.created_at >= m.today))
            rc = RequestCandidate
            executed = (
                select(rc.request_id)
                .where(rc.created_at >= m.today, rc.status.in_(EXECUTED))
                .group_by(rc.request_id).having(func.count(rc.id) > 1).subquery()
            )
            await _scalar(s, select(func.count()).select_from(executed))
        missing = []
        day = start_local.date()
        while day < m.today_local.date():
            if day not in have:
                missing.append(day)
            day += timedelta(days=1)
        for day in missing[-7:]:
            local = datetime(day.year, day.month, day.day, tzinfo=zone)
            await compute_daily_stats(s, local.astimezone(UTC), (local + timedelta(days=1)).astimezone(UTC))
        await s.execute(select(StatsDailyModel).where(StatsDailyModel.date >= start, StatsDailyModel.date < m.today))
        await s.execute(
            select(u.model, func.count(u.id), func.sum(u.total_tokens), func.sum(u.total_cost_usd),
                   func.avg(u.response_time_ms))
            .where(u.created_at >= m.today).group_by(u.model)
        )
        return
    mine = and_(u.user_id == user_id, u.created_at >= start, u.created_at <= end)
    day_of = func.date(u.created_at)
    await s.execute(
        select(day_of.label("date"), func.count(u.id), func.sum(u.total_tokens), func.sum(u.total_cost_usd),
               func.avg(u.response_time_ms))
        .where(mine).group_by(day_of).order_by(day_of)
    )
    await s.execute(
        select(u.model, func.count(u.id), func.sum(u.total_tokens), func.sum(u.total_cost_usd),
               func.avg(u.response_time_ms))
        .where(mine).group_by(u.model).order_by(func.sum(u.total_cost_usd).desc())
    )
    await s.execute(
        select(day_of.label("date"), u.model, func.count(u.id), func.sum(u.total_tokens), func.sum(u.total_cost_usd))
        .where(mine).group_by(day_of, u.model).order_by(day_of.desc(), func.sum(u.total_cost_usd).desc())
    )


# --- a page: what the dashboard's first screen requests ---------------------------------------


async def page(
    s: AsyncSession, *, now: datetime, tz: str, viewer_id: str, user_id: str | None, recent: int = 20, days: int = 7
) -> None:
    """stats + recent requests + provider status + daily stats, as an admin (user_id None)
    or as that user; the viewer's lookup for authentication included."""
    m = Moments.of(now, tz)
    await s.execute(select(User).where(User.id == viewer_id))  # authentication
    if user_id is None:
        await admin_stats(s, m)
    else:
        await user_stats(s, m, user_id)
    await recent_requests(s, recent, user_id)
    await provider_status(s, m)
    await daily_stats(s, m, days, user_id, tz)


__all__ = ["Moments", "page"]
