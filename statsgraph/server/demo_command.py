"""`statsgraph demo`: build (or reuse) the demo database, print sign-in links, serve."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from .cli_checks import (
    ConfigError,
    missing_tables,
    require_port_free,
    settings_from_env,
)
from .run_commands import aggregate_days, serve
from .settings import DEFAULT_DATABASE_FILE


async def demo_state(url: str) -> str:
    """"demo" (built by the demo), "empty" (no tables) or "other" (tables, not the demo's)."""
    from sqlalchemy import select

    from ..db.engine import make_engine, make_session_factory
    from ..db.models import User

    engine = make_engine(url)
    try:
        missing = await missing_tables(engine)
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
        require_port_free(args.host, args.port)
    path = Path(args.database).resolve()
    url = f"sqlite+aiosqlite:///{path}"
    s = settings_from_env(database_url=url, demo_mode=True, log_format="text")
    state = asyncio.run(demo_state(url)) if path.exists() else "missing"
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
        aggregate_days(url, s.app_timezone, None, s.rollup_recheck_hours)
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
    serve(s, args.host, args.port, 1)
    return 0


# --- argument types: refused by argparse with a usage line and exit code 2 --------------------


__all__ = ["cmd_demo", "demo_state"]
