"""The per-request context: who asks, in which scope, and the request's loaders and cache."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from strawberry.fastapi import BaseContext

from ..core.calendar import BusinessCalendar
from ..core.scope import GLOBAL, Scope, UserScope
from ..core.viewer import Viewer
from ..db.own_tables import OwnTablesState
from ..db.setup import IndexState
from .cache.store import FieldCacheStore
from .cache.ttl import TtlPolicy
from .errors import BadUserInput, Forbidden, ServiceUnavailable, Unauthenticated
from .loaders import Loaders

# `auth_error` when the token could not be checked because the database was unreachable.
UNAVAILABLE = "database unavailable"


@dataclass
class Freshness:
    """What the field cache did for this request: the response's Cache-Control and the
    `extensions.cache` block are derived from it."""

    computed_at: dict[str, str] = field(default_factory=dict)
    min_ttl: float | None = None
    user_scoped: bool = False

    def record(self, path: Any, at: datetime, ttl: float, scope: Scope, *, hit: bool) -> None:
        self.computed_at[_path_str(path)] = at.isoformat()
        self.min_ttl = ttl if self.min_ttl is None else min(self.min_ttl, ttl)
        self.user_scoped = self.user_scoped or isinstance(scope, UserScope)


def _path_str(path: Any) -> str:
    keys = []
    while path is not None:
        keys.append(str(path.key))
        path = path.prev
    return ".".join(reversed(keys))


def is_plausible_id(value: str) -> bool:
    """Ids are short printable strings (UUIDs in Aether); anything else cannot name a row and
    is refused before it reaches a driver (PostgreSQL rejects NUL bytes in text)."""
    return 0 < len(value) <= 64 and value.isprintable()


class Context(BaseContext):
    def __init__(
        self,
        *,
        ttls: TtlPolicy,
        calendar: BusinessCalendar,
        sessions: async_sessionmaker[AsyncSession],
        cache: FieldCacheStore,
        viewer: Viewer | None,
        auth_error: str | None = None,
        request_id: str = "",
        own_tables: OwnTablesState | None = None,
        indexes: IndexState | None = None,
        cursor_key: bytes = b"",
    ) -> None:
        super().__init__()
        self.ttls = ttls
        self.calendar = calendar
        self.sessions = sessions
        self.cache = cache
        self.viewer = viewer
        self.auth_error = auth_error
        self.request_id = request_id
        self.own_tables = own_tables
        self.indexes = indexes
        self.loaders = Loaders(sessions, calendar, own_tables, indexes)
        self.freshness = Freshness()
        # Signs the request log's cursors; derived from the server's secret.
        self.cursor_key = cursor_key

    def moved(self, *, sessions: async_sessionmaker[AsyncSession], cache: FieldCacheStore) -> Context:
        """The same request served from another event loop, with that loop's sessions and cache
        store; built on that loop, since loaders and in-flight tables belong to the loop that
        made them. Nothing has been resolved yet, so nothing else needs carrying over."""
        ctx = Context(
            ttls=self.ttls, calendar=self.calendar, sessions=sessions, cache=cache, viewer=self.viewer,
            auth_error=self.auth_error, request_id=self.request_id, own_tables=self.own_tables,
            indexes=self.indexes, cursor_key=self.cursor_key,
        )
        ctx.request, ctx.response, ctx.background_tasks = self.request, self.response, self.background_tasks
        return ctx

    def require_viewer(self) -> Viewer:
        if self.viewer is None and self.auth_error == UNAVAILABLE:
            raise ServiceUnavailable("The statistics database is unavailable; retry shortly.")
        if self.viewer is None:
            raise Unauthenticated(
                "Authentication required: send `Authorization: Bearer <access token>`"
                if self.auth_error is None
                else "Invalid or expired access token"
            )
        return self.viewer

    async def decide_scope(self, user_id: str | None) -> Scope:
        """The scope of a query, decided once from the viewer and its `userId` argument."""
        viewer = self.require_viewer()
        if user_id is None or user_id == viewer.id:
            return GLOBAL if (viewer.is_admin and user_id is None) else UserScope(viewer.id)
        if not viewer.is_admin:
            raise Forbidden("You may only read your own statistics")
        if not is_plausible_id(user_id) or await self.loaders.users.load(user_id) is None:
            raise BadUserInput(f"Unknown user id: {user_id[:64]!r}", argumentName="userId")
        return UserScope(user_id)

    def scope_of(self, source: Any, kwargs: dict[str, Any]) -> Scope:
        """The scope a field's data belongs to: its parent's, or the viewer's own at the root."""
        scope = getattr(source, "scope", None)
        if isinstance(scope, GLOBAL.__class__ | UserScope):
            return scope
        viewer = self.require_viewer()
        if "user_id" in kwargs:
            raise TypeError("root fields taking userId must resolve their scope themselves")
        return GLOBAL if viewer.is_admin else UserScope(viewer.id)

    def ttl_for(self, policy: str, scope: Scope, *, closed: bool) -> float:
        return self.ttls.ttl_for(policy, scope, self.calendar, closed=closed)


__all__ = ["UNAVAILABLE", "Context", "Freshness", "is_plausible_id"]
