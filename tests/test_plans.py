"""PostgreSQL plans every execution for its own parameters: a prepared statement must not switch
to a generic plan built for an average user after five executions (bench/README.md measures
what that cost the heaviest user)."""

from __future__ import annotations

from sqlalchemy import text

from statsgraph.db.engine import make_engine


async def test_asyncpg_connections_force_custom_plans(postgres) -> None:  # noqa: ANN001
    url = postgres.create_database("plans")
    for engine in (make_engine(url), make_engine(url, connect_args={"server_settings": {"application_name": "x"}})):
        try:
            async with engine.connect() as conn:
                for _ in range(7):  # past the five executions after which a generic plan may win
                    mode = (await conn.execute(text("SHOW plan_cache_mode"))).scalar_one()
                    assert mode == "force_custom_plan"
        finally:
            await engine.dispose()
    engine = make_engine(url, connect_args={"server_settings": {"application_name": "x"}})
    try:
        async with engine.connect() as conn:
            assert (await conn.execute(text("SHOW application_name"))).scalar_one() == "x"
    finally:
        await engine.dispose()


async def test_asyncpg_connections_run_without_jit(postgres) -> None:  # noqa: ANN001
    # The latency-bucket CASE tree makes statements expensive enough for JIT to compile them,
    # which cost seconds per statement (bench/README.md, one hourly run).
    url = postgres.create_database("nojit")
    engine = make_engine(url, connect_args={"server_settings": {"application_name": "x"}})
    try:
        async with engine.connect() as conn:
            assert (await conn.execute(text("SHOW jit"))).scalar_one() == "off"
            assert (await conn.execute(text("SHOW plan_cache_mode"))).scalar_one() == "force_custom_plan"
    finally:
        await engine.dispose()
