"""Indexes statsgraph's queries need beyond Aether's own: named once at start-up and in /readyz.

Figures are exact without them, only slower (every fallback figure scans `request_candidates`
without its `created_at` index), so a missing index is a warning, never a readiness failure."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncEngine

from ..db.setup import IndexState, NeededIndex, missing_indexes

CREATE_COMMAND = "statsgraph db init --create-indexes"


def describe(index: NeededIndex) -> str:
    return f"{index.name} on {index.table} ({', '.join(index.columns)}): {index.why}"


async def missing_index_names(engine: AsyncEngine, state: IndexState) -> list[str]:
    missing = await missing_indexes(engine)
    state.note(missing)
    return [ix.name for ix in missing]


async def warn_missing_indexes(engine: AsyncEngine, state: IndexState, log: logging.Logger) -> list[NeededIndex]:
    """One warning line naming each missing index and the command that creates them; `state`
    learns them, so that queries are written for the indexes there are. A database
    unreachable at start-up is not fatal here: /readyz reports it."""
    try:
        missing = await missing_indexes(engine)
    except Exception as exc:  # noqa: BLE001 - start anyway; the probes say what is wrong
        log.info("index check skipped: database unavailable (%s)", type(exc).__name__)
        return []
    state.note(missing)
    if missing:
        log.warning(
            "missing %d index%s (figures stay exact, only slower): %s; create with `%s`",
            len(missing), "" if len(missing) == 1 else "es", "; ".join(describe(ix) for ix in missing),
            CREATE_COMMAND,
        )
    return missing


__all__ = ["CREATE_COMMAND", "missing_index_names", "warn_missing_indexes"]
