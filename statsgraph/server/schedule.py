"""The aggregator run by the server itself, for deployments without a cron.

Each process runs it once at start-up (catching up on days missed while nothing ran) and a
little after each business-day turn. Every worker of every instance keeps such a schedule; on
PostgreSQL the aggregator's lock is tried, not waited for, so one of them does the work and the
others skip. On SQLite (one process, the demo) the write lock serialises the runs and a second
run finds nothing left to do."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from ..db.aggregator import AggregateReport, aggregate_unless_running, serialise_sqlite_writers
from ..db.calendar import BusinessCalendar
from ..db.engine import make_engine
from .settings import Settings

log = logging.getLogger("statsgraph.aggregator")

# After a failed run (database down, say), try again this soon rather than a day later.
RETRY_SECONDS = 300.0


class AggregatorSchedule:
    def __init__(self, settings: Settings, *, clock: Callable[[], datetime] | None = None) -> None:
        self._settings = settings
        self._clock = clock
        self._engine: AsyncEngine | None = None
        self._task: asyncio.Task[None] | None = None

    def calendar(self) -> BusinessCalendar:
        return BusinessCalendar(self._settings.app_timezone, clock=self._clock)

    def next_run(self) -> datetime:
        """The next business-day turn plus the configured delay, in UTC."""
        cal = self.calendar()
        delay = timedelta(seconds=self._settings.aggregate_delay_seconds)
        run = cal.day_start(cal.today()) + delay
        if run <= cal.now():
            run = cal.day_start(cal.today() + timedelta(days=1)) + delay
        return run

    async def run_once(self) -> AggregateReport | None:
        """One run: None when another process's run holds the lock."""
        if self._engine is None:
            # Writes go to the primary, whatever DATABASE_READ_URL points queries at.
            self._engine = make_engine(self._settings.database_url)
            if self._engine.dialect.name == "sqlite":
                serialise_sqlite_writers(self._engine)
        report = await aggregate_unless_running(self._engine, calendar=self.calendar())
        if report is None:
            log.info("aggregation skipped: another process is running it")
        elif report.days:
            log.info("aggregated %d day(s) (%s .. %s)", report.days, report.first_day, report.last_day)
        return report

    async def _loop(self) -> None:
        wait = 0.0
        while True:
            await asyncio.sleep(wait)
            try:
                await self.run_once()
                wait = (self.next_run() - self.calendar().now()).total_seconds()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - logged; the next attempt may succeed
                log.exception("aggregation failed; retrying in %.0f s", RETRY_SECONDS)
                wait = RETRY_SECONDS

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="statsgraph-aggregator")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None


__all__ = ["AggregatorSchedule"]
