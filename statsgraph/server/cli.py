"""The `statsgraph` command.

Every command reads its settings from the environment (or a `.env` file): DATABASE_URL
(default sqlite:///./statsgraph.db, the file `statsgraph demo` builds), JWT_SECRET_KEY,
APP_TIMEZONE and the others listed in the README. A setting that cannot work is reported in one
line, with exit code 2.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from .cli_checks import (
    EXIT_USAGE,
    ConfigError,
    missing_tables,
    one_line,
    require_database,
    require_port_free,
    require_tables,
    settings_from_env,
)
from .demo_command import cmd_demo
from .run_commands import aggregate_days, serve
from .settings import DEFAULT_DATABASE_FILE


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
        engine = make_engine(settings_from_env().database_url)
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


def cmd_aggregate(args: argparse.Namespace) -> int:
    s = settings_from_env()
    require_database(s.database_url)
    recheck = s.rollup_recheck_hours if args.recheck_hours is None else args.recheck_hours
    aggregate_days(s.database_url, s.app_timezone, args.backfill, recheck)
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    from datetime import timedelta

    from sqlalchemy import select

    from ..db.engine import make_engine, make_session_factory
    from ..db.models import User
    from .auth import mint_token

    s = settings_from_env(demo_mode=args.demo) if args.demo else settings_from_env()
    try:
        s.require_jwt_secret()
    except ValueError as exc:
        raise ConfigError(f"{exc}; for the demo's database pass --demo") from None
    require_database(s.database_url)

    async def find() -> tuple[str, bool, bool] | None:
        engine = make_engine(s.database_url)
        try:
            require_tables(await missing_tables(engine), s.database_url)
            async with make_session_factory(engine)() as session:
                row = (await session.execute(
                    select(User.id, User.is_active, User.is_deleted).where(User.username == args.user)
                )).first()
                return None if row is None else (row[0], bool(row[1]), bool(row[2]))
        finally:
            await engine.dispose()

    found = asyncio.run(find())
    if found is None:
        print(f"statsgraph: no user named {args.user!r}", file=sys.stderr)
        return 1
    user_id, active, deleted = found
    if deleted or not active:
        state = "deleted" if deleted else "inactive"
        print(f"statsgraph: user {args.user!r} is {state}: the server refuses its tokens, so none is minted",
              file=sys.stderr)
        return 1
    print(mint_token(user_id, settings=s, ttl=timedelta(hours=args.hours)))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    s = settings_from_env()
    s.require_jwt_secret()
    require_database(s.database_url)
    require_port_free(args.host, args.port)
    serve(s, args.host, args.port, args.workers)
    return 0


def _int_in(low: int, high: int | None = None) -> Any:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < low or (high is not None and value > high):
            span = f"at least {low}" if high is None else f"{low}..{high}"
            raise argparse.ArgumentTypeError(f"{value} is out of range ({span})")
        return value

    parse.__name__ = "integer"
    return parse


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text} must be a positive number")
    return value


_PORT = _int_in(1, 65535)
ENV_NOTE = (
    "Settings come from the environment (or ./.env): DATABASE_URL (default sqlite:///./statsgraph.db), "
    "JWT_SECRET_KEY, APP_TIMEZONE, REDIS_URL, CORS_ORIGINS, LOG_FORMAT, LOG_LEVEL, ... (see the README)."
)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="statsgraph", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)

    def command(name: str, help_text: str, env: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help_text, description=help_text + ".", epilog=env)

    d = command("demo", "build a SQLite demo database, print tokens and sign-in links, serve the dashboard "
                        "and GraphiQL",
                "Reads no DATABASE_URL: it builds --database and signs with a built-in demo secret "
                "(JWT_SECRET_KEY is used when set). CORS_ORIGINS allows a frontend on another origin.")
    d.add_argument("--database", default=DEFAULT_DATABASE_FILE, metavar="FILE",
                   help=f"SQLite file to build or reuse (default ./{DEFAULT_DATABASE_FILE}, the default "
                        "DATABASE_URL of every other command)")
    d.add_argument("--requests", type=_int_in(1, 10_000_000), default=50_000, metavar="N",
                   help="requests to generate (default 50000)")
    d.add_argument("--days", type=_int_in(1, 366), default=90, metavar="N",
                   help="days of traffic, today included (1..366, default 90)")
    d.add_argument("--rebuild", action="store_true", help="replace an existing demo database")
    d.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    d.add_argument("--port", type=_PORT, default=8000, help="port to listen on (1..65535, default 8000)")
    d.add_argument("--no-serve", action="store_true", help="build and print tokens only")
    d.set_defaults(func=cmd_demo)

    s = command("serve", "serve the API, the dashboard (/) and GraphiQL (/graphql)",
                "Reads DATABASE_URL, DATABASE_READ_URL, JWT_SECRET_KEY (required), REDIS_URL, APP_TIMEZONE, "
                "CORS_ORIGINS, INTROSPECTION, PERSISTED_MANIFEST, PERSISTED_ONLY and the others in the README.")
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    s.add_argument("--port", type=_PORT, default=8000, help="port to listen on (1..65535, default 8000)")
    s.add_argument("--workers", type=_int_in(1, 64), default=1,
                   help="worker processes (default 1); each reads the settings from the environment")
    s.set_defaults(func=cmd_serve)

    a = command("aggregate", "aggregate closed days into the stats_* tables",
                "Writes through DATABASE_URL; APP_TIMEZONE decides the business days.")
    a.add_argument("--backfill", type=_int_in(1, 3660), metavar="DAYS",
                   help="recompute the last DAYS closed days whatever their state (a positive number)")
    a.add_argument("--recheck-hours", type=_int_in(0, 24), metavar="HOURS",
                   help="compare rolled-up hours closed within HOURS with their rows, figure by figure "
                        "(default ROLLUP_RECHECK_HOURS, 2; older hours of the last day are only counted)")
    a.set_defaults(func=cmd_aggregate)

    db = command("db", "database set-up", "Works on DATABASE_URL.")
    dbsub = db.add_subparsers(dest="db_command", required=True)
    init = dbsub.add_parser(
        "init", help="create missing tables, copy rows from earlier table names, list missing indexes",
        epilog="Works on DATABASE_URL; creates the SQLite file when missing.",
    )
    init.add_argument(
        "--create-indexes", action="store_true",
        help="also create the indexes statsgraph needs beyond Aether's own (CONCURRENTLY on PostgreSQL)",
    )
    init.set_defaults(func=cmd_db_init)

    t = command("token", "mint an access token for development",
                "Reads DATABASE_URL to find the user and signs with JWT_SECRET_KEY (JWT_ALGORITHM); "
                "after `statsgraph demo`, pass --demo in the same folder.")
    t.add_argument("--user", required=True, help="username (an active, not deleted user)")
    t.add_argument("--hours", type=_positive_float, default=24, help="lifetime in hours (default 24)")
    t.add_argument("--demo", action="store_true", help="sign with the demo's secret instead of JWT_SECRET_KEY")
    t.set_defaults(func=cmd_token)

    command("export-schema", "print the GraphQL SDL (= schema.graphql)", "Reads no setting.").set_defaults(
        func=cmd_export_schema)

    m = command("export-manifest", "print the persisted-operation manifest (hash → document)",
                "Reads no setting; the server loads the result from PERSISTED_MANIFEST.")
    m.add_argument("--operations", default="operations", metavar="DIR",
                   help="folder of *.graphql operations (default ./operations)")
    m.set_defaults(func=cmd_export_manifest)
    p.epilog = ENV_NOTE
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ConfigError, ValueError) as exc:
        # Configuration and settings errors (pydantic's included): one line, no traceback.
        print(f"statsgraph: {one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    raise SystemExit(main())
