"""The long-running work the commands share: aggregating days, serving HTTP."""

from __future__ import annotations

import asyncio
import os

from .cli_checks import missing_tables, require_tables


def aggregate_days(database_url: str, tz: str, backfill: int | None, recheck_hours: int) -> None:
    from datetime import timedelta

    from ..core.calendar import BusinessCalendar
    from ..db.aggregator import aggregate, serialise_sqlite_writers
    from ..db.engine import make_engine
    from .progress import progress_bar

    async def run() -> None:
        engine = make_engine(database_url)
        if engine.dialect.name == "sqlite":
            serialise_sqlite_writers(engine)
        try:
            require_tables(await missing_tables(engine), database_url)
            report = await aggregate(
                engine, calendar=BusinessCalendar(tz), backfill_days=backfill,
                progress=progress_bar("aggregating", unit="days"), recheck=timedelta(hours=recheck_hours),
            )
        finally:
            await engine.dispose()
        span = f" ({report.first_day} .. {report.last_day})" if report.days else ""
        print(f"aggregated {report.days} day(s){span}; summary updated")

    asyncio.run(run())


def serve(settings, host: str, port: int, workers: int) -> None:  # noqa: ANN001
    import uvicorn

    from .logs import configure_logging

    configure_logging(settings.log_format, settings.log_level)
    # Bounded shutdown and idle connections: a stalled client cannot keep the server running.
    limits = {
        "timeout_graceful_shutdown": settings.shutdown_timeout_seconds,
        "timeout_keep_alive": settings.keep_alive_timeout_seconds,
    }
    if workers > 1:
        # Workers import the app by name and read settings from the environment.
        os.environ.setdefault("DATABASE_URL", settings.database_url)
        if settings.demo_mode:
            os.environ["DEMO_MODE"] = "1"
        uvicorn.run("statsgraph.server.asgi:app", host=host, port=port, workers=workers, log_config=None, **limits)
    else:
        from .app import create_app

        uvicorn.run(create_app(settings), host=host, port=port, log_config=None, **limits)


__all__ = ["aggregate_days", "serve"]
