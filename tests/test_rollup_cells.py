"""An hourly cell is keyed by the provider the rows belong to, not by the name they carry: rows of
one provider under two names (renamed since) make one cell with all their figures, and the
hour's names keep both names. Checked against the rows as written here."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from statsgraph.db.engine import make_engine, make_session_factory
from statsgraph.db.rollup_hourly import roll_up_hours
from statsgraph.db.rollup_tables import UsageHourly, UsageHourlyNames
from tests import reference as ref
from tests.conftest import utc
from tests.factories import insert_dataset, make_api_key, make_provider, make_usage, make_user

HOUR = utc(2026, 3, 10, 9)
NOW = HOUR + timedelta(hours=2)


async def test_one_provider_under_two_names_is_one_cell(empty_db: str) -> None:
    user, provider = make_user(username="u"), make_provider(name="openai")
    key = make_api_key(user_id=user.id)
    rows = [
        make_usage(created_at=HOUR + timedelta(minutes=m), user_id=user.id, api_key_id=key.id,
                   provider_id=provider.id, provider_name=name, output_tokens=tokens,
                   response_time_ms=latency, first_byte_time_ms=latency // 4)
        for m, name, tokens, latency in ((1, "openai", 10, 900), (2, "openai-old", 20, 4000), (3, "openai-old", 40, 1200))
    ]
    engine = make_engine(empty_db)
    async with make_session_factory(engine)() as session:
        await insert_dataset(session, ref.Dataset(users=[user], api_keys=[key], providers=[provider], usage=rows))
    async with engine.connect() as conn:
        assert await roll_up_hours(conn, now=NOW) == 1
        cells = (await conn.execute(select(UsageHourly).where(UsageHourly.hour == HOUR))).all()
        names = {n for (n,) in await conn.execute(select(UsageHourlyNames.provider_name).where(UsageHourlyNames.hour == HOUR))}
    await engine.dispose()

    assert len(cells) == 1
    cell = cells[0]
    assert cell.provider_key == provider.id
    assert (cell.requests, cell.output_tokens) == (3, 70)
    assert (cell.response_count, cell.response_sum_ms, cell.response_max_ms) == (3, 6100, 4000)
    assert (cell.first_byte_count, cell.first_byte_sum_ms, cell.first_byte_max_ms) == (3, 225 + 1000 + 300, 1000)
    assert cell.cost == pytest.approx(sum(r.total_cost_usd for r in rows), rel=1e-12)
    assert names == {"openai", "openai-old"}
