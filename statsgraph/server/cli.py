"""The `statsgraph` command."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

DEMO_DB = "statsgraph-demo.db"


def _settings(**overrides: object):  # noqa: ANN202
    from .settings import Settings

    return Settings(**overrides)  # type: ignore[arg-type]


def cmd_export_schema(_args: argparse.Namespace) -> int:
    from ..schema import export_sdl

    sys.stdout.write(export_sdl())
    return 0


def cmd_export_manifest(args: argparse.Namespace) -> int:
    import json

    from .persisted import build_manifest

    manifest = build_manifest(Path(args.operations))
    if not manifest:
        print(f"no *.graphql files in {args.operations}", file=sys.stderr)
        return 1
    sys.stdout.write(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return 0


def cmd_db_init(args: argparse.Namespace) -> int:
    from ..db.engine import make_engine
    from ..db.setup import InitReport, create_indexes, init_database

    async def run() -> InitReport:
        engine = make_engine(_settings().database_url)
        try:
            report = await init_database(engine)
            if args.create_indexes and report.missing_indexes:
                await create_indexes(engine, report.missing_indexes)
            return report
        finally:
            await engine.dispose()

    report = asyncio.run(run())
    print("created: " + (", ".join(report.created) if report.created else "nothing (all tables exist)"))
    for table, rows in report.migrated.items():
        print(f"copied {rows} row(s) into {table} from its earlier name")
    for index in report.missing_indexes:
        state = "created" if args.create_indexes else "missing"
        print(f"index {state}: {index.ddl(concurrently=False)}  -- {index.why}")
    if report.missing_indexes and not args.create_indexes:
        print("run `statsgraph db init --create-indexes` to create them (CONCURRENTLY on PostgreSQL)")
    return 0


def _aggregate(database_url: str, tz: str, backfill: int | None) -> None:
    from ..core.calendar import BusinessCalendar
    from ..db.aggregator import aggregate, serialise_sqlite_writers
    from ..db.engine import make_engine
    from .progress import progress_bar

    async def run() -> None:
        engine = make_engine(database_url)
        if engine.dialect.name == "sqlite":
            serialise_sqlite_writers(engine)
        try:
            report = await aggregate(
                engine, calendar=BusinessCalendar(tz), backfill_days=backfill,
                progress=progress_bar("aggregating", unit="days"),
            )
        finally:
            await engine.dispose()
        span = f" ({report.first_day} .. {report.last_day})" if report.days else ""
        print(f"aggregated {report.days} day(s){span}; summary updated")

    asyncio.run(run())


def cmd_aggregate(args: argparse.Namespace) -> int:
    s = _settings()
    _aggregate(s.database_url, s.app_timezone, args.backfill)
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    from datetime import timedelta

    from sqlalchemy import select

    from ..db.engine import make_engine, make_session_factory
    from ..db.models import User
    from .auth import mint_token

    s = _settings(demo_mode=args.demo) if args.demo else _settings()

    async def find() -> str | None:
        engine = make_engine(s.database_url)
        try:
            async with make_session_factory(engine)() as session:
                return (await session.execute(select(User.id).where(User.username == args.user))).scalar()
        finally:
            await engine.dispose()

    user_id = asyncio.run(find())
    if user_id is None:
        print(f"no user named {args.user!r}", file=sys.stderr)
        return 1
    print(mint_token(user_id, settings=s, ttl=timedelta(hours=args.hours)))
    return 0


def _serve(settings, host: str, port: int, workers: int) -> None:  # noqa: ANN001
    import uvicorn

    from .logs import configure_logging

    configure_logging(settings.log_format, settings.log_level)
    if workers > 1:
        # Workers import the app by name and read settings from the environment.
        os.environ.setdefault("DATABASE_URL", settings.database_url)
        if settings.demo_mode:
            os.environ["DEMO_MODE"] = "1"
        uvicorn.run("statsgraph.server.asgi:app", host=host, port=port, workers=workers, log_config=None)
    else:
        from .app import create_app

        uvicorn.run(create_app(settings), host=host, port=port, log_config=None)


def cmd_serve(args: argparse.Namespace) -> int:
    _serve(_settings(), args.host, args.port, args.workers)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from datetime import timedelta

    from ..db.engine import make_engine
    from ..db.setup import init_database
    from ..demo.generator import generate_demo
    from .auth import mint_token
    from .progress import progress_bar

    path = Path(args.database).resolve()
    url = f"sqlite+aiosqlite:///{path}"
    s = _settings(database_url=url, demo_mode=True, log_format="text")
    if args.rebuild and path.exists():
        path.unlink()
    if not path.exists():
        async def build() -> None:
            engine = make_engine(url)
            try:
                await init_database(engine)
                print(f"generating {args.requests:,} requests over {args.days} days into {path}")
                await generate_demo(
                    engine, requests=args.requests, days=args.days, tz=s.app_timezone,
                    progress=progress_bar("generating requests"),
                )
            finally:
                await engine.dispose()

        asyncio.run(build())
        _aggregate(url, s.app_timezone, None)
    else:
        print(f"using the existing demo database {path} (--rebuild to make a new one)")

    from sqlalchemy import select

    from ..db.engine import make_session_factory
    from ..db.models import User

    async def ids() -> dict[str, str]:
        engine = make_engine(url)
        try:
            async with make_session_factory(engine)() as session:
                rows = await session.execute(
                    select(User.username, User.id).where(User.is_deleted.is_(False), User.is_active.is_(True))
                    .order_by(User.role, User.created_at)
                )
                return dict(rows.all())
        finally:
            await engine.dispose()

    users = asyncio.run(ids())
    admin_token = mint_token(users["admin"], settings=s, ttl=timedelta(days=7))
    user_name = next(n for n in users if n != "admin")
    user_token = mint_token(users[user_name], settings=s, ttl=timedelta(days=7))
    base = f"http://{args.host}:{args.port}/graphql"
    print(f"\nadmin token:\n  {admin_token}\nuser token ({user_name}):\n  {user_token}\n")
    print("try:")
    print(
        f"  curl -s {base} -H 'Content-Type: application/json' -H 'Authorization: Bearer {admin_token}' "
        "-d '{\"query\": \"{ dashboardStats { today { requests cost } allTime { totalTokens } } }\"}'"
    )
    print(f"\nGraphiQL: open {base} in a browser and add the header "
          '{"Authorization": "Bearer <token>"} in its Headers tab.\n')
    if args.no_serve:
        return 0
    _serve(s, args.host, args.port, 1)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="statsgraph", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    d = sub.add_parser("demo", help="build a SQLite demo database, print tokens, serve GraphiQL")
    d.add_argument("--database", default=DEMO_DB)
    d.add_argument("--requests", type=int, default=50_000)
    d.add_argument("--days", type=int, default=90)
    d.add_argument("--rebuild", action="store_true")
    d.add_argument("--host", default="127.0.0.1")
    d.add_argument("--port", type=int, default=8000)
    d.add_argument("--no-serve", action="store_true", help="build and print tokens only")
    d.set_defaults(func=cmd_demo)

    s = sub.add_parser("serve", help="serve the API")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--workers", type=int, default=1)
    s.set_defaults(func=cmd_serve)

    a = sub.add_parser("aggregate", help="aggregate closed days into the stats_* tables")
    a.add_argument("--backfill", type=int, metavar="DAYS", help="recompute the last DAYS closed days")
    a.set_defaults(func=cmd_aggregate)

    db = sub.add_parser("db", help="database set-up")
    dbsub = db.add_subparsers(dest="db_command", required=True)
    init = dbsub.add_parser(
        "init", help="create missing tables, copy rows from earlier table names, list missing indexes"
    )
    init.add_argument(
        "--create-indexes", action="store_true",
        help="also create the indexes statsgraph needs beyond Aether's own (CONCURRENTLY on PostgreSQL)",
    )
    init.set_defaults(func=cmd_db_init)

    t = sub.add_parser("token", help="mint an access token for development")
    t.add_argument("--user", required=True, help="username")
    t.add_argument("--hours", type=float, default=24)
    t.add_argument("--demo", action="store_true", help="sign with the demo secret")
    t.set_defaults(func=cmd_token)

    sub.add_parser("export-schema", help="print the GraphQL SDL").set_defaults(func=cmd_export_schema)

    m = sub.add_parser("export-manifest", help="print the persisted-operation manifest (hash → document)")
    m.add_argument("--operations", default="operations", help="folder of *.graphql operations")
    m.set_defaults(func=cmd_export_manifest)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ValueError as exc:
        print(f"statsgraph: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
