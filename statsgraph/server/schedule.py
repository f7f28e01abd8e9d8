"""The aggregator run by the server itself, for deployments without a cron.

Each process runs it once at start-up (catching up on whatever was missed while nothing ran)
and a little after each UTC hour, which rolls up the hour just closed (and any closed day). Every worker of every instance keeps such a schedule; on
PostgreSQL the aggregator's lock is tried, not waited for, so one of them does the work and the
others skip. On SQLite (one process, the demo) the write lock serialises the runs and a second
run finds nothing left to do.

A run builds many rows in Python; it happens on a thread with its own event loop and engine,
so requests keep being served while it works."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from ..core.calendar import BusinessCalendar
from ..db.aggregator import AggregateReport, aggregate_unless_running, serialise_sqlite_writers
from ..db.engine import make_engine
from .settings import Settings

log = logging.getLogger("statsgraph.aggregator")

# After a failed run (database down, say), try again this soon rather than a day later.
RETRY_SECONDS = 300.0


class _Stopped(Exception):
    """Raised between two chunks (each its own transaction) when the server shuts down."""


class AggregatorSchedule:
    def __init__(self, settings: Settings, *, clock: Callable[[], datetime] | None = None) -> None:
        self._settings = settings
        self._clock = clock
        self._task: asyncio.Task[None] | None = None
        self._stopping = threading.Event()

    def calendar(self) -> BusinessCalendar:
        return BusinessCalendar(self._settings.app_timezone, clock=self._clock)

    def next_run(self) -> datetime:
        """The configured delay after the next UTC hour (after the current one while the
        delay has not passed yet). Every business-day turn of a whole-hour zone is such an
        hour; in a half-hour zone the closed day waits for the next one."""
        now = self.calendar().now().astimezone(timezone.utc)
        delay = timedelta(seconds=self._settings.aggregate_delay_seconds)
        run = now.replace(minute=0, second=0, microsecond=0) + delay
        if run <= now:
            run += timedelta(hours=1)
        return run

    async def run_once(self) -> AggregateReport | None:
        """One run, on its own thread: None when another process's run holds the lock (or
        the server is shutting down)."""
        report = await asyncio.to_thread(asyncio.run, self._run_in_own_loop())
        if report is None:
            log.info("aggregation skipped: another process is running it")
        elif report.days:
            log.info("aggregated %d day(s) (%s .. %s)", report.days, report.first_day, report.last_day)
        return report

    async def _run_in_own_loop(self) -> AggregateReport | None:
        # An engine belongs to the loop it was created on: this one lives and dies here.
        # Writes go to the primary, whatever DATABASE_READ_URL points queries at.
        engine = make_engine(self._settings.database_url)
        if engine.dialect.name == "sqlite":
            serialise_sqlite_writers(engine)
        try:
            return await aggregate_unless_running(
                engine, calendar=self.calendar(), progress=self._between_chunks,
                recheck=timedelta(hours=self._settings.rollup_recheck_hours),
            )
        except _Stopped:
            return None
        finally:
            await engine.dispose()

    def _between_chunks(self, _done: int, _total: int) -> None:
        if self._stopping.is_set():
            raise _Stopped

    async def _loop(self) -> None:
        wait = 0.0
        while True:
            await asyncio.sleep(wait)
            try:
                await self.run_once()
                wait = (self.next_run() - self.calendar().now()).total_seconds()
            except Exception:  # noqa: BLE001 - logged; the next attempt may succeed
                log.exception("aggregation failed; retrying in %.0f s", RETRY_SECONDS)
                wait = RETRY_SECONDS

    def start(self) -> None:
        self._stopping.clear()
        self._task = asyncio.create_task(self._loop(), name="statsgraph-aggregator")

    async def stop(self) -> None:
        # A run in progress ends after its current chunk; the task stops waiting for it now.
        self._stopping.set()
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None


__all__ = ["AggregatorSchedule"]
