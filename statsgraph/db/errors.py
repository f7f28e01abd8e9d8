"""Telling a database outage from a bug."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError

_CONNECTION_ERRORS = {
    "ConnectionDoesNotExistError", "CannotConnectNowError", "ConnectionFailureError",
    "TooManyConnectionsError", "InterfaceError", "PostgresConnectionError",
}


def is_database_unavailable(exc: BaseException | None) -> bool:
    """Whether an error means the database could not be reached (rather than a bug): then the
    client gets SERVICE_UNAVAILABLE and may retry."""
    seen = 0
    while exc is not None and seen < 8:
        seen += 1
        if isinstance(exc, DBAPIError) and exc.connection_invalidated:
            return True
        if isinstance(exc, OSError | ConnectionError | TimeoutError):
            return True
        if type(exc).__name__ in _CONNECTION_ERRORS:
            return True
        if "unable to open database file" in str(exc):
            return True
        exc = getattr(exc, "orig", None) or exc.__cause__
    return False


__all__ = ["is_database_unavailable"]
