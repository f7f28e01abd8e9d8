"""Per-request dataloaders: every lookup a list of objects needs is batched into one statement.

Created with the request's context, never at import time, so nothing they hold outlives the
request or crosses from one viewer to another. Each batch opens its own short session, since
sibling resolvers run concurrently and one AsyncSession refuses concurrent use."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from aiodataloader import DataLoader
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ..core.calendar import BusinessCalendar, Window
from ..core.figures import DayFigures, ModelDay
from ..core.scope import GlobalScope, Scope, UserScope
from ..db.own_tables import OwnTablesState, is_missing_own_table
from ..db.queries.coverage import aggregated_days
from ..db.queries.days import Figures, day_figures
from ..db.queries.filters import CandidateIndex
from ..db.queries.model_days import model_days
from ..db.queries.usage_rollups import HOUR, rolled_hours, windows_of
from ..db.setup import IndexState
from .entity_loaders import (
    ApiKeyByIdLoader,
    ProviderByKeyLoader,
    ProviderCountKey,
    ProviderKey,
    RequestCountByProviderLoader,
    UserByIdLoader,
)

# How far back provider status counts requests; the rolled-up hours a request looks up cover it.
RECENT = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class WindowKey:
    scope: Scope
    window: Window
    figures: Figures = Figures.FULL
    # Per-day distinct models and providers: the daily report shows them, totals do not.
    distinct_counts: bool = True
    # Fallback counts (read from request_candidates): only when a fallback figure is selected.
    fallbacks: bool = True


@dataclass(frozen=True, slots=True)
class ModelDayKey:
    scope: Scope
    day: date


class Loaders:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        calendar: BusinessCalendar,
        own_tables: OwnTablesState | None = None,
        indexes: IndexState | None = None,
    ) -> None:
        self._sessions = sessions
        self._calendar = calendar
        self._own_tables = own_tables or OwnTablesState()
        self._indexes = indexes or IndexState()
        self._coverage: dict[tuple[Scope, Figures], asyncio.Future[frozenset[date]]] = {}
        self._rolled: asyncio.Future[list[datetime]] | None = None
        self.open_days = OpenDays(self)
        self.day_figures = DayFiguresByWindowLoader(self)
        self.model_days = ModelDaysByDayLoader(self)
        self.users = UserByIdLoader(sessions)
        self.api_keys = ApiKeyByIdLoader(sessions)
        self.providers = ProviderByKeyLoader(sessions)
        self.provider_counts = RequestCountByProviderLoader(sessions, self.rolled_since)

    @property
    def calendar(self) -> BusinessCalendar:
        return self._calendar

    @property
    def candidates(self) -> CandidateIndex:
        return self._indexes.candidates

    def session(self) -> AsyncSession:
        return self._sessions()

    async def coverage(self, scope: Scope, window: Window, figures: Figures = Figures.FULL) -> frozenset[date]:
        """Pre-aggregated days of the scope; one statement per scope (and, for a user, per
        pre-aggregate) and request, none when the window holds no closed day."""
        if window.start is not None and window.start >= self._calendar.today_start():
            return frozenset()
        if isinstance(scope, GlobalScope):
            figures = Figures.FULL  # one global pre-aggregate serves both
        key = (scope, figures)
        fut = self._coverage.get(key)
        if fut is None:
            fut = asyncio.get_running_loop().create_future()
            self._coverage[key] = fut
            try:
                fut.set_result(await self._aggregated_days(scope, figures))
            except BaseException as exc:
                fut.set_exception(exc)
                del self._coverage[key]
                raise
        return await fut

    async def rolled_today(self) -> tuple[Window, ...]:
        """Today's rolled-up UTC hours, joined into windows. The open day reads them from the
        hourly rollup and only the rest of its rows raw."""
        cal = self._calendar
        start, end = cal.today_start(), cal.day_start(cal.today() + timedelta(days=1))
        return tuple(Window(a, b) for a, b in windows_of(
            [h for h in await self._recent_hours() if start <= h and h + HOUR <= end]
        ))

    async def rolled_since(self, since: datetime) -> tuple[Window, ...]:
        """The rolled-up hours starting at or after `since` (within the last day), as windows."""
        return tuple(Window(a, b) for a, b in windows_of([h for h in await self._recent_hours() if h >= since]))

    async def _recent_hours(self) -> list[datetime]:
        """Rolled-up hours from the start of today or of the last 24 hours, whichever is
        earlier, to the end of today: one statement per request, whoever asks first."""
        if self._rolled is None:
            self._rolled = asyncio.ensure_future(self._read_recent_hours())
        return await self._rolled

    async def _read_recent_hours(self) -> list[datetime]:
        cal = self._calendar
        start = min(cal.today_start(), cal.now() - RECENT)
        async with self.session() as session:
            return await rolled_hours(session, start, cal.day_start(cal.today() + timedelta(days=1)))

    async def _aggregated_days(self, scope: Scope, figures: Figures) -> frozenset[date]:
        # A user's FULL figures and model rows live in statsgraph's own tables, which an
        # Aether database may lack: then they are read raw (no pre-aggregated day).
        own_tables = isinstance(scope, UserScope) and figures is Figures.FULL
        if own_tables and self._own_tables.assumed_missing():
            return frozenset()
        try:
            async with self.session() as session:
                return await aggregated_days(
                    session, scope=scope, calendar=self._calendar, detailed=figures is Figures.FULL
                )
        except DBAPIError as exc:
            if own_tables and is_missing_own_table(exc):
                self._own_tables.mark_missing()
                return frozenset()
            raise


class DayFiguresByWindowLoader(DataLoader[WindowKey, dict[date, DayFigures]]):
    def __init__(self, loaders: Loaders) -> None:
        super().__init__()
        self._loaders = loaders

    async def batch_load_fn(self, keys: Sequence[WindowKey]) -> list[dict[date, DayFigures]]:
        # Each window is its closed days plus, when it reaches today, the open day, which all
        # windows of a scope share (one computation per request, see OpenDays).
        cal = self._loaders.calendar
        open_days = self._loaders.open_days
        parts = [split_open_day(k, cal) for k in keys]
        # A window alone in reaching its scope's open day, with none computed yet, keeps it in
        # its own statement (no extra one); its open day is then published for later windows.
        reaching: dict[Scope, list[int]] = defaultdict(list)
        for i, (key, (_, needs)) in enumerate(zip(keys, parts)):
            if needs is not None:
                reaching[key.scope].append(i)
        whole: dict[int, OpenDayNeeds] = {}
        for scope, found_at in reaching.items():
            only = found_at[0]
            needs = parts[only][1]
            if len(found_at) == 1 and needs is not None and not open_days.has(scope, needs):
                whole[only] = needs
                parts[only] = (keys[only], None)
        started = open_days.start([(k.scope, needs) for k, (_, needs) in zip(keys, parts) if needs is not None])
        # Coverage and the open day first: holding this batch's connection while waiting for
        # another one deadlocks a busy pool.
        coverage = [
            frozenset() if closed is None else await self._loaders.coverage(k.scope, closed.window, k.figures)
            for k, (closed, _) in zip(keys, parts)
        ]
        opened = {scope: await fut for scope, fut in started.items()}
        # A window holding the open day in its own statement reads today's rolled-up hours.
        rolled = await self._loaders.rolled_today() if whole else ()
        out = []
        async with self._loaders.session() as session:
            for i, (key, (closed, needs), covered) in enumerate(zip(keys, parts, coverage)):
                found: dict[date, DayFigures] = {}
                if closed is not None:
                    found = await day_figures(
                        session, scope=closed.scope, window=closed.window,
                        calendar=cal, covered=covered, figures=closed.figures,
                        distinct_counts=closed.distinct_counts, fallbacks=closed.fallbacks,
                        rolled=rolled if i in whole else (), candidates=self._loaders.candidates,
                    )
                if needs is not None:
                    found = {**found, **opened[key.scope]}
                if i in whole:
                    today = cal.today()
                    open_days.publish(key.scope, whole[i], {today: found[today]} if today in found else {})
                out.append(found)
        return out


# --- The open day, once per request -----------------------------------------------------------
# Today, this month, all time, the daily series and the health block all reach into the open
# business day, which has no daily pre-aggregate: it is read from its rolled-up hours and raw
# rows for the rest. Each window is split into
# its closed days (pre-aggregates plus raw rows, per window) and the open day, computed once per
# scope and request with the union of the figures its windows need.


@dataclass(frozen=True, slots=True)
class OpenDayNeeds:
    """The costly figures an open-day computation includes."""

    distinct_counts: bool
    fallbacks: bool

    def covers(self, other: OpenDayNeeds) -> bool:
        return (self.distinct_counts or not other.distinct_counts) and (self.fallbacks or not other.fallbacks)

    def union(self, other: OpenDayNeeds) -> OpenDayNeeds:
        return OpenDayNeeds(self.distinct_counts or other.distinct_counts, self.fallbacks or other.fallbacks)


def split_open_day(key: WindowKey, calendar: BusinessCalendar) -> tuple[WindowKey | None, OpenDayNeeds | None]:
    """The key's closed part (None when the window holds no closed day) and what it needs of
    the open day (None when the window does not reach today). A window that ends elsewhere
    inside today is left whole."""
    today_start = calendar.today_start()
    tomorrow_start = calendar.day_start(calendar.today() + timedelta(days=1))
    w = key.window
    if w.end <= today_start or w.end != tomorrow_start:
        return key, None
    # In a user scope Aether's counts-only pre-aggregate (BASIC) holds no fallbacks.
    fallbacks = key.fallbacks and (key.figures is Figures.FULL or not isinstance(key.scope, UserScope))
    needs = OpenDayNeeds(key.distinct_counts, fallbacks)
    if w.start is not None and w.start >= today_start:
        return None, needs
    return replace(key, window=Window(w.start, today_start)), needs


class OpenDays:
    """The open day's figures per scope, shared by every window of a request that reaches it.

    A computation is reused by any later need it covers; a batch asks once per scope with the
    union of its keys' needs. Each computation opens its own short session."""

    def __init__(self, loaders: Loaders) -> None:
        self._loaders = loaders
        self._done: dict[Scope, list[tuple[OpenDayNeeds, asyncio.Future[dict[date, DayFigures]]]]] = {}

    def start(
        self, wanted: Sequence[tuple[Scope, OpenDayNeeds]]
    ) -> dict[Scope, asyncio.Future[dict[date, DayFigures]]]:
        union: dict[Scope, OpenDayNeeds] = {}
        for scope, needs in wanted:
            union[scope] = union[scope].union(needs) if scope in union else needs
        return {scope: self._future(scope, needs) for scope, needs in union.items()}

    def has(self, scope: Scope, needs: OpenDayNeeds) -> bool:
        return any(have.covers(needs) for have, _ in self._done.get(scope, []))

    def publish(self, scope: Scope, needs: OpenDayNeeds, figures: dict[date, DayFigures]) -> None:
        """The open day as a window's own statement computed it, for later windows to share."""
        fut: asyncio.Future[dict[date, DayFigures]] = asyncio.get_running_loop().create_future()
        fut.set_result(figures)
        self._done.setdefault(scope, []).append((needs, fut))

    def _future(self, scope: Scope, needs: OpenDayNeeds) -> asyncio.Future[dict[date, DayFigures]]:
        for have, fut in self._done.get(scope, []):
            if have.covers(needs):
                return fut
        fut = asyncio.ensure_future(self._compute(scope, needs))
        self._done.setdefault(scope, []).append((needs, fut))
        fut.add_done_callback(lambda f: self._forget_failed(scope, f))
        return fut

    def _forget_failed(self, scope: Scope, fut: asyncio.Future[dict[date, DayFigures]]) -> None:
        if fut.cancelled() or fut.exception() is not None:
            self._done[scope] = [(n, f) for n, f in self._done.get(scope, []) if f is not fut]

    async def _compute(self, scope: Scope, needs: OpenDayNeeds) -> dict[date, DayFigures]:
        cal = self._loaders.calendar
        rolled = await self._loaders.rolled_today()
        async with self._loaders.session() as session:
            return await day_figures(
                session, scope=scope, window=cal.day_window(cal.today()), calendar=cal,
                covered=frozenset(), figures=Figures.FULL, distinct_counts=needs.distinct_counts,
                fallbacks=needs.fallbacks, rolled=rolled, candidates=self._loaders.candidates,
            )


class ModelDaysByDayLoader(DataLoader[ModelDayKey, list[ModelDay]]):
    """One statement per scope covering the span of the requested days."""

    def __init__(self, loaders: Loaders) -> None:
        super().__init__()
        self._loaders = loaders

    async def batch_load_fn(self, keys: Sequence[ModelDayKey]) -> list[list[ModelDay]]:
        by_scope: dict[Scope, list[date]] = defaultdict(list)
        for k in keys:
            by_scope[k.scope].append(k.day)
        found: dict[tuple[Scope, date], list[ModelDay]] = defaultdict(list)
        cal = self._loaders.calendar
        windows = {scope: cal.days_window(min(days), max(days)) for scope, days in by_scope.items()}
        # A user's model rows are written with their detail rows: the same (FULL) coverage.
        coverage = {scope: await self._loaders.coverage(scope, w) for scope, w in windows.items()}
        today = cal.today()
        rolled = await self._loaders.rolled_today() if any(k.day == today for k in keys) else ()
        async with self._loaders.session() as session:
            for scope, window in windows.items():
                covered = coverage[scope]
                for row in await model_days(
                    session, scope=scope, window=window, calendar=cal, covered=covered, rolled=rolled
                ):
                    found[(scope, row.day)].append(row)
        return [found.get((k.scope, k.day), []) for k in keys]


__all__ = [
    "ApiKeyByIdLoader",
    "DayFiguresByWindowLoader",
    "Loaders",
    "ModelDayKey",
    "ModelDaysByDayLoader",
    "OpenDayNeeds",
    "OpenDays",
    "ProviderByKeyLoader",
    "ProviderKey",
    "ProviderCountKey",
    "RequestCountByProviderLoader",
    "UserByIdLoader",
    "WindowKey",
    "split_open_day",
]
