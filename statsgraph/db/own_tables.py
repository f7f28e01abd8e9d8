"""statsgraph's own pre-aggregate tables, which an existing Aether database may not have yet.

`statsgraph_user_daily` and `statsgraph_user_daily_model` appear when an operator runs
`statsgraph db init`. Until then every figure must still be exact: user scopes read raw rows,
and the aggregator writes Aether's tables only. Once the tables exist they are used without a
restart."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from sqlalchemy import inspect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from .models import OwnUserDaily, OwnUserDailyModel

log = logging.getLogger("statsgraph.db")

OWN_TABLE_NAMES = (OwnUserDaily.__tablename__, OwnUserDailyModel.__tablename__)


def is_missing_own_table(exc: BaseException) -> bool:
    """True for "relation … does not exist" (PostgreSQL) or "no such table" (SQLite) naming
    one of the own tables; any other failure is not ours to hide."""
    if not isinstance(exc, DBAPIError):
        return False
    message = str(exc.orig).lower()
    named = any(table in message for table in OWN_TABLE_NAMES)
    return named and ("does not exist" in message or "no such table" in message)


class OwnTablesState:
    """What this process believes about the own tables of the database it reads.

    A failed lookup marks them missing for a while, so user scopes do not pay for a failing
    statement on every request; afterwards they are tried again, and found once created."""

    RECHECK = timedelta(seconds=60)

    def __init__(self, clock: Callable[[], datetime] | None = None) -> None:
        self._clock = clock or (lambda: datetime.now(timezone.utc))
        self._missing_until: datetime | None = None

    def assumed_missing(self) -> bool:
        return self._missing_until is not None and self._clock() < self._missing_until

    def mark_missing(self) -> None:
        if not self.assumed_missing():
            log.warning(
                "tables %s are missing: user scopes are computed from raw rows (exact, slower); "
                "run `statsgraph db init` to create them", ", ".join(OWN_TABLE_NAMES),
            )
        self._missing_until = self._clock() + self.RECHECK


async def own_tables_present(conn: AsyncConnection) -> bool:
    def check(sync_conn) -> bool:  # noqa: ANN001
        inspector = inspect(sync_conn)
        return all(inspector.has_table(name) for name in OWN_TABLE_NAMES)

    return await conn.run_sync(check)


__all__ = ["OWN_TABLE_NAMES", "OwnTablesState", "own_tables_present", "is_missing_own_table"]
