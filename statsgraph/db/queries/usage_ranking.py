"""A report's groups ranked by the database: the cells of every source (raw rows, hours, days)
combined, each bucket's groups and the whole range's ranked with `row_number()`, the ones past
`limit` summed into one "other" group, all in one statement; the asked histograms in a second.

Ranking in SQL is what keeps a report's cost in Python proportional to what it answers (buckets
× (limit + 1) groups) rather than to the cells it reads: an hourly week by API key and model
reads ~32,000 (hour, key, model) cells and answers 169 × 21 groups. The rule is `UsageOrder`'s:
the measure largest first, ties by key ascending per dimension, nulls last, strings by code
point (PostgreSQL compares them under the "C" collation, SQLite's default already does)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from sqlalchemy import Integer, case, func, literal_column, null, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from ...core.analytics import Dimension, Group, Key, UsageOrder
from ...core.latency import LatencyKind
from .usage_report import (
    FLOAT_COLUMNS,
    MAX_COLUMNS,
    KeyReader,
    float_sum,
    int_sum,
    measure_columns,
    measures_of,
)

_NOT_TEXT = frozenset({Dimension.STREAM, Dimension.STATUS_CODE})
WHOLE = -1  # the bucket index of the whole range's groups


@dataclass(slots=True)
class RankedGroups:
    """The whole range's groups and, with a granularity, each bucket's, in rank order; an
    "other" group last where there were more than `limit`."""

    whole: list[Group]
    buckets: list[list[Group]] | None


def _combined(columns: Any, i: int) -> Any:
    if i in MAX_COLUMNS:
        return func.max(columns[f"m{i}"])
    if i in FLOAT_COLUMNS:
        return float_sum(columns[f"m{i}"])
    return int_sum(columns[f"m{i}"])


def _combined_columns(columns: Any, read: frozenset[int]) -> list[Any]:
    """The sums m0…m15 of cells of `columns` added up; those not read stay constants."""
    return measure_columns([_combined(columns, i) for i in range(16)], read)


def _union(parts: Sequence[Any], name: str) -> Any:
    if len(parts) == 1:
        return parts[0].subquery(name)
    combined: Any = union_all(*parts)
    return combined.subquery(name)


def _rank_by(columns: Any, dims: Sequence[Dimension], order: UsageOrder, text_in_c: bool) -> list[Any]:
    c = columns
    by: list[Any] = []
    if order is UsageOrder.COST_DESC:
        by.append(c.m6.desc())
    elif order is UsageOrder.REQUESTS_DESC:
        by.append(c.m0.desc())
    elif order is UsageOrder.TOKENS_DESC:
        by.append((c.m2 + c.m3 + c.m4 + c.m5).desc())
    for i, dim in enumerate(dims):
        d = c[f"d{i}"]
        by.append(case((d.is_(None), 1), else_=0))
        by.append(d.collate("C") if text_in_c and dim not in _NOT_TEXT else d)
    return by


def _ranked(source: Any, *, per_bucket: bool, dims: Sequence[Dimension], order: UsageOrder, limit: int,
            text_in_c: bool, read: frozenset[int]) -> list[Any]:
    """Groups of `source` ranked within each bucket (or over the whole range): the first
    `limit` as they are, the rest summed into one row per bucket with place limit + 1 and null
    keys. Two selects over one ranked CTE, so only the rest is grouped again."""
    n = len(dims)
    rn = func.row_number().over(
        partition_by=source.c.b if per_bucket else None, order_by=_rank_by(source.c, dims, order, text_in_c),
    )
    r = select(source, rn.label("rn")).cte("ranked_b" if per_bucket else "ranked_w")
    bucket = r.c.b if per_bucket else literal_column(str(WHOLE), Integer)
    top = select(
        bucket.label("b"), r.c.rn.label("place"), *(r.c[f"d{i}"] for i in range(n)),
        *(r.c[f"m{i}"] for i in range(16)),
    ).where(r.c.rn <= limit)
    rest = select(
        bucket.label("b"), literal_column(str(limit + 1), Integer).label("place"),
        *(null().label(f"d{i}") for i in range(n)),
        *_combined_columns(r.c, read),
    ).where(r.c.rn > limit)
    # Over the whole range the rest is one aggregate row even when empty; it is dropped after.
    return [top, rest.group_by(r.c.b) if per_bucket else rest]


async def ranked_groups(
    session: AsyncSession,
    *,
    sums: Sequence[Any],
    histograms: Sequence[Any],
    dims: Sequence[Dimension],
    buckets: int | None,
    order: UsageOrder,
    limit: int,
    read: frozenset[int],
    shared_buckets: bool = True,
) -> RankedGroups:
    """Rank the cells of `sums` (statements of b, d0…, m0…m15) and merge `histograms`
    (statements of kind, b, d0…, bucket, n) into the ranked groups. `buckets` is the number of
    buckets with a granularity, None without. Without `shared_buckets` (no bucket gets cells
    from two of `sums`) each (bucket, key) is one row already and is not grouped again. `read`
    names the sums computed; the others are constants in `sums` and stay so."""
    n = len(dims)
    whole: list[Group] = []
    per_bucket: list[list[Group]] | None = None if buckets is None else [[] for _ in range(buckets)]
    if not sums:
        return RankedGroups(whole, per_bucket)
    conn = await session.connection()
    text_in_c = conn.dialect.name == "postgresql"
    if len(sums) == 1 or not shared_buckets:
        cells = _union(sums, "parts").select().cte("cells")
    else:
        u = _union(sums, "parts")
        key_cols = [u.c[f"d{i}"] for i in range(n)]
        cells = (
            select(u.c.b, *(k.label(f"d{i}") for i, k in enumerate(key_cols)),
                   *_combined_columns(u.c, read))
            .group_by(u.c.b, *key_cols)
            .cte("cells")
        )
    whole_cells = (
        select(*(cells.c[f"d{i}"] for i in range(n)), *_combined_columns(cells.c, read))
        .group_by(*(cells.c[f"d{i}"] for i in range(n)))
        .subquery("whole_cells")
    )
    rank = partial(_ranked, dims=dims, order=order, limit=limit, text_in_c=text_in_c, read=read)
    parts = rank(whole_cells, per_bucket=False)
    if per_bucket is not None:
        parts += rank(cells, per_bucket=True)
    key_of = KeyReader(dims, 2)
    placed: list[tuple[int, int, Group]] = []
    statement: Any = union_all(*parts)
    for row in await conn.execute(statement):
        m = measures_of(row[2 + n:])
        place = int(row[1])
        if place > limit and not m.requests:
            continue  # no rest: every cell holds at least one request
        group = Group(key_of(row), m) if place <= limit else Group((), m, is_other=True)
        placed.append((int(row[0]), place, group))
    placed.sort(key=lambda p: (p[0], p[1]))
    for b, _, group in placed:
        if b == WHOLE:
            whole.append(group)
        elif per_bucket is not None:
            per_bucket[b].append(group)
    if histograms:
        _merge_histograms(await conn.execute(_union(histograms, "hist_parts").select()), dims, whole, per_bucket)
    return RankedGroups(whole, per_bucket)


def _lookup(groups: list[Group]) -> tuple[dict[Key, Group], Group | None]:
    other = groups[-1] if groups and groups[-1].is_other else None
    return {g.key: g for g in groups if not g.is_other}, other


def _merge_histograms(rows: Any, dims: Sequence[Dimension], whole: list[Group],
                      per_bucket: list[list[Group]] | None) -> None:
    """Add each histogram row to its key's group, or to "other" where the key ranked past the
    limit, in its bucket and in the whole range."""
    n = len(dims)
    key_of = KeyReader(dims, 2)
    whole_top, whole_other = _lookup(whole)
    bucket_maps = [_lookup(g) for g in per_bucket] if per_bucket is not None else None
    for row in rows:
        key = key_of(row)
        kind, bucket, count = int(row[0]), int(row[2 + n]), int(row[3 + n])
        targets = [whole_top.get(key) or whole_other]
        if bucket_maps is not None:
            top, other = bucket_maps[int(row[1])]
            targets.append(top.get(key) or other)
        for group in targets:
            if group is None:  # a histogram row always has its cell among the sums
                raise RuntimeError("a latency count without its cell")
            latency = group.measures.response if kind == LatencyKind.RESPONSE else group.measures.first_byte
            latency.add_buckets({bucket: count})


__all__ = ["WHOLE", "RankedGroups", "ranked_groups"]
