"""The demo generator, checked with SQL on a real SQLite file."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from statsgraph.db.engine import make_engine
from statsgraph.db.models import Base
from statsgraph.demo.generator import DemoSummary, generate_demo
from statsgraph.server.progress import progress_bar

REQUESTS = 3_000
NOW = datetime(2025, 3, 14, 6, 30, tzinfo=timezone.utc)  # 14:30 on a Friday in Shanghai


async def _fresh_engine(path: Path) -> AsyncEngine:
    engine = make_engine(f"sqlite+aiosqlite:///{path}")
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    return engine


@pytest.fixture(scope="module")
async def demo(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[AsyncEngine, DemoSummary]]:
    engine = await _fresh_engine(tmp_path_factory.mktemp("demo") / "demo.db")
    summary = await generate_demo(engine, requests=REQUESTS, days=30, seed=11, now=NOW)
    try:
        yield engine, summary
    finally:
        await engine.dispose()


async def scalar(engine: AsyncEngine, sql: str) -> object:
    async with engine.connect() as conn:
        return (await conn.execute(text(sql))).scalar_one()


async def rows(engine: AsyncEngine, sql: str) -> list[tuple]:
    async with engine.connect() as conn:
        return [tuple(r) for r in (await conn.execute(text(sql))).all()]


async def test_summary_matches_the_tables(demo: tuple[AsyncEngine, DemoSummary]) -> None:
    engine, summary = demo
    assert summary.requests == REQUESTS
    assert await scalar(engine, "SELECT count(*) FROM usage") == REQUESTS
    assert await scalar(engine, "SELECT count(DISTINCT request_id) FROM usage") == REQUESTS
    assert await scalar(engine, "SELECT count(*) FROM users") == summary.users
    assert await scalar(engine, "SELECT count(*) FROM api_keys") == summary.api_keys
    assert await scalar(engine, "SELECT count(*) FROM providers") == summary.providers
    assert await scalar(engine, "SELECT count(*) FROM request_candidates") == summary.candidates
    assert (summary.first_day, summary.last_day) == (date(2025, 2, 13), date(2025, 3, 14))


async def test_rows_lie_within_the_window(demo: tuple[AsyncEngine, DemoSummary]) -> None:
    engine, _ = demo
    first, last = (await rows(engine, "SELECT min(created_at), max(created_at) FROM usage"))[0]
    # 2025-02-13 00:00 in Shanghai is 2025-02-12 16:00 UTC; naive UTC text on SQLite.
    assert first >= "2025-02-12 16:00:00"
    assert last < "2025-03-14 06:30:00"
    assert await scalar(engine, "SELECT count(*) FROM usage WHERE created_at >= '2025-03-13 16:00:00'") > 0


async def test_users_roles_and_deleted_users(demo: tuple[AsyncEngine, DemoSummary]) -> None:
    engine, _ = demo
    assert await rows(engine, "SELECT username, role FROM users WHERE role = 'admin'") == [("admin", "admin")]
    names = {r[0] for r in await rows(engine, "SELECT username FROM users")}
    assert {"alice", "bob"} <= names
    assert await scalar(engine, "SELECT count(*) FROM users WHERE is_deleted") == 2
    assert await scalar(engine, "SELECT count(*) FROM users WHERE NOT is_active AND NOT is_deleted") == 1
    assert await scalar(engine, "SELECT count(*) FROM users WHERE email <> username || '@example.com'") == 0
    # Some of the deleted users' rows still name them; others lost their user_id.
    assert await scalar(engine, "SELECT count(*) FROM usage WHERE user_id IS NULL") > 0
    assert await scalar(
        engine, "SELECT count(*) FROM usage u JOIN users x ON x.id = u.user_id WHERE x.is_deleted"
    ) > 0


async def test_quotas_cover_every_kind(demo: tuple[AsyncEngine, DemoSummary]) -> None:
    engine, _ = demo
    assert await scalar(engine, "SELECT count(*) FROM users WHERE quota_usd IS NULL") > 0
    assert await scalar(engine, "SELECT count(*) FROM users WHERE quota_usd = 0") == 1
    assert await scalar(engine, "SELECT count(*) FROM users WHERE quota_usd > 0") > 0
    # used_usd is what the user's kept rows were charged (the unlinked user's rows are not theirs).
    mismatched = await rows(engine, """
        SELECT x.username, x.used_usd, sum(u.actual_total_cost_usd)
        FROM users x JOIN usage u ON u.user_id = x.id
        GROUP BY x.id, x.username, x.used_usd
        HAVING abs(x.used_usd - sum(u.actual_total_cost_usd)) > 1e-6
    """)
    assert mismatched == []


async def test_traffic_is_heavy_tailed(demo: tuple[AsyncEngine, DemoSummary]) -> None:
    engine, _ = demo
    counts = [r[0] for r in await rows(
        engine, "SELECT count(*) FROM usage WHERE user_id IS NOT NULL GROUP BY user_id ORDER BY 1 DESC"
    )]
    assert sum(counts[:5]) > 0.5 * REQUESTS


async def test_api_keys(demo: tuple[AsyncEngine, DemoSummary]) -> None:
    engine, _ = demo
    per_user = await rows(engine, "SELECT user_id, count(*) FROM api_keys WHERE NOT is_standalone GROUP BY user_id")
    assert all(1 <= n <= 4 for _, n in per_user)
    assert await scalar(engine, "SELECT count(*) FROM api_keys WHERE NOT is_active") > 0
    assert await scalar(engine, "SELECT count(DISTINCT key_hash) FROM api_keys") == await scalar(
        engine, "SELECT count(*) FROM api_keys"
    )


async def test_providers_and_rows_known_by_name(demo: tuple[AsyncEngine, DemoSummary]) -> None:
    engine, _ = demo
    assert await rows(engine, "SELECT name FROM providers WHERE NOT is_active") == [("legacy-proxy",)]
    missing = await scalar(engine, "SELECT count(*) FROM usage WHERE provider_id IS NULL")
    assert 0.02 * REQUESTS < missing < 0.1 * REQUESTS
    assert await scalar(engine, "SELECT count(*) FROM usage WHERE provider_name IS NULL") == 0
    assert await scalar(engine, """
        SELECT count(*) FROM usage u JOIN providers p ON p.id = u.provider_id WHERE p.name <> u.provider_name
    """) == 0


async def test_fallbacks_exist(demo: tuple[AsyncEngine, DemoSummary]) -> None:
    engine, _ = demo
    fallbacks = await scalar(engine, """
        SELECT count(*) FROM (
            SELECT request_id FROM request_candidates WHERE status IN ('success', 'failed')
            GROUP BY request_id HAVING count(*) > 1
        ) AS f
    """)
    assert 0.02 * REQUESTS < fallbacks < 0.1 * REQUESTS
    assert await scalar(engine, "SELECT count(*) FROM request_candidates WHERE status = 'skipped'") > 0
    # Every request has its candidates, and a completed one ends with a success.
    assert await scalar(
        engine, "SELECT count(*) FROM usage WHERE request_id NOT IN (SELECT request_id FROM request_candidates)"
    ) == 0
    assert await scalar(engine, """
        SELECT count(*) FROM usage u WHERE u.status = 'completed' AND NOT EXISTS (
            SELECT 1 FROM request_candidates c WHERE c.request_id = u.request_id AND c.status = 'success')
    """) == 0


async def test_errors_of_both_kinds(demo: tuple[AsyncEngine, DemoSummary]) -> None:
    engine, _ = demo
    failed = await scalar(engine, "SELECT count(*) FROM usage WHERE status_code >= 400")
    assert 0.01 * REQUESTS < failed < 0.06 * REQUESTS
    assert await scalar(engine, "SELECT count(*) FROM usage WHERE status_code >= 400 AND error_message IS NULL") == 0
    codes = {r[0] for r in await rows(engine, "SELECT DISTINCT status_code FROM usage WHERE status_code >= 400")}
    assert codes <= {429, 500, 502, 503} and 429 in codes
    assert await scalar(
        engine, "SELECT count(*) FROM usage WHERE status_code = 200 AND error_message IS NOT NULL"
    ) > 0


async def test_requests_in_flight(demo: tuple[AsyncEngine, DemoSummary]) -> None:
    engine, _ = demo
    live = await rows(engine, """
        SELECT status, status_code, response_time_ms, input_tokens + output_tokens, created_at
        FROM usage WHERE status IN ('pending', 'streaming')
    """)
    assert 1 <= len(live) <= 10
    assert all(code is None and latency is None and tokens == 0 for _, code, latency, tokens, _ in live)
    assert all(created >= "2025-03-14 06:25:00" for *_, created in live)


async def test_costs_and_tokens_add_up(demo: tuple[AsyncEngine, DemoSummary]) -> None:
    engine, _ = demo
    assert await scalar(engine, """
        SELECT count(*) FROM usage WHERE abs(total_cost_usd - (input_cost_usd + output_cost_usd
            + cache_creation_cost_usd + cache_read_cost_usd)) > 1e-12
    """) == 0
    assert await scalar(engine, "SELECT count(*) FROM usage WHERE total_tokens <> input_tokens + output_tokens") == 0
    assert await scalar(engine, "SELECT count(*) FROM usage WHERE actual_total_cost_usd > total_cost_usd + 1e-12") == 0
    assert await scalar(engine, "SELECT count(*) FROM usage WHERE actual_total_cost_usd < total_cost_usd") > 0
    assert await scalar(engine, "SELECT sum(cache_read_input_tokens) FROM usage") > 0
    assert await scalar(engine, "SELECT sum(cache_creation_input_tokens) FROM usage") > 0
    null_latency = await scalar(engine, "SELECT count(*) FROM usage WHERE response_time_ms IS NULL")
    assert 0 < null_latency < 0.05 * REQUESTS
    streams = await scalar(engine, "SELECT avg(is_stream) FROM usage")
    assert 0.4 < streams < 0.75


async def test_business_hours_are_busier_than_nights(demo: tuple[AsyncEngine, DemoSummary]) -> None:
    engine, _ = demo
    # Shanghai is UTC+8: local 10:00-17:00 is 02:00-09:00 UTC; local 01:00-06:00 is 17:00-22:00.
    by_hour = dict(await rows(
        engine, "SELECT CAST(strftime('%H', created_at) AS INTEGER), count(*) FROM usage GROUP BY 1"
    ))
    day = sum(by_hour.get(h, 0) for h in range(2, 9))
    night = sum(by_hour.get(h, 0) for h in range(17, 22))
    assert day > 4 * night


_TOTALS = """
    SELECT count(*), sum(input_tokens), sum(output_tokens), sum(cache_read_input_tokens),
           sum(total_cost_usd), sum(actual_total_cost_usd), min(created_at), max(created_at),
           (SELECT count(*) FROM request_candidates), (SELECT sum(used_usd) FROM users),
           (SELECT group_concat(request_id, ',') FROM (SELECT request_id FROM usage ORDER BY id LIMIT 20))
    FROM usage
"""


async def test_same_seed_same_database(tmp_path: Path, demo: tuple[AsyncEngine, DemoSummary]) -> None:
    engine, summary = demo
    again = await _fresh_engine(tmp_path / "again.db")
    other = await _fresh_engine(tmp_path / "other.db")
    try:
        assert await generate_demo(again, requests=REQUESTS, days=30, seed=11, now=NOW) == summary
        assert await rows(again, _TOTALS) == await rows(engine, _TOTALS)
        await generate_demo(other, requests=REQUESTS, days=30, seed=12, now=NOW)
        assert await rows(other, _TOTALS) != await rows(engine, _TOTALS)
    finally:
        await again.dispose()
        await other.dispose()


async def test_refuses_a_database_with_data(demo: tuple[AsyncEngine, DemoSummary]) -> None:
    engine, _ = demo
    with pytest.raises(ValueError, match="empty database"):
        await generate_demo(engine, requests=10, now=NOW)


async def test_progress_reports_every_chunk(tmp_path: Path) -> None:
    engine = await _fresh_engine(tmp_path / "progress.db")
    calls: list[tuple[int, int]] = []
    try:
        await generate_demo(engine, requests=12_000, days=3, now=NOW, progress=lambda d, t: calls.append((d, t)))
    finally:
        await engine.dispose()
    assert calls == [(5_000, 12_000), (10_000, 12_000), (12_000, 12_000)]


def test_progress_bar_draws_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    show = progress_bar("generating")
    show(500, 1_000)
    show(1_000, 1_000)
    show(1_000, 1_000)
    err = capsys.readouterr().err
    assert err.count("\r") == 2 and err.endswith("\n") and err.count("\n") == 1
    assert " 50.0%" in err and "100.0%" in err and "rows/s" in err
