"""The parts of an hour's rollup that are sets rather than sums: the distinct names a day counts
and the candidates that make fallbacks, written with the hour's cells by `rollup_hourly`.

Fallbacks span hours: a request is one when more than one of its executed candidates lie in the
window asked, and its candidates may straddle an hour. So an hour keeps, per request, its count
of executed candidates for every request that has more than one in the hour or any in another
hour (whatever their hour, rolled up or not). When a later hour is rolled up and finds a request
that also has candidates in an hour rolled up before, it writes that earlier hour's entry too, so
every request that can add up to two across rolled-up hours has an entry in each of them. A
request with candidates in hours not rolled up is read raw, whole (`queries.days`)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import case, delete, func, insert, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from .models import RequestCandidate, Usage
from .queries.filters import EXECUTED_CANDIDATE, executed_candidate
from .queries.usage_report import in_windows
from .rollup_tables import HourlyFallback, RollupHour, UsageHourlyNames

# Candidates still running: when one settles, its hour's fingerprint changes.
OPEN_CANDIDATES = ("pending", "streaming")


def candidate_fingerprint_stmt(hour_of: Any, windows: Sequence[tuple[datetime, datetime]]) -> Any:
    """Per hour: all candidates, executed ones, open ones and a checksum of the executed ones'
    positions; any change to what fallbacks read from the hour changes one of them."""
    rc = RequestCandidate
    executed = rc.status.in_(EXECUTED_CANDIDATE)
    hour = hour_of(rc.created_at).label("hour")
    return select(
        hour,
        func.count(),
        func.sum(case((executed, 1), else_=0)),
        func.sum(case((rc.status.in_(OPEN_CANDIDATES), 1), else_=0)),
        func.sum(case((executed, rc.candidate_index * 64 + rc.retry_index + 1), else_=0)),
    ).where(in_windows(rc.created_at, windows)).group_by(hour)


async def write_names(conn: AsyncConnection, names: Iterable[tuple[datetime, object, object, object]],
                      cell_id: Any) -> None:
    """The distinct (hour, user, model, provider name) of the hours being rolled up, as read
    with their cells."""
    rows = [
        {"id": cell_id(hour, ("names", user_id, model, provider_name)), "hour": hour,
         "user_id": user_id, "model": model, "provider_name": provider_name}
        for hour, user_id, model, provider_name in names
    ]
    if rows:
        await conn.execute(insert(UsageHourlyNames), rows)


async def write_fallbacks(conn: AsyncConnection, hour_of: Any, windows: Sequence[tuple[datetime, datetime]],
                          ready: Sequence[datetime], parse_hour: Any) -> None:
    """Entries for the requests with executed candidates in `windows` (the hours being rolled
    up, their old entries deleted) that can make a fallback: one per hour they have candidates
    in, for these hours and for any hour rolled up before."""
    rc, u = RequestCandidate, Usage
    # The hours' times, then the request ids, narrow candidates down (a rollup runs after
    # `db init`, which names the created_at index it needs).
    executed = executed_candidate()
    # No DISTINCT: the IN list is a set already.
    touched = select(rc.request_id).where(executed, in_windows(rc.created_at, windows)).scalar_subquery()
    # A request makes a fallback in some window only if it has two executed candidates or more
    # (in one hour or across hours): only those get entries. Counting every candidate, whatever
    # its status, narrows the touched requests down from the request id index alone, without
    # reading each candidate's row; the executed ones are counted below.
    several = (
        select(rc.request_id)
        .where(rc.request_id.in_(touched))
        .group_by(rc.request_id)
        .having(func.count() > 1)
        .subquery()
    )
    hour = hour_of(rc.created_at).label("hour")
    stmt = (
        select(rc.request_id, hour, func.count(), u.user_id)
        .join(several, several.c.request_id == rc.request_id)
        .outerjoin(u, u.request_id == rc.request_id)
        .where(executed)
        .group_by(rc.request_id, hour, u.user_id)
    )
    per_hour = [(parse_hour(h), request_id, int(n), user_id) for request_id, h, n, user_id in await conn.execute(stmt)]
    executed_in_all: dict[str, int] = defaultdict(int)
    for _h, request_id, n, _user in per_hour:
        executed_in_all[request_id] += n
    found = [entry for entry in per_hour if executed_in_all[entry[1]] > 1]
    if not found:
        return
    now_rolled = set(ready)
    elsewhere = sorted({h for h, *_ in found if h not in now_rolled})
    rolled_before = set()
    if elsewhere:
        rolled_before = set(await conn.scalars(select(RollupHour.hour).where(RollupHour.hour.in_(elsewhere))))
        rolled_before = {h if h.tzinfo else h.replace(tzinfo=ready[0].tzinfo) for h in rolled_before}
    rows = [
        {"hour": h, "request_id": request_id, "executed": n, "user_id": user_id}
        for h, request_id, n, user_id in found
        if h in now_rolled or h in rolled_before
    ]
    earlier = [(r["hour"], r["request_id"]) for r in rows if r["hour"] not in now_rolled]
    for i in range(0, len(earlier), 500):
        await conn.execute(delete(HourlyFallback).where(
            tuple_(HourlyFallback.hour, HourlyFallback.request_id).in_(earlier[i : i + 500])
        ))
    if rows:
        await conn.execute(insert(HourlyFallback), rows)


__all__ = ["candidate_fingerprint_stmt", "write_fallbacks", "write_names"]
