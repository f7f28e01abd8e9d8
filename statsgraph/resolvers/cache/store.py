"""The process-wide side of the field cache: backend, in-flight computations, counters."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from . import codec
from .backends import SharedCache

# Cross-process stampede guard: the first process to miss computes; others wait for its value
# this long before computing themselves, so at most a few compute even if the first one dies.
LOCK_SECONDS = 10.0
WAIT_STEPS = 40
WAIT_STEP_SECONDS = 0.05


@dataclass
class CacheCounters:
    hits: dict[str, int] = field(default_factory=dict)
    misses: dict[str, int] = field(default_factory=dict)

    def count(self, table: dict[str, int], name: str) -> None:
        table[name] = table.get(name, 0) + 1


@dataclass(frozen=True, slots=True)
class Cached:
    data: Any
    computed_at: datetime
    hit: bool


# Values larger than this are neither written nor read: a shared Redis cannot make a request
# decode tens of megabytes.
MAX_VALUE_BYTES = 2 * 1024 * 1024

Decode = Callable[[Any], Any]


def _as_is(data: Any) -> Any:
    return data


class FieldCacheStore:
    def __init__(
        self, backend: SharedCache, version: str, *, max_value_bytes: int = MAX_VALUE_BYTES,
        counters: CacheCounters | None = None,
    ) -> None:
        self.backend = backend
        self.version = version
        self.max_value_bytes = max_value_bytes
        self.counters = counters or CacheCounters()
        self._inflight: dict[str, asyncio.Future[Cached]] = {}

    def key(self, *parts: str) -> str:
        return "statsgraph:field:" + self.version + ":" + ":".join(parts)

    async def get_or_compute(
        self, key: str, ttl: float, compute: Callable[[], Awaitable[Any]], name: str, decode: Decode = _as_is,
        *, computed_as_decoded: bool = False,
    ) -> Cached:
        """The value under `key`, decoded by `decode` (which raises on a value of the wrong
        shape); a value that does not decode is a miss, and is overwritten by the computed one.

        A miss answers with what `decode` makes of the stored form, so a hit and a miss give the
        same objects; with `computed_as_decoded` the caller vouches that the computed value is
        already that (a large report is then not decoded again), and a TTL of 0 stores nothing."""
        found = await self._read(key, decode)
        if found is not None:
            self.counters.count(self.counters.hits, name)
            return found
        pending = self._inflight.get(key)
        if pending is not None:
            # Someone in this process is computing it already: share the answer.
            self.counters.count(self.counters.hits, name)
            return await asyncio.shield(pending)
        fut: asyncio.Future[Cached] = asyncio.get_running_loop().create_future()
        self._inflight[key] = fut
        try:
            result = await self._compute_once(key, ttl, compute, name, decode, computed_as_decoded)
            fut.set_result(result)
            return result
        except BaseException as exc:
            fut.set_exception(exc)
            fut.exception()  # retrieved here so a waiter-less failure is not reported twice
            raise
        finally:
            del self._inflight[key]

    async def _compute_once(
        self, key: str, ttl: float, compute: Callable[[], Awaitable[Any]], name: str, decode: Decode,
        computed_as_decoded: bool,
    ) -> Cached:
        lock = key + ":lock"
        locked = await self.backend.try_lock(lock, LOCK_SECONDS)
        if not locked:
            for _ in range(WAIT_STEPS):
                await asyncio.sleep(WAIT_STEP_SECONDS)
                found = await self._read(key, decode)
                if found is not None:
                    self.counters.count(self.counters.hits, name)
                    return found
        try:
            self.counters.count(self.counters.misses, name)
            data = await compute()
            now = datetime.now(timezone.utc)
            if computed_as_decoded and ttl <= 0:
                return Cached(data, now, hit=False)
            raw = codec.dumps({"v": data, "at": now})
            if len(raw) <= self.max_value_bytes:
                await self.backend.set(key, raw, ttl)
            if computed_as_decoded:
                return Cached(data, now, hit=False)
            return Cached(decode(codec.loads(raw)["v"]), now, hit=False)
        finally:
            if locked:
                await self.backend.unlock(lock)

    async def _read(self, key: str, decode: Decode) -> Cached | None:
        raw = await self.backend.get(key)
        if raw is None or len(raw) > self.max_value_bytes:
            return None
        try:
            item = codec.loads(raw)
            at = item["at"]
            if not isinstance(at, datetime):
                return None
            return Cached(decode(item["v"]), at, hit=True)
        except Exception:  # noqa: BLE001 - whatever is wrong with a cached value, it is a miss
            return None


__all__ = ["Cached", "FieldCacheStore"]
