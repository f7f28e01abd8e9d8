"""What the commands check before they do anything: settings, the database, the port; each
failure is one line saying what to do (exit code 2), never a traceback."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

EXIT_USAGE = 2


class ConfigError(Exception):
    """A setting or argument that cannot work: one line for the operator, exit code 2."""


def settings_from_env(**overrides: object):  # noqa: ANN202
    from .settings import Settings

    return Settings(**overrides)  # type: ignore[arg-type]


def one_line(exc: Exception) -> str:
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


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for another database or an in-memory one)."""
    from sqlalchemy import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def require_database(url: str) -> None:
    """Commands that read a database refuse a missing SQLite file instead of creating an empty
    one (SQLite creates any file it is asked to open)."""
    path = sqlite_path(url)
    if path is not None and not path.exists():
        raise ConfigError(
            f"no database at {path} (DATABASE_URL): point DATABASE_URL at Aether's database, or run "
            "`statsgraph demo` in this folder to build the demo one"
        )


async def missing_tables(engine: Any) -> list[str]:
    from .app import missing_aether_tables

    async with engine.connect() as conn:
        return await missing_aether_tables(conn)


def require_tables(missing: list[str], url: str) -> None:
    if missing:
        where = sqlite_path(url) or "DATABASE_URL"
        raise ConfigError(
            f"{where} lacks Aether's tables {', '.join(missing)}: point DATABASE_URL at Aether's "
            "database, or run `statsgraph demo` (or `statsgraph db init` for an empty one)"
        )


def require_port_free(host: str, port: int) -> None:
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


__all__ = [
    "EXIT_USAGE", "ConfigError", "missing_tables", "one_line", "require_database", "require_port_free",
    "require_tables", "settings_from_env", "sqlite_path",
]
