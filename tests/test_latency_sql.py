"""The database's latency bucket agrees with the contract's rule at every edge, on SQLite and
PostgreSQL (the rollups group rows by it, so a disagreement would move percentiles)."""

from __future__ import annotations

from sqlalchemy import Column, Integer, MetaData, Table, insert, select

from statsgraph.db.engine import make_engine
from statsgraph.db.latency_sql import bucket_expr

LARGEST = 2**31 - 1


def contract_bucket(v: int) -> int:
    """Written from the contract: v <= 100 is its own bucket; above, bucket 100 + i holds
    U(i-1) < v <= U(i) with U(i) = (100 × 51^i) div 50^i."""
    if v <= 100:
        return v
    i = 1
    while (100 * 51**i) // 50**i < v:
        i += 1
    return 100 + i


def probe_values() -> list[int]:
    values = {-7, 0, 1, 99, 100, 101, 102, 103, LARGEST}
    i = 0
    while (edge := (100 * 51**i) // 50**i) < LARGEST:
        values.update((edge - 1, edge, edge + 1))
        i += 1
    return sorted(v for v in values if v <= LARGEST)


async def test_every_edge_falls_in_the_contracts_bucket(empty_db: str) -> None:
    values = probe_values()
    assert len(values) > 2000  # every edge up to the largest 32-bit value, and its neighbours
    table = Table("latency_probe", MetaData(), Column("ms", Integer))
    engine = make_engine(empty_db)
    async with engine.begin() as conn:
        await conn.run_sync(table.metadata.create_all)
        await conn.execute(insert(table), [{"ms": v} for v in values])
        got = dict((await conn.execute(select(table.c.ms, bucket_expr(table.c.ms)))).all())
    await engine.dispose()
    wrong = {v: (got[v], contract_bucket(v)) for v in values if got[v] != contract_bucket(v)}
    assert not wrong, list(wrong.items())[:10]
