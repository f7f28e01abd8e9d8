"""The aggregator: fills `stats_daily`, `stats_daily_model`, `stats_user_daily` and
`stats_summary` with the meaning Aether's own aggregator gives them, so both can share a
database, and statsgraph's own `statsgraph_user_daily` and `statsgraph_user_daily_model`.

`run` decides which days, takes the lock across instances and works in chunks; `rows` writes
one chunk; `summary` rewrites Aether's summary row."""

from .run import (
    ADVISORY_LOCK_KEY,
    AggregateReport,
    aggregate,
    aggregate_unless_running,
    serialise_sqlite_writers,
)

__all__ = ["ADVISORY_LOCK_KEY", "AggregateReport", "aggregate", "aggregate_unless_running", "serialise_sqlite_writers"]
