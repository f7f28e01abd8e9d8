"""The `statsgraph` command.

Every command reads its settings from the environment (or a `.env` file): DATABASE_URL
(default sqlite:///./statsgraph.db, the file `statsgraph demo` builds), JWT_SECRET_KEY,
APP_TIMEZONE and the others listed in the README. A setting that cannot work is reported in one
line, with exit code 2.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sys
from pathlib import Path
from typing import Any

from .settings import DEFAULT_DATABASE_FILE

EXIT_USAGE = 2


class ConfigError(Exception):
    """A setting or argument that cannot work: one line for the operator, exit code 2."""


def _settings(**overrides: object):  # noqa: ANN202
    from .settings import Settings

    return Settings(**overrides)  # type: ignore[arg-type]


def _one_line(exc: Exception) -> str:
    """A pydantic ValidationError (or any ValueError) as one line naming the settings; never the
    input values, which may hold a password."""
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    parts = []
    for error in errors():
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        names = [str(p).upper() for p in error.get("loc", ())]
        # Our validators name the setting themselves.
        parts.append(message if not names or message.startswith(names[0]) else f"{'.'.join(names)}: {message}")
    return "; ".join(parts)


def _sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for another database or an in-memory one)."""
    from sqlalchemy import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def _require_database(url: str) -> None:
    """Commands that read a database refuse a missing SQLite file instead of creating an empty
    one (SQLite creates any file it is asked to open)."""
    path = _sqlite_path(url)
    if path is not None and not path.exists():
        raise ConfigError(
            f"no database at {path} (DATABASE_URL): point DATABASE_URL at Aether's database, or run "
            "`statsgraph demo` in this folder to build the demo one"
        )


async def _missing_tables(engine: Any) -> list[str]:
    from .app import missing_aether_tables

    async with engine.connect() as conn:
        return await missing_aether_tables(conn)


def _require_tables(missing: list[str], url: str) -> None:
    if missing:
        where = _sqlite_path(url) or "DATABASE_URL"
        raise ConfigError(
            f"{where} lacks Aether's tables {', '.join(missing)}: point DATABASE_URL at Aether's "
            "database, or run `statsgraph demo` (or `statsgraph db init` for an empty one)"
        )


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
            _require_tables(await _missing_tables(engine), database_url)
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
    _require_database(s.database_url)
    _aggregate(s.database_url, s.app_timezone, args.backfill)
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    from datetime import timedelta

    from sqlalchemy import select

    from ..db.engine import make_engine, make_session_factory
    from ..db.models import User
    from .auth import mint_token

    s = _settings(demo_mode=args.demo) if args.demo else _settings()
    try:
        s.require_jwt_secret()
    except ValueError as exc:
        raise ConfigError(f"{exc}; for the demo's database pass --demo") from None
    _require_database(s.database_url)

    async def find() -> tuple[str, bool, bool] | None:
        engine = make_engine(s.database_url)
        try:
            _require_tables(await _missing_tables(engine), s.database_url)
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


def _serve(settings, host: str, port: int, workers: int) -> None:  # noqa: ANN001
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


def cmd_serve(args: argparse.Namespace) -> int:
    s = _settings()
    s.require_jwt_secret()
    _require_database(s.database_url)
    _require_port_free(args.host, args.port)
    _serve(s, args.host, args.port, args.workers)
    return 0


def _require_port_free(host: str, port: int) -> None:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise ConfigError(f"--host {host!r} does not resolve ({exc.strerror or exc})") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise ConfigError(
                f"cannot listen on {host}:{port} ({exc.strerror or exc}): pass another --port, "
                "or stop what is using it"
            ) from None


async def _demo_state(url: str) -> str:
    """"demo" (built by the demo), "empty" (no tables) or "other" (tables, not the demo's)."""
    from sqlalchemy import select

    from ..db.engine import make_engine, make_session_factory
    from ..db.models import User

    engine = make_engine(url)
    try:
        missing = await _missing_tables(engine)
        from .app import AETHER_TABLES

        if set(missing) == set(AETHER_TABLES):
            return "empty"
        if missing:
            return "other"
        async with make_session_factory(engine)() as session:
            names = set((await session.execute(
                select(User.username).where(User.username.in_(["admin", "alice"]))
            )).scalars())
        return "demo" if names == {"admin", "alice"} else "other"
    finally:
        await engine.dispose()


def cmd_demo(args: argparse.Namespace) -> int:
    from datetime import timedelta

    from ..db.engine import make_engine
    from ..db.setup import init_database
    from ..demo.generator import generate_demo
    from .auth import mint_token
    from .progress import progress_bar

    if not args.no_serve:
        # Before minutes of generating: a busy port would only show up at the very end.
        _require_port_free(args.host, args.port)
    path = Path(args.database).resolve()
    url = f"sqlite+aiosqlite:///{path}"
    s = _settings(database_url=url, demo_mode=True, log_format="text")
    state = asyncio.run(_demo_state(url)) if path.exists() else "missing"
    if state == "other":
        raise ConfigError(
            f"{path} holds a database that the demo did not build; it is left alone: pass "
            "--database with another file"
        )
    if args.rebuild and state == "demo":
        path.unlink()
        state = "missing"
    if state in ("missing", "empty"):
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
    origin = f"http://{args.host}:{args.port}"
    base = f"{origin}/graphql"
    default_db = Path(DEFAULT_DATABASE_FILE).resolve() == path
    print(f"\nadmin token:\n  {admin_token}\nuser token ({user_name}):\n  {user_token}\n")
    # The token rides in the fragment, which the browser keeps to itself.
    print("dashboard (each link signs in; the token never reaches the server's logs):")
    print(f"  admin:        {origin}/#token={admin_token}")
    print(f"  {user_name + ':':<13} {origin}/#token={user_token}")
    print(f"GraphiQL:       {base}  (paste a token into its Token field)\n")
    print("try:")
    print(
        f"  curl -s {base} -H 'Content-Type: application/json' -H 'Authorization: Bearer {admin_token}' "
        "-d '{\"query\": \"{ dashboardStats { today { requests cost } allTime { totalTokens } } }\"}'"
    )
    print("\nother commands on this database:")
    env = "" if default_db else f"DATABASE_URL=sqlite:///{path} "
    if default_db:
        print(f"  (run them in this folder: DATABASE_URL defaults to ./{DEFAULT_DATABASE_FILE})")
    else:
        print(f"  DATABASE_URL=sqlite:///{path}")
    print(f"  {env}statsgraph token --demo --user {user_name}   # --demo: signed with the demo's secret")
    print(f"  {env}statsgraph aggregate")
    print("a frontend on another origin (say a dev server on port 5173) must be allowed to call the API:")
    print(f"  CORS_ORIGINS='[\"http://localhost:5173\"]' statsgraph demo --port {args.port}\n")
    if args.no_serve:
        return 0
    _serve(s, args.host, args.port, 1)
    return 0


# --- argument types: refused by argparse with a usage line and exit code 2 --------------------


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
        print(f"statsgraph: {_one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    raise SystemExit(main())
