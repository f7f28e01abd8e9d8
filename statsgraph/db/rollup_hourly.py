"""The hourly rollup writer: every closed UTC hour of `usage` into statsgraph's own tables.

An hour is rolled up once it closed at least `MARGIN` ago and holds no `pending` or `streaming`
row; until then it is read raw. Rows of an hour can still change after it was rolled up (a late
insert or update, a candidate that settles), so each run checks the hours it rolled up before,
at a cost that does not grow with a day's traffic as reading every row again would:
- every hour of the last `CENSUS` is counted again (its usage rows and candidates, range counts
  through the `created_at` indexes): a row that arrives late or goes re-rolls the hour;
- the hours closed within `recheck` (`RECHECK` by default, `ROLLUP_RECHECK_HOURS`), and hours
  whose candidates were still open when rolled up, are compared figure by figure with their
  rows (a digest of the same grouped sums the cells are built from): a row changed in place
  re-rolls the hour, and one that went back to pending or streaming drops it (read raw again).
A candidate left `pending` does not hold its hour back: gateways leave abandoned attempts so.
Changes older than `CENSUS`, and in-place changes older than `recheck` that move no count, are
not looked for; `statsgraph aggregate --recheck-hours 24` compares the whole last day.

Work is done in chunks of at most `CHUNK_HOURS` hours, one transaction each, with grouped
statements over just those hours' rows (the `created_at` index), so a run costs in proportion
to the rows it rolls up; a chunk replaces its hours' rows (deterministic ids), so running twice
writes the same tables. The first run rolls up the whole history (the backfill)."""

from __future__ import annotations

import hashlib
import logging
import math
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import (
    and_,
    case,
    delete,
    func,
    insert,
    inspect,
    literal,
    literal_column,
    select,
    text,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from ..core.latency import LatencyKind
from .latency_sql import bucket_expr
from .models import Provider, RequestCandidate, Usage
from .queries.filters import is_error
from .queries.usage_report import in_windows
from .rollup_daily import daily_tables_present, drop_days_touching, weekly_tables_present
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
# Rolled-up hours are counted again for this long, and compared figure by figure for RECHECK.
CENSUS = timedelta(hours=24)
RECHECK = timedelta(hours=2)
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
            Usage.first_byte_time_ms, Usage.status, Usage.provider_name,
        )
        .select_from(Usage)
        .outerjoin(_Owner, and_(Usage.provider_id.is_(None), _Owner.c.name == Usage.provider_name))
        .where(in_windows(Usage.created_at, _windows(hours)))
    )
    return stmt.subquery("rows")


def cell_id(hour: datetime, key: Sequence[object]) -> str:
    return str(uuid.uuid5(_NAMESPACE, "|".join([hour.isoformat(), *(repr(v) for v in key)])))


def _cell_sums_stmt(dialect: str, hours: Sequence[datetime]) -> Any:
    """Per hour, cell and provider name: every additive figure, latency sums and maxima, and
    open rows. The provider name splits a cell only where rows of one provider carry different
    names; it is grouped by here so that the hour's distinct names come from the same read."""
    src = _cell_source(dialect, hours)
    keys = [src.c[name] for name in CELL_COLUMNS]
    return select(
        src.c.hour, *keys, src.c.provider_name, func.count(),
        func.sum(src.c.input_tokens), func.sum(src.c.output_tokens), func.sum(src.c.cache_creation_input_tokens),
        func.sum(src.c.cache_read_input_tokens), func.sum(src.c.total_cost_usd), func.sum(src.c.actual_total_cost_usd),
        func.sum(src.c.cache_creation_cost_usd), func.sum(src.c.cache_read_cost_usd),
        func.count(src.c.response_time_ms), func.sum(src.c.response_time_ms), func.max(src.c.response_time_ms),
        func.count(src.c.first_byte_time_ms), func.sum(src.c.first_byte_time_ms), func.max(src.c.first_byte_time_ms),
        func.sum(case((src.c.status.in_(OPEN_STATUSES), 1), else_=0)),
    ).group_by(src.c.hour, *keys, src.c.provider_name)


@dataclass(slots=True)
class _Cell:
    hour: datetime
    key: tuple[object, ...]
    values: dict[str, Any]
    open_rows: int

    def add(self, values: dict[str, Any], open_rows: int) -> None:
        for name, value in values.items():
            if not name.endswith("_max_ms"):
                self.values[name] += value
            elif value is not None and (self.values[name] is None or value > self.values[name]):
                self.values[name] = value
        self.open_rows += open_rows


@dataclass(frozen=True, slots=True)
class _HourRows:
    """What one grouped read of some hours' usage rows gives: their cells, and each hour's
    distinct (user, model, provider name)."""

    cells: list[_Cell]
    names: set[tuple[datetime, object, object, object]]


async def _hour_rows(conn: AsyncConnection, hours: Sequence[datetime]) -> _HourRows:
    cells: dict[tuple[datetime, tuple[object, ...]], _Cell] = {}
    names = set()
    for row in await conn.execute(_cell_sums_stmt(conn.dialect.name, hours)):
        hour, key, v = parse_hour(row[0]), _normal_key(row[1:9]), row[10:]
        names.add((hour, key[0], key[3], row[9]))
        values = {
            "requests": int(v[0]), "input_tokens": int(v[1] or 0), "output_tokens": int(v[2] or 0),
            "cache_creation_tokens": int(v[3] or 0), "cache_read_tokens": int(v[4] or 0),
            "cost": float(v[5] or 0), "actual_cost": float(v[6] or 0), "cache_creation_cost": float(v[7] or 0),
            "cache_read_cost": float(v[8] or 0), "response_count": int(v[9] or 0),
            "response_sum_ms": int(v[10] or 0), "response_max_ms": None if v[11] is None else int(v[11]),
            "first_byte_count": int(v[12] or 0), "first_byte_sum_ms": int(v[13] or 0),
            "first_byte_max_ms": None if v[14] is None else int(v[14]),
        }
        if (hour, key) in cells:
            cells[(hour, key)].add(values, int(v[15] or 0))
        else:
            cells[(hour, key)] = _Cell(hour, key, values, int(v[15] or 0))
    return _HourRows(list(cells.values()), names)


# What an hour's digest covers, besides its open rows and its candidates.
_DIGESTED = ("requests", "input_tokens", "output_tokens", "cache_creation_tokens", "cache_read_tokens",
             "response_count", "response_sum_ms", "first_byte_count", "first_byte_sum_ms")


@dataclass(frozen=True, slots=True)
class Stamp:
    """What a run records of an hour it rolled up, to tell later whether its rows changed: the
    counts of its rows and candidates (cheap to check again, through the `created_at` indexes),
    whether candidates were still open (they settle without changing any count), a digest of
    every figure (a row changed in place), and the state of its candidates alone, so an hour
    whose candidates were open can be checked for their settling without reading its usage rows.
    Stored as `rows` and `fingerprint`."""

    rows: int
    candidates: int
    open_candidates: bool
    digest: str
    candidate_state: str | None = None  # None in fingerprints written before it was recorded

    def text(self) -> str:
        return f"{self.candidates}:{int(self.open_candidates)}:{self.digest}:{self.candidate_state or ''}"

    @classmethod
    def parse(cls, rows: int, text: str) -> Stamp | None:
        """None for a fingerprint of an earlier format: the hour is checked in full."""
        parts = text.split(":")
        if len(parts) not in (3, 4) or not parts[0].isdigit() or parts[1] not in ("0", "1"):
            return None
        state = parts[3] if len(parts) == 4 and parts[3] else None
        return cls(int(rows), int(parts[0]), parts[1] == "1", parts[2], state)


def _candidate_states(candidate_rows: Sequence[Sequence[Any]]) -> dict[datetime, tuple[int, int, int, int]]:
    """Per hour, from `candidate_fingerprint_stmt`: all, executed, still open, position checksum."""
    return {
        parse_hour(row[0]): (int(row[1] or 0), int(row[2] or 0), int(row[3] or 0), int(row[4] or 0))
        for row in candidate_rows
    }


def _state_text(state: tuple[int, int, int, int]) -> str:
    _total, executed, still_open, positions = state
    return f"{executed}/{still_open}/{positions}"


def _stamps(hours: Sequence[datetime], cells: Sequence[_Cell], candidate_rows: Sequence[Sequence[Any]]) -> dict[datetime, Stamp]:
    """Per hour of `hours` (an empty one too), from its cells and its row of `candidate_fingerprint_stmt`; every figure is an
    integer sum or a sum of cells (math.fsum: the same whatever order the cells come in)."""
    per_hour: dict[datetime, list[_Cell]] = defaultdict(list)
    for cell in cells:
        per_hour[cell.hour].append(cell)
    candidates = _candidate_states(candidate_rows)
    out = {}
    for hour in hours:
        hc = per_hour.get(hour, [])
        figures = [sum(c.values[name] for c in hc) for name in _DIGESTED]
        figures += [sum(c.values["requests"] for c in hc if c.key[-1]), sum(c.open_rows for c in hc)]
        cost = math.fsum(c.values["cost"] for c in hc)
        state = candidates.get(hour, (0, 0, 0, 0))
        total, executed, still_open, positions = state
        text = ":".join(map(str, figures)) + f":{cost:.9g}|{executed}:{still_open}:{positions}"
        out[hour] = Stamp(figures[0], total, still_open > 0, hashlib.sha1(text.encode()).hexdigest(), _state_text(state))
    return out


async def _candidate_rows(conn: AsyncConnection, hours: Sequence[datetime]) -> list[Sequence[Any]]:
    dialect = conn.dialect.name
    return list(await conn.execute(candidate_fingerprint_stmt(lambda c: hour_of(c, dialect), _windows(hours))))


async def _fingerprints(conn: AsyncConnection, hours: Sequence[datetime]) -> dict[datetime, Stamp]:
    if not hours:
        return {}
    return _stamps(hours, (await _hour_rows(conn, hours)).cells, await _candidate_rows(conn, hours))


async def _census(conn: AsyncConnection, hours: Sequence[datetime]) -> dict[datetime, tuple[int, int]]:
    """Per hour: its usage rows and its candidates, counted through the `created_at` indexes
    (range counts, no expression per row): what changes when a row arrives late or goes."""
    if not hours:
        return {}
    rc = RequestCandidate
    parts = [
        select(literal(i).label("i"), literal(table).label("t"), func.count().label("n"))
        .select_from(source).where(column >= h, column < h + HOUR)
        for i, h in enumerate(hours)
        for table, source, column in ((0, Usage.__table__, Usage.created_at), (1, rc.__table__, rc.created_at))
    ]
    counts = {(int(i), int(t)): int(n) for i, t, n in await conn.execute(union_all(*parts))}
    return {h: (counts.get((i, 0), 0), counts.get((i, 1), 0)) for i, h in enumerate(hours)}


# PostgreSQL's default work_mem (4 MB) sends the grouped reads of an hour of 100,000 rows to
# sorts on disk; with room they are hash aggregates in memory (bench/README.md, "One hourly
# run"). SET LOCAL: it ends with each transaction, so the API's
# pooled connections keep the server's setting. Past it, PostgreSQL spills to disk as before.
ROLLUP_WORK_MEM = "64MB"


async def _room_to_group(conn: AsyncConnection) -> None:
    if conn.dialect.name == "postgresql":
        await conn.execute(text(f"SET LOCAL work_mem = '{ROLLUP_WORK_MEM}'"))


async def rollup_tables_present(conn: AsyncConnection) -> bool:
    def check(sync_conn) -> bool:  # noqa: ANN001
        inspector = inspect(sync_conn)
        return all(inspector.has_table(t.__tablename__) for t in HOURLY_TABLES)

    return await conn.run_sync(check)


async def _candidates(conn: AsyncConnection, now: datetime, recheck: timedelta) -> tuple[list[datetime], datetime]:
    limit = floor_hour(now - MARGIN)  # hours before this one closed at least MARGIN ago
    first_row = (await conn.execute(select(func.min(Usage.created_at)))).scalar()
    if first_row is None:
        return [], limit
    if first_row.tzinfo is None:
        first_row = first_row.replace(tzinfo=UTC)
    rolled = {
        (h if h.tzinfo else h.replace(tzinfo=UTC)): Stamp.parse(n, fp)
        for h, n, fp in await conn.execute(select(RollupHour.hour, RollupHour.rows, RollupHour.fingerprint))
    }
    out = []
    h = floor_hour(first_row)
    while h < limit:
        if h not in rolled:
            out.append(h)
        h += HOUR
    # Rolled-up hours of the last CENSUS whose rows changed since: a count that moved re-rolls
    # the hour; the last `recheck` (and hours stamped without their candidates' state) are
    # compared figure by figure. Older hours whose candidates were open are checked from the
    # candidates alone: an abandoned `pending` attempt would otherwise have its hour's usage
    # rows read in full on every run for a day.
    recent = sorted(h for h in rolled if h >= limit - CENSUS)
    counts = await _census(conn, recent)
    compare: list[datetime] = []
    settling: list[tuple[datetime, str | None]] = []
    for h in recent:
        stamp = rolled[h]
        if stamp is None or counts[h] != (stamp.rows, stamp.candidates):
            out.append(h)
        elif h >= limit - recheck or (stamp.open_candidates and stamp.candidate_state is None):
            compare.append(h)
        elif stamp.open_candidates:
            settling.append((h, stamp.candidate_state))
    now_fp = await _fingerprints(conn, compare)
    for h in compare:
        stamp = rolled[h]
        if stamp is None or now_fp[h].digest != stamp.digest:
            out.append(h)
    if settling:
        now_states = _candidate_states(await _candidate_rows(conn, [h for h, _ in settling]))
        out += [h for h, state in settling if _state_text(now_states.get(h, (0, 0, 0, 0))) != state]
    return sorted(set(out)), limit


async def _roll_chunk(conn: AsyncConnection, hours: list[datetime], now: datetime, *, days: bool, weeks: bool) -> int:
    dialect = conn.dialect.name
    read = await _hour_rows(conn, hours)
    all_cells = read.cells
    stamps = _stamps(hours, all_cells, await _candidate_rows(conn, hours))
    open_hours = {c.hour for c in all_cells if c.open_rows}
    ready = [h for h in hours if h not in open_hours]
    # Replace every hour of the chunk: an hour that is open again loses its rollup, and the day
    # holding a replaced hour is built again from the new hours.
    for stmt in drop_days_touching(_windows(hours), weeks=weeks) if days else ():
        await conn.execute(stmt)
    for table in (UsageHourlyLatency, UsageHourly, UsageHourlyNames, HourlyFallback, RollupHour):
        await conn.execute(delete(table).where(table.hour.in_(hours)))
    if not ready:
        return 0
    ready_set = set(ready)
    cells = [
        {"id": cell_id(c.hour, c.key), "hour": c.hour, **dict(zip(CELL_COLUMNS, c.key)), **c.values}
        for c in all_cells if c.hour in ready_set
    ]
    src = _cell_source(dialect, ready)
    keys = [src.c[name] for name in CELL_COLUMNS]
    parts = []
    for kind, col in ((LatencyKind.RESPONSE, src.c.response_time_ms), (LatencyKind.FIRST_BYTE, src.c.first_byte_time_ms)):
        bucket = bucket_expr(col)
        parts.append(
            select(literal_column(str(int(kind))).label("kind"), src.c.hour, *keys, bucket.label("bucket"),
                   func.count().label("n"))
            .where(col.is_not(None))
            .group_by(src.c.hour, *keys, bucket)
        )
    hist: dict[tuple[str, int, int], int] = defaultdict(int)
    hour_of_cell: dict[str, datetime] = {}
    for row in await conn.execute(union_all(*parts)):
        hour = parse_hour(row[1])
        cid = cell_id(hour, _normal_key(row[2:10]))
        hour_of_cell[cid] = hour
        hist[(cid, int(row[0]), int(row[10]))] += int(row[11])
    if cells:
        await conn.execute(insert(UsageHourly), cells)
    if hist:
        await conn.execute(insert(UsageHourlyLatency), [
            {"cell_id": cid, "kind": kind, "bucket": b, "hour": hour_of_cell[cid], "count": n}
            for (cid, kind, b), n in hist.items()
        ])
    windows = _windows(ready)
    await write_names(conn, [n for n in read.names if n[0] in ready_set], cell_id)
    await write_fallbacks(conn, lambda c: hour_of(c, dialect), windows, ready, parse_hour)
    await conn.execute(insert(RollupHour), [
        {"hour": h, "rows": stamps[h].rows, "fingerprint": stamps[h].text(), "rolled_at": now}
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


async def roll_up_hours(conn: AsyncConnection, *, now: datetime, recheck: timedelta = RECHECK) -> int:
    """Roll up every closed hour not yet rolled up (and re-roll recently changed ones, comparing
    every figure of the hours closed within `recheck`); the number of hours written. Commits
    after each chunk."""
    if not await rollup_tables_present(conn):
        log.warning("statsgraph's hourly rollup tables are missing: run `statsgraph db init`")
        await conn.commit()
        return 0
    await _room_to_group(conn)
    hours, _ = await _candidates(conn, now, recheck)
    days = await daily_tables_present(conn)
    weeks = days and await weekly_tables_present(conn)
    await conn.commit()
    written = 0
    for i in range(0, len(hours), CHUNK_HOURS):
        await _room_to_group(conn)
        written += await _roll_chunk(conn, hours[i : i + CHUNK_HOURS], now, days=days, weeks=weeks)
        await conn.commit()
    return written


__all__ = ["CENSUS", "CHUNK_HOURS", "MARGIN", "RECHECK", "Stamp", "floor_hour", "roll_up_hours"]
