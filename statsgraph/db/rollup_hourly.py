"""The hourly rollup writer: every closed UTC hour of `usage` into statsgraph's own tables.

An hour is rolled up once it closed at least `MARGIN` ago and holds no `pending` or `streaming`
row; until then it is read raw. Rows of an hour can still change after it was rolled up (a late
update or insert, a candidate that settles): each run recomputes a fingerprint (count and sums
of its rows and of its candidates) of the hours rolled up in the last `RECHECK` and re-rolls
those that changed (an hour that gained a pending row loses its rollup and is read raw again).
A candidate left `pending` does not hold its hour back: gateways leave abandoned attempts so. Changes older than `RECHECK` are not looked for.

Work is done in chunks of at most `CHUNK_HOURS` hours, one transaction each, with grouped
statements over just those hours' rows (the `created_at` index), so a run costs in proportion
to the rows it rolls up; a chunk replaces its hours' rows (deterministic ids), so running twice
writes the same tables. The first run rolls up the whole history (the backfill)."""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import and_, case, delete, func, insert, inspect, literal_column, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncConnection

from ..core.latency import LatencyKind, bucket_of
from .models import Provider, Usage
from .queries.filters import is_error
from .rollup_daily import daily_tables_present, drop_days_touching
from .rollup_sets import candidate_fingerprint_stmt, write_fallbacks, write_names
from .rollup_tables import (
    HOURLY_TABLES,
    HourlyFallback,
    RollupHour,
    UsageHourly,
    UsageHourlyLatency,
    UsageHourlyNames,
)

log = logging.getLogger("statsgraph.aggregator")

UTC = timezone.utc
MARGIN = timedelta(minutes=5)
RECHECK = timedelta(hours=24)
CHUNK_HOURS = 24
OPEN_STATUSES = ("pending", "streaming")
HOUR = timedelta(hours=1)
_NAMESPACE = uuid.UUID("0b6f8d9e-3c2a-4e71-9d5b-1a2b3c4d5e6f")

_Owner = Provider.__table__.alias("owner_by_name")
# The dimensions of a cell, in the order of UsageHourly's key columns.
CELL_COLUMNS = ("user_id", "api_key_id", "provider_key", "model", "api_format", "is_stream", "status_code", "is_error")


def floor_hour(instant: datetime) -> datetime:
    return instant.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def hour_of(column: Any, dialect: str) -> Any:
    """The UTC hour of a timestamp, as text 'YYYY-MM-DD HH' (parsed by `parse_hour`)."""
    if dialect == "postgresql":
        return func.to_char(func.timezone(literal_column("'UTC'"), column), literal_column("'YYYY-MM-DD HH24'"))
    return func.substr(column, 1, 13)


def parse_hour(text: object) -> datetime:
    return datetime.strptime(str(text), "%Y-%m-%d %H").replace(tzinfo=UTC)


def _windows(hours: Sequence[datetime]) -> list[tuple[datetime, datetime]]:
    out: list[tuple[datetime, datetime]] = []
    for h in sorted(hours):
        if out and out[-1][1] == h:
            out[-1] = (out[-1][0], h + HOUR)
        else:
            out.append((h, h + HOUR))
    return out


def _in_col(column: Any, hours: Sequence[datetime]) -> Any:
    return or_(*(and_(column >= a, column < b) for a, b in _windows(hours)))


def _in(hours: Sequence[datetime]) -> Any:
    return _in_col(Usage.created_at, hours)


def _cell_source(dialect: str, hours: Sequence[datetime]) -> Any:
    """One row per usage row of `hours`: its hour, its cell dimensions and its figures."""
    stmt = (
        select(
            hour_of(Usage.created_at, dialect).label("hour"),
            Usage.user_id, Usage.api_key_id,
            func.coalesce(Usage.provider_id, _Owner.c.id).label("provider_key"),
            Usage.model, Usage.api_format, Usage.is_stream, Usage.status_code,
            case((is_error(), 1), else_=0).label("is_error"),
            Usage.input_tokens, Usage.output_tokens, Usage.cache_creation_input_tokens,
            Usage.cache_read_input_tokens, Usage.total_cost_usd, Usage.actual_total_cost_usd,
            Usage.cache_creation_cost_usd, Usage.cache_read_cost_usd, Usage.response_time_ms,
            Usage.first_byte_time_ms, Usage.status,
        )
        .select_from(Usage)
        .outerjoin(_Owner, and_(Usage.provider_id.is_(None), _Owner.c.name == Usage.provider_name))
        .where(_in(hours))
    )
    return stmt.subquery("rows")


def cell_id(hour: datetime, key: Sequence[object]) -> str:
    return str(uuid.uuid5(_NAMESPACE, "|".join([hour.isoformat(), *(repr(v) for v in key)])))


async def _fingerprints(conn: AsyncConnection, hours: Sequence[datetime]) -> dict[datetime, tuple[int, str]]:
    """Per hour: its usage rows and a digest of their figures and of its candidates' (what
    fallbacks read), so a late change to either re-rolls the hour."""
    if not hours:
        return {}
    dialect = conn.dialect.name
    src = _cell_source(dialect, hours)
    stmt = select(
        src.c.hour, func.count(), func.sum(src.c.output_tokens), func.sum(src.c.input_tokens),
        func.sum(func.coalesce(src.c.response_time_ms, 0)), func.sum(func.coalesce(src.c.first_byte_time_ms, 0)),
        func.sum(src.c.is_error), func.sum(case((src.c.status.in_(OPEN_STATUSES), 1), else_=0)),
        func.sum(src.c.total_cost_usd),
    ).group_by(src.c.hour)
    candidates = {
        parse_hour(row[0]): ":".join(str(int(v or 0)) for v in row[1:])
        for row in await conn.execute(candidate_fingerprint_stmt(lambda c: hour_of(c, dialect), _windows(hours)))
    }
    figures = {}
    for row in await conn.execute(stmt):
        figures[parse_hour(row[0])] = (
            int(row[1]), ":".join(str(int(v or 0)) for v in row[1:8]) + f":{float(row[8] or 0):.9g}"
        )
    # An hour of candidates alone (their requests' rows in another hour) has a fingerprint too.
    return {
        hour: (figures.get(hour, (0, ""))[0],
               hashlib.sha1(f"{figures.get(hour, (0, ''))[1]}|{candidates.get(hour, '')}".encode()).hexdigest())
        for hour in figures.keys() | candidates.keys()
    }


async def rollup_tables_present(conn: AsyncConnection) -> bool:
    def check(sync_conn) -> bool:  # noqa: ANN001
        inspector = inspect(sync_conn)
        return all(inspector.has_table(t.__tablename__) for t in HOURLY_TABLES)

    return await conn.run_sync(check)


async def _candidates(conn: AsyncConnection, now: datetime) -> tuple[list[datetime], datetime]:
    limit = floor_hour(now - MARGIN)  # hours before this one closed at least MARGIN ago
    first_row = (await conn.execute(select(func.min(Usage.created_at)))).scalar()
    if first_row is None:
        return [], limit
    if first_row.tzinfo is None:
        first_row = first_row.replace(tzinfo=UTC)
    rolled = {
        (h if h.tzinfo else h.replace(tzinfo=UTC)): fp
        for h, fp in await conn.execute(select(RollupHour.hour, RollupHour.fingerprint))
    }
    out = []
    h = floor_hour(first_row)
    while h < limit:
        if h not in rolled:
            out.append(h)
        h += HOUR
    # Rolled-up hours of the last RECHECK whose rows changed since.
    recent = [h for h in rolled if h >= limit - RECHECK]
    now_fp = await _fingerprints(conn, recent)
    for h in recent:
        if now_fp.get(h, (0, "0"))[1] != rolled[h]:
            out.append(h)
    return sorted(set(out)), limit


async def _roll_chunk(conn: AsyncConnection, hours: list[datetime], now: datetime, *, days: bool) -> int:
    dialect = conn.dialect.name
    fps = await _fingerprints(conn, hours)
    src = _cell_source(dialect, hours)
    open_hours = {
        parse_hour(h) for (h,) in await conn.execute(
            select(src.c.hour).where(src.c.status.in_(OPEN_STATUSES)).group_by(src.c.hour)
        )
    }
    ready = [h for h in hours if h not in open_hours]
    # Replace every hour of the chunk: an hour that is open again loses its rollup, and the day
    # holding a replaced hour is built again from the new hours.
    for stmt in drop_days_touching(_windows(hours)) if days else ():
        await conn.execute(stmt)
    for table in (UsageHourlyLatency, UsageHourly, UsageHourlyNames, HourlyFallback, RollupHour):
        await conn.execute(delete(table).where(table.hour.in_(hours)))
    if not ready:
        return 0
    src = _cell_source(dialect, ready)
    keys = [src.c[name] for name in CELL_COLUMNS]
    sums = select(
        src.c.hour, *keys, func.count(),
        func.sum(src.c.input_tokens), func.sum(src.c.output_tokens), func.sum(src.c.cache_creation_input_tokens),
        func.sum(src.c.cache_read_input_tokens), func.sum(src.c.total_cost_usd), func.sum(src.c.actual_total_cost_usd),
        func.sum(src.c.cache_creation_cost_usd), func.sum(src.c.cache_read_cost_usd),
        func.count(src.c.response_time_ms), func.sum(src.c.response_time_ms), func.max(src.c.response_time_ms),
        func.count(src.c.first_byte_time_ms), func.sum(src.c.first_byte_time_ms), func.max(src.c.first_byte_time_ms),
    ).group_by(src.c.hour, *keys)
    cells = []
    for row in await conn.execute(sums):
        hour = parse_hour(row[0])
        key = _normal_key(row[1:9])
        v = row[9:]
        cells.append({
            "id": cell_id(hour, key), "hour": hour, **dict(zip(CELL_COLUMNS, key)),
            "requests": int(v[0]), "input_tokens": int(v[1] or 0), "output_tokens": int(v[2] or 0),
            "cache_creation_tokens": int(v[3] or 0), "cache_read_tokens": int(v[4] or 0),
            "cost": float(v[5] or 0), "actual_cost": float(v[6] or 0), "cache_creation_cost": float(v[7] or 0),
            "cache_read_cost": float(v[8] or 0), "response_count": int(v[9] or 0),
            "response_sum_ms": int(v[10] or 0), "response_max_ms": None if v[11] is None else int(v[11]),
            "first_byte_count": int(v[12] or 0), "first_byte_sum_ms": int(v[13] or 0),
            "first_byte_max_ms": None if v[14] is None else int(v[14]),
        })
    parts = [
        select(literal_column(str(int(kind))).label("kind"), src.c.hour, *keys, col.label("v"), func.count().label("n"))
        .where(col.is_not(None))
        .group_by(src.c.hour, *keys, col)
        for kind, col in ((LatencyKind.RESPONSE, src.c.response_time_ms), (LatencyKind.FIRST_BYTE, src.c.first_byte_time_ms))
    ]
    hist: dict[tuple[str, int, int], int] = defaultdict(int)
    hour_of_cell: dict[str, datetime] = {}
    for row in await conn.execute(union_all(*parts)):
        hour = parse_hour(row[1])
        cid = cell_id(hour, _normal_key(row[2:10]))
        hour_of_cell[cid] = hour
        hist[(cid, int(row[0]), bucket_of(int(row[10])))] += int(row[11])
    if cells:
        await conn.execute(insert(UsageHourly), cells)
    if hist:
        await conn.execute(insert(UsageHourlyLatency), [
            {"cell_id": cid, "kind": kind, "bucket": b, "hour": hour_of_cell[cid], "count": n}
            for (cid, kind, b), n in hist.items()
        ])
    windows = _windows(ready)
    await write_names(conn, lambda c: hour_of(c, dialect), windows, cell_id, parse_hour)
    await write_fallbacks(conn, lambda c: hour_of(c, dialect), windows, ready, parse_hour)
    await conn.execute(insert(RollupHour), [
        {"hour": h, "rows": fps.get(h, (0, "0"))[0], "fingerprint": fps.get(h, (0, "0"))[1], "rolled_at": now}
        for h in ready
    ])
    return len(ready)


def _normal_key(values: Sequence[object]) -> tuple[object, ...]:
    user_id, api_key_id, provider_key, model, api_format, is_stream, status_code, err = values
    return (
        user_id, api_key_id, provider_key, model, api_format, bool(is_stream),
        None if status_code is None else int(status_code),  # type: ignore[call-overload]
        bool(err),
    )


async def roll_up_hours(conn: AsyncConnection, *, now: datetime) -> int:
    """Roll up every closed hour not yet rolled up (and re-roll recently changed ones); the
    number of hours written. Commits after each chunk."""
    if not await rollup_tables_present(conn):
        log.warning("statsgraph's hourly rollup tables are missing: run `statsgraph db init`")
        await conn.commit()
        return 0
    hours, _ = await _candidates(conn, now)
    days = await daily_tables_present(conn)
    await conn.commit()
    written = 0
    for i in range(0, len(hours), CHUNK_HOURS):
        written += await _roll_chunk(conn, hours[i : i + CHUNK_HOURS], now, days=days)
        await conn.commit()
    return written


__all__ = ["CHUNK_HOURS", "MARGIN", "RECHECK", "floor_hour", "roll_up_hours"]
