"""What lives as long as the process: engine, sessions, the cache backend, settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from .. import __version__
from ..core.calendar import BusinessCalendar
from ..db.engine import make_engine, make_session_factory
from ..db.own_tables import OwnTablesState
from ..db.setup import IndexState
from ..resolvers.cache import FieldCacheStore, MemoryCache, RedisCache, SharedCache
from ..resolvers.cache.store import CacheCounters
from ..resolvers.cache.ttl import TtlPolicy
from .settings import Settings

# Bumped when the meaning or shape of a cached figure changes, so old entries are never read.
CACHE_FORMAT = "1"


@dataclass
class Runtime:
    """What lives as long as the process: engine, sessions, cache, settings."""

    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    shared: SharedCache
    cache: FieldCacheStore
    clock: Callable[[], datetime] | None = None
    own_tables: OwnTablesState = field(default_factory=OwnTablesState)
    indexes: IndexState = field(default_factory=IndexState)

    def calendar(self) -> BusinessCalendar:
        # The instant is fixed once per request, so every period of one answer agrees on "today".
        cal = BusinessCalendar(self.settings.app_timezone, clock=self.clock)
        now = cal.now()
        return BusinessCalendar(self.settings.app_timezone, clock=lambda: now)

    def ttls(self) -> TtlPolicy:
        s = self.settings
        return TtlPolicy(
            dashboard_global=s.ttl_dashboard_global, dashboard_user=s.ttl_dashboard_user,
            provider_status=s.ttl_provider_status, daily_stats=s.ttl_daily_stats, analytics=s.ttl_analytics,
            closed_max=s.ttl_closed_max,
        )


def _engine(settings: Settings, *, pool_size: int | None = None) -> AsyncEngine:
    pool = {} if settings.read_url.startswith("sqlite") else {
        "pool_size": pool_size or settings.db_pool_size, "max_overflow": settings.db_max_overflow, "pool_timeout": 30,
    }
    return make_engine(settings.read_url, **pool)


def _redis(settings: Settings) -> RedisCache:
    assert settings.redis_url is not None
    return RedisCache(
        settings.redis_url,
        socket_timeout=settings.redis_socket_timeout,
        breaker_seconds=settings.redis_breaker_seconds,
        max_connections=settings.redis_max_connections,
        auth_connections=settings.redis_auth_connections,
    )


def _store(settings: Settings, shared: SharedCache, counters: CacheCounters | None = None) -> FieldCacheStore:
    version = f"{CACHE_FORMAT}:{__version__}:{settings.app_timezone}"
    return FieldCacheStore(shared, version, max_value_bytes=settings.cache_max_value_bytes, counters=counters)


def make_runtime(settings: Settings, *, clock: Callable[[], datetime] | None = None) -> Runtime:
    engine = _engine(settings)
    shared: SharedCache
    if settings.redis_url:
        shared = _redis(settings)
    else:
        shared = MemoryCache(settings.cache_max_entries, settings.cache_max_bytes)
    return Runtime(settings, engine, make_session_factory(engine), shared, _store(settings, shared), clock,
                   OwnTablesState(clock))


def sibling_runtime(rt: Runtime, *, pool_size: int) -> Runtime:
    """A runtime for another event loop of the same process (connections belong to the loop
    that opened them): its own engine and Redis connections; the same in-process cache, cache
    counters, clock, own-table and index state, so both loops serve and count one cache."""
    settings = rt.settings
    engine = _engine(settings, pool_size=pool_size)
    shared = _redis(settings) if isinstance(rt.shared, RedisCache) else rt.shared
    return Runtime(settings, engine, make_session_factory(engine), shared,
                   _store(settings, shared, rt.cache.counters), rt.clock, rt.own_tables, rt.indexes)


__all__ = ["CACHE_FORMAT", "Runtime", "make_runtime", "sibling_runtime"]
