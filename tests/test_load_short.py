"""A short run of bench/load.py: several workers on PostgreSQL and Redis, admins and users mixed;
every response is checked for errors and for scope by the script itself."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from statsgraph.db.engine import make_engine
from statsgraph.db.setup import init_database
from statsgraph.demo.generator import generate_demo

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]


async def test_short_load_run_is_clean(postgres, redis_server) -> None:  # noqa: ANN001
    url = postgres.create_database("loadrun")
    engine = make_engine(url)
    await init_database(engine)
    await generate_demo(engine, requests=5_000, days=14)
    await engine.dispose()
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "load.py"), "--database-url", url, "--redis-url", redis_server.url,
         "--workers", "2", "--clients", "8", "--seconds", "4"],
        capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    row = run.stdout.strip().splitlines()[-1].split("|")
    requests_per_second, errors, violations = float(row[6]), int(row[10]), int(row[11])
    assert requests_per_second > 0 and errors == 0 and violations == 0, run.stdout
