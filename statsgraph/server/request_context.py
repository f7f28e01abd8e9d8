"""Builds each request's context: request id, viewer (from the bearer token), calendar, cache."""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Awaitable, Callable

from fastapi import Request, Response

from ..db.errors import is_database_unavailable
from ..resolvers.cache import RedisCache
from ..resolvers.context import UNAVAILABLE, Context
from .auth import AuthError, authenticate, bearer_token
from .fair_sessions import per_request_sessions
from .logs import request_id_var
from .runtime import Runtime
from .settings import Settings

log = logging.getLogger("statsgraph.server")


def context_getter(settings: Settings, rt: Runtime) -> Callable[[Request, Response], Awaitable[Context]]:
    """The `context_getter` of the GraphQL router (and the legacy endpoints)."""

    cursor_key = hashlib.sha256(b"statsgraph cursor|" + settings.jwt_secret_key.encode()).digest()

    async def get_context(request: Request, response: Response) -> Context:
        supplied = request.headers.get("x-request-id", "")
        # Client-supplied ids are echoed into logs: keep them short and printable.
        request_id = supplied if 0 < len(supplied) <= 64 and supplied.isprintable() else uuid.uuid4().hex
        request_id_var.set(request_id)
        response.headers["X-Request-Id"] = request_id
        viewer, auth_error = None, None
        try:
            token = bearer_token(request.headers.get("authorization"))
            if token is not None:
                viewer = await authenticate(
                    token,
                    settings=settings,
                    sessions=rt.sessions,
                    shared=rt.shared if isinstance(rt.shared, RedisCache) else None,
                )
        except AuthError as exc:
            auth_error = str(exc)
            log.info("request %s: token refused: %s", request_id, exc)
        except Exception as exc:  # noqa: BLE001 - classified below, never shown to the client
            if is_database_unavailable(exc):
                auth_error = UNAVAILABLE
                log.warning("request %s: authentication could not reach the database", request_id, exc_info=True)
            else:
                auth_error = "token could not be checked"
                log.error("request %s: authentication failed", request_id, exc_info=True)
        ctx = Context(
            ttls=rt.ttls(),
            calendar=rt.calendar(),
            sessions=per_request_sessions(rt.sessions, settings.db_sessions_per_request),
            cache=rt.cache,
            viewer=viewer,
            auth_error=auth_error,
            request_id=request_id,
            own_tables=rt.own_tables,
            indexes=rt.indexes,
            cursor_key=cursor_key,
        )
        return ctx

    return get_context


__all__ = ["context_getter"]
