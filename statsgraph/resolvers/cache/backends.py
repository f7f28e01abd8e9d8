"""Where cached figures live: in this process (TTL + size bound), or in Redis (shared).

Redis trouble is never an outage: every call has a short timeout, and after a failure a breaker
keeps the process away from Redis for a while, logging one warning rather than one per request.

The breaker covers cache reads and writes only. The logout-list lookup (`logout_listed`) has a
small connection pool of its own, so cache traffic cannot starve it, and it never consults or
trips the breaker: each lookup either reaches Redis or raises for that one request."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import OrderedDict
from typing import Protocol

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

log = logging.getLogger(__name__)


class LogoutListUnavailable(Exception):
    """The logout list could not be read for this request."""


class SharedCache(Protocol):
    async def get(self, key: str) -> bytes | None: ...
    async def set(self, key: str, value: bytes, ttl: float) -> None: ...
    async def exists(self, key: str) -> bool: ...
    async def logout_listed(self, key: str) -> bool: ...
    async def try_lock(self, key: str, ttl: float) -> bool: ...
    async def unlock(self, key: str) -> None: ...
    @property
    def name(self) -> str: ...


class MemoryCache:
    name = "memory"

    def __init__(self, max_entries: int = 10_000, max_bytes: int = 64 * 1024 * 1024) -> None:
        # Bounded by entries and by bytes: a few large values cannot grow the process either.
        self._max = max_entries
        self._max_bytes = max_bytes
        self._bytes = 0
        self._data: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        # The serving loop and the lane for expensive documents run on two threads of one process.
        self._lock = threading.Lock()

    async def get(self, key: str) -> bytes | None:
        with self._lock:
            item = self._data.get(key)
            if item is None:
                return None
            expires, value = item
            if expires <= time.monotonic():
                self._drop(key)
                return None
            self._data.move_to_end(key)
            return value

    def _drop(self, key: str) -> None:
        item = self._data.pop(key, None)
        if item is not None:
            self._bytes -= len(item[1])

    async def set(self, key: str, value: bytes, ttl: float) -> None:
        if len(value) > self._max_bytes:
            return
        with self._lock:
            self._drop(key)
            self._data[key] = (time.monotonic() + ttl, value)
            self._bytes += len(value)
            while len(self._data) > self._max or self._bytes > self._max_bytes:
                _key, (_exp, old) = self._data.popitem(last=False)
                self._bytes -= len(old)

    @property
    def size_bytes(self) -> int:
        return self._bytes

    async def exists(self, key: str) -> bool:
        return await self.get(key) is not None

    async def logout_listed(self, key: str) -> bool:
        return await self.exists(key)

    async def try_lock(self, key: str, ttl: float) -> bool:
        # One process: the in-flight table of the field cache already serialises misses.
        return True

    async def unlock(self, key: str) -> None:
        return None

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self._bytes = 0


class RedisCache:
    name = "redis"

    def __init__(
        self,
        url: str,
        *,
        socket_timeout: float = 0.25,
        breaker_seconds: float = 15.0,
        max_connections: int = 64,
        auth_connections: int = 8,
    ) -> None:
        def client(size: int) -> Redis:
            # A blocking pool: past `size` connections a call waits (up to the socket timeout)
            # for a free one rather than failing at once, so a burst queues instead of erroring.
            pool = BlockingConnectionPool.from_url(
                url,
                max_connections=size,
                timeout=socket_timeout,
                socket_timeout=socket_timeout,
                socket_connect_timeout=socket_timeout,
                # One immediate retry on a fresh connection: after a Redis restart the pooled
                # connections are dead, and the first use of each would otherwise trip the breaker.
                retry=Retry(NoBackoff(), 1),
                retry_on_error=[RedisConnectionError],
                health_check_interval=0,
            )
            return Redis(connection_pool=pool)

        self._redis = client(max_connections)
        self._auth = client(auth_connections)
        self._breaker_seconds = breaker_seconds
        self._open_until = 0.0
        # Reads asked for in one turn of an event loop, per loop: key → the futures awaiting it.
        self._waiting: dict[asyncio.AbstractEventLoop, dict[str, list[asyncio.Future[bytes | None]]]] = {}
        self._reading: set[asyncio.Task[None]] = set()

    @property
    def available(self) -> bool:
        return time.monotonic() >= self._open_until

    def _trip(self, exc: Exception) -> None:
        if self.available:
            log.warning(
                "Redis unavailable (%s: %s); serving from the database for %.1fs",
                type(exc).__name__, exc, self._breaker_seconds,
            )
        self._open_until = time.monotonic() + self._breaker_seconds

    async def _call(self, method: str, *args: object, **kwargs: object) -> object:
        if not self.available:
            return None
        try:
            return await getattr(self._redis, method)(*args, **kwargs)
        except (RedisError, OSError, TimeoutError) as exc:
            self._trip(exc)
            return None

    async def get(self, key: str) -> bytes | None:
        # The sibling fields of an answer ask for their keys in the same turn of the loop: they
        # are read together by one MGET, one round trip instead of one per field.
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[bytes | None] = loop.create_future()
        waiting = self._waiting.get(loop)
        if waiting is None:
            waiting = self._waiting[loop] = {}
            loop.call_soon(self._start_reading, loop)
        waiting.setdefault(key, []).append(fut)
        return await fut

    def _start_reading(self, loop: asyncio.AbstractEventLoop) -> None:
        task = loop.create_task(self._read_waiting(self._waiting.pop(loop)))
        self._reading.add(task)  # held until done: the loop keeps only a weak reference
        task.add_done_callback(self._reading.discard)

    async def _read_waiting(self, waiting: dict[str, list[asyncio.Future[bytes | None]]]) -> None:
        keys = list(waiting)
        try:
            values = await self._call("mget", keys)
        except BaseException as exc:
            # Nobody may be left waiting: each reader gets the failure (or the cancellation).
            for futures in waiting.values():
                for fut in futures:
                    if not fut.done():
                        fut.cancel() if isinstance(exc, asyncio.CancelledError) else fut.set_exception(exc)
            raise
        if not isinstance(values, list) or len(values) != len(keys):
            values = [None] * len(keys)  # Redis unavailable: every read is a miss
        for key, value in zip(keys, values):
            for fut in waiting[key]:
                if not fut.done():
                    fut.set_result(value)

    async def set(self, key: str, value: bytes, ttl: float) -> None:
        await self._call("set", key, value, px=max(1, int(ttl * 1000)))

    async def exists(self, key: str) -> bool:
        return bool(await self._call("exists", key))

    async def logout_listed(self, key: str) -> bool:
        """Whether a token is on the logout list. Its own pool, no breaker: a failure here
        raises for this request only and never changes what the next request does."""
        try:
            return bool(await self._auth.exists(key))
        except (RedisError, OSError, TimeoutError) as exc:
            raise LogoutListUnavailable(f"{type(exc).__name__}: {exc}") from exc

    async def try_lock(self, key: str, ttl: float) -> bool:
        # With Redis unreachable nobody else can hold the lock either: compute.
        if not self.available:
            return True
        result = await self._call("set", key, b"1", nx=True, px=max(1, int(ttl * 1000)))
        return bool(result) or not self.available

    async def unlock(self, key: str) -> None:
        await self._call("delete", key)

    async def ping(self) -> bool:
        return bool(await self._call("ping"))

    async def close(self) -> None:
        await self._redis.aclose()
        await self._auth.aclose()
        await self._redis.connection_pool.disconnect()
        await self._auth.connection_pool.disconnect()


__all__ = ["LogoutListUnavailable", "MemoryCache", "RedisCache", "SharedCache"]
