"""Expensive documents run off the serving loop.

One event loop serves every request. A document near the cost limit spends most of a second in
pure Python (graphql-core completes a resolved list without yielding), and every request sharing
that loop waits for it. So a document that costs at least `EXPENSIVE_QUERY_COST` runs on a thread
of its own, with its own event loop, engine and Redis connections: the interpreter hands the
processor between threads every few milliseconds, so small requests keep answering while it runs.
Expensive documents queue behind each other on that thread, never in front of small ones.

Authentication, the request's context and the answer stay on the serving loop; the lane gets
the request's context rebuilt for its own loop (`Context.moved`) and the same in-process cache."""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
from collections.abc import Awaitable, Callable, Mapping
from functools import lru_cache
from typing import Any, TypeVar

from graphql import DocumentNode, parse
from strawberry import Schema
from strawberry.schema.base import BaseSchema
from strawberry.types import ExecutionResult

from ..resolvers.cache import RedisCache
from ..resolvers.context import Context
from ..schema.cost import query_cost
from .fair_sessions import per_request_sessions
from .runtime import Runtime, sibling_runtime

log = logging.getLogger("statsgraph.server")

T = TypeVar("T")
# Expensive documents run one after another's statements on the lane; two connections let one
# fetch while another's results are being completed.
LANE_POOL_SIZE = 2
SWITCH_INTERVAL_SECONDS = 0.001


class ExpensiveLane:
    def __init__(self, rt: Runtime, *, min_cost: int, max_tokens: int,
                 on_run: Callable[[], None] = lambda: None) -> None:
        self._rt = rt
        self._min_cost = min_cost
        self._on_run = on_run
        self._start = threading.Lock()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lane_rt: Runtime | None = None

        @lru_cache(maxsize=256)
        def parsed(query: str) -> DocumentNode | None:
            try:
                return parse(query, max_tokens=max_tokens)
            except Exception:  # noqa: BLE001 - the schema reports a bad document where it runs
                return None

        self._parsed = parsed

    @property
    def enabled(self) -> bool:
        return self._min_cost > 0

    def is_expensive(self, schema: BaseSchema, query: str | None, variables: Any, operation_name: str | None) -> bool:
        if not self.enabled or not query:
            return False
        document = self._parsed(query)
        if document is None:
            return False
        clock = self._rt.clock
        try:
            cost = query_cost(
                schema._schema,  # type: ignore[attr-defined]
                document, variables if isinstance(variables, Mapping) else {},
                operation_name, clock() if clock is not None else None,
            )
        except Exception:  # noqa: BLE001 - an unvalidated document: validation refuses it where it runs
            return False
        return cost >= self._min_cost

    async def run(self, context: Context, work: Callable[[Context], Awaitable[T]]) -> T:
        """`work` with the request's context rebuilt for the lane, run on the lane's loop. The
        caller's context variables (request id, statement counters) travel with it; cancelling
        the caller (a client gone) cancels the work."""
        loop = self._started()
        self._on_run()
        future = asyncio.run_coroutine_threadsafe(self._serve(context, work), loop)
        return await asyncio.wrap_future(future)

    async def execute(self, schema: Schema, document: str, *, variables: dict[str, Any] | None,
                      context: Context) -> ExecutionResult:
        """`schema.execute`, on the lane when the document is expensive."""
        if self.is_expensive(schema, document, variables, None):
            return await self.run(
                context, lambda ctx: schema.execute(document, variable_values=variables, context_value=ctx)
            )
        return await schema.execute(document, variable_values=variables, context_value=context)

    async def _serve(self, context: Context, work: Callable[[Context], Awaitable[T]]) -> T:
        if self._lane_rt is None:
            self._lane_rt = sibling_runtime(self._rt, pool_size=LANE_POOL_SIZE)
        rt = self._lane_rt
        moved = context.moved(
            sessions=per_request_sessions(rt.sessions, rt.settings.db_sessions_per_request), cache=rt.cache
        )
        return await work(moved)

    def _started(self) -> asyncio.AbstractEventLoop:
        with self._start:
            if self._loop is None:
                ready = threading.Event()
                self._thread = threading.Thread(
                    target=self._loop_forever, args=(ready,), name="statsgraph-expensive", daemon=True
                )
                self._thread.start()
                ready.wait()
            assert self._loop is not None
            return self._loop

    def _loop_forever(self, ready: threading.Event) -> None:
        # Each hop of a small request between threads (the serving loop, aiosqlite's worker)
        # waits for the interpreter's switch interval while the lane computes: 5 ms by default,
        # several times per request. At 1 ms those waits stay small.
        sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL_SECONDS))
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def close(self, timeout: float) -> None:
        """Stops the lane within `timeout` seconds: its connections closed, its thread ended."""
        with self._start:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or thread is None:
            return
        try:
            done = asyncio.run_coroutine_threadsafe(self._dispose(), loop)
            await asyncio.wait_for(asyncio.wrap_future(done), timeout)
        except Exception as exc:  # noqa: BLE001 - shutting down: one line, then stop the loop anyway
            log.warning("expensive-document lane did not close cleanly (%s)", type(exc).__name__)
        loop.call_soon_threadsafe(loop.stop)
        await asyncio.to_thread(thread.join, timeout)

    async def _dispose(self) -> None:
        rt, self._lane_rt = self._lane_rt, None
        if rt is None:
            return
        current = asyncio.current_task()
        pending = [t for t in asyncio.all_tasks() if t is not current]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        if isinstance(rt.shared, RedisCache) and rt.shared is not self._rt.shared:
            await rt.shared.close()
        await rt.engine.dispose()


__all__ = ["ExpensiveLane"]
