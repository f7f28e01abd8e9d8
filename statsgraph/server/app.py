"""The FastAPI application: GraphQL (and GraphiQL) at /graphql, health probes, limits."""

from __future__ import annotations

import asyncio
import gc
import logging
from contextlib import asynccontextmanager
from datetime import date, timedelta

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import inspect, make_url, text
from sqlalchemy.ext.asyncio import AsyncConnection

from .. import __version__
from ..core.scope import GLOBAL
from ..db.engine import count_statements
from ..db.models import Base
from ..db.own_tables import OWN_TABLE_NAMES, own_tables_present
from ..db.queries.coverage import aggregated_days
from ..resolvers.cache import RedisCache
from ..schema import build_schema
from ..web import install_pages
from .body_limit import BodyLimit
from .expensive_lane import ExpensiveLane
from .export import make_export_router
from .http_cache import CacheHints
from .index_check import missing_index_names, warn_missing_indexes
from .legacy import LEGACY_DOCUMENTS, make_legacy_router
from .metrics import Metrics, operation_names
from .persisted import PersistedQueryRouter, load_manifest
from .request_context import context_getter
from .runtime import Runtime, make_runtime
from .schedule import AggregatorSchedule
from .settings import Settings

log = logging.getLogger("statsgraph.server")

# The tables statsgraph reads that Aether itself creates (statsgraph's own tables excluded:
# figures stay exact without them).
AETHER_TABLES = tuple(
    t for t in Base.metadata.tables if t not in OWN_TABLE_NAMES and not t.startswith("statsgraph_")
)
STARTUP_CHECK_SECONDS = 5.0


async def missing_aether_tables(conn: AsyncConnection) -> list[str]:
    """Aether's tables that the database lacks, e.g. an empty SQLite file or the wrong database."""

    def check(sync_conn) -> list[str]:  # noqa: ANN001
        present = set(inspect(sync_conn).get_table_names())
        return sorted(t for t in AETHER_TABLES if t not in present)

    return await conn.run_sync(check)


def redacted_url(url: str) -> str:
    """The URL without its password, for log lines."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - a log line must never fail
        return url.split("://", 1)[0] + "://…"


def create_app(settings: Settings, *, runtime: Runtime | None = None) -> FastAPI:
    settings.require_jwt_secret()
    rt = runtime or make_runtime(settings)

    get_context = context_getter(settings, rt)

    manifest = load_manifest(settings.persisted_manifest)
    # Latency is labelled by operation name only for the known operations (the manifest's and
    # the legacy endpoints'); anything a client names is `other`.
    metrics = Metrics(rt.cache, operations=operation_names([*manifest.values(), *LEGACY_DOCUMENTS]))
    schema = build_schema(
        max_depth=settings.max_query_depth,
        max_aliases=settings.max_aliases,
        max_tokens=settings.max_tokens,
        introspection=settings.introspection,
        max_cost=settings.max_query_cost,
        clock=rt.clock,
        extra_extensions=[CacheHints, metrics.extension()],
    )
    lane = ExpensiveLane(rt, min_cost=settings.expensive_query_cost, max_tokens=settings.max_tokens,
                         on_run=metrics.expensive_documents.inc)
    router = PersistedQueryRouter(
        schema,
        lane=lane,
        context_getter=get_context,
        graphql_ide="graphiql" if settings.introspection else None,
        manifest=manifest,
        shared=rt.shared,
        only_persisted=settings.persisted_only,
    )

    async def startup_check() -> None:
        """One warning line when the database cannot be reached or lacks Aether's tables; the
        server starts anyway, answers SERVICE_UNAVAILABLE and reports it on /readyz."""
        where = redacted_url(settings.read_url)
        try:
            async with asyncio.timeout(STARTUP_CHECK_SECONDS), rt.engine.connect() as conn:
                missing = await missing_aether_tables(conn)
        except Exception as exc:  # noqa: BLE001 - any failure is worth the one line
            log.warning("database unreachable at start-up (%s: %s): serving anyway; /readyz answers 503 "
                        "until it answers", where, type(exc).__name__)
            return
        if missing:
            log.warning("database %s lacks Aether's tables %s: point DATABASE_URL at Aether's database "
                        "(or run `statsgraph demo`)", where, ", ".join(missing))
        await warn_missing_indexes(rt.engine, rt.indexes, log)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):  # noqa: ANN202
        await startup_check()
        # What exists now lives as long as the process. Frozen, it is left out of the
        # collector's full passes, each of which would otherwise walk it and hold every thread
        # (the serving loop included) for ~100 ms while an expensive document runs.
        gc.freeze()
        schedule = AggregatorSchedule(settings, clock=rt.clock) if settings.aggregate_in_server else None
        if schedule is not None:
            schedule.start()
        yield
        if schedule is not None:
            await schedule.stop()
        await lane.close(timeout=settings.shutdown_timeout_seconds)
        if isinstance(rt.shared, RedisCache):
            await rt.shared.close()
        await rt.engine.dispose()

    app = FastAPI(title="statsgraph", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.runtime = rt
    app.state.lane = lane

    @app.middleware("http")
    async def count_sql(request: Request, call_next):  # noqa: ANN001, ANN202
        if request.url.path.startswith("/graphql"):
            async with count_statements() as counter:
                response = await call_next(request)
            metrics.statements.observe(counter.count)
            return response
        return await call_next(request)

    # Added after the counter and before CORS: refusals still carry the CORS headers.
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes, read_timeout=settings.body_read_timeout_seconds)

    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
        )

    app.include_router(router, prefix="/graphql")
    app.include_router(make_legacy_router(lane, schema, get_context))
    app.include_router(make_export_router(lane, schema, get_context))
    install_pages(app)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metrics")
    async def prometheus() -> PlainTextResponse:
        try:
            await aggregator_lag()
        except Exception as exc:  # noqa: BLE001 - the other metrics are still worth a scrape
            # Once per scrape during an outage: one line, no traceback.
            log.info("metrics: aggregator progress unknown (%s)", type(exc).__name__)
        return PlainTextResponse(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    async def aggregator_lag() -> tuple[date | None, int | None]:
        """The newest pre-aggregated closed day and how many closed days follow it; exported
        as a gauge too. Not a readiness condition: figures stay exact without aggregates."""
        cal = rt.calendar()
        async with rt.sessions() as session:
            days = await aggregated_days(session, scope=GLOBAL, calendar=cal)
        latest = max(days, default=None)
        behind = None if latest is None else (cal.today() - timedelta(days=1) - latest).days
        metrics.aggregates_days_behind.set(float("nan") if behind is None else behind)
        return latest, behind

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        body: dict[str, object] = {"database": "ok"}
        try:
            async with rt.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
                missing = await missing_aether_tables(conn)
                own_tables = await own_tables_present(conn)
            body["missingIndexes"] = await missing_index_names(rt.engine, rt.indexes)
        except Exception as exc:  # noqa: BLE001 - any failure means not ready
            body["database"] = f"unavailable ({type(exc).__name__})"
        else:
            if missing:
                # Reachable but not Aether's database (an empty file, the wrong name): nothing to serve.
                body["database"] = f"missing Aether's tables: {', '.join(missing)}"
                body["missingTables"] = missing
            else:
                try:
                    latest, behind = await aggregator_lag()
                    body["aggregates"] = {
                        "latestDay": latest.isoformat() if latest else None,
                        "daysBehind": behind,
                        # False: `statsgraph db init` has not run here; user scopes are read raw.
                        "userTables": own_tables,
                    }
                except Exception as exc:  # noqa: BLE001 - reachable, so still ready
                    body["aggregates"] = f"unknown ({type(exc).__name__})"
        cache = rt.shared.name
        if isinstance(rt.shared, RedisCache):
            cache = "redis ok" if await rt.shared.ping() else "redis unavailable (serving without cache)"
        body["cache"] = cache
        return JSONResponse(body, status_code=200 if body["database"] == "ok" else 503)

    return app


__all__ = ["Runtime", "create_app", "make_runtime"]
