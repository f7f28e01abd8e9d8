"""statsgraph's own rollups of `usage` (Aether neither reads nor writes them), at three levels.

Hourly: one `statsgraph_usage_hourly` row per closed UTC hour and distinct (user, API key,
provider, model, API format, stream, status code, error) of that hour's rows, with every additive
figure and the exact latency sums and maxima; one `statsgraph_usage_hourly_latency` row per such
cell, latency kind and non-empty fixed latency bucket. `statsgraph_rollup_hours` lists the hours
rolled up: an hour absent from it is read from raw rows. Two more tables serve the figures
that do not add up across hours: `statsgraph_usage_hourly_names` holds each hour's distinct
(user, model, provider name), from which a day's distinct models and providers are counted, and
`statsgraph_hourly_fallbacks` each hour's executed candidates of the requests that can make a
fallback across that hour (more than one in the hour, or others in another hour).

Daily: the same figures per business day of `APP_TIMEZONE` and distinct (provider, model, API
format, stream, status code, error), built from the hourly rows once every hour of the day is
rolled up. Without user and API key, a day of the benchmark database's traffic holds about 70
cells where its hours hold about 1,500, so reports over everyone's rows read a month in a few
thousand rows. Each day row
carries its own [start, end) instants, so it stays exact whatever zone a report asks in; it
serves a report only where it lies inside one of its buckets. `statsgraph_rollup_days` lists the
days built: a late change to one of a day's hours removes the day until it is rebuilt.

Weekly: the same cells per week of `APP_TIMEZONE` (Monday 00:00 to Monday 00:00), built from its
seven days once they are all built, removed with any of them. A day's latency histograms barely
merge across its cells, but the same cell's histograms of seven days do: on the benchmark
database a week holds about a third of its days' latency rows."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Float, Index, Integer, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base
from .types import UTCDateTime


class _Cell:
    """The dimensions both levels share and every figure of a cell."""

    # The provider the rows belong to (provider_id, else the provider named like the row).
    provider_key: Mapped[str | None] = mapped_column(String(36))
    model: Mapped[str | None] = mapped_column(String(100))
    api_format: Mapped[str | None] = mapped_column(String(50))
    is_stream: Mapped[bool] = mapped_column(Boolean)
    status_code: Mapped[int | None] = mapped_column(Integer)
    is_error: Mapped[bool] = mapped_column(Boolean)
    requests: Mapped[int] = mapped_column(BigInteger, default=0)
    input_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    output_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    cache_creation_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    cache_read_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    cost: Mapped[float] = mapped_column(Float, default=0.0)
    actual_cost: Mapped[float] = mapped_column(Float, default=0.0)
    cache_creation_cost: Mapped[float] = mapped_column(Float, default=0.0)
    cache_read_cost: Mapped[float] = mapped_column(Float, default=0.0)
    response_count: Mapped[int] = mapped_column(BigInteger, default=0)
    response_sum_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    response_max_ms: Mapped[int | None] = mapped_column(Integer)
    first_byte_count: Mapped[int] = mapped_column(BigInteger, default=0)
    first_byte_sum_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    first_byte_max_ms: Mapped[int | None] = mapped_column(Integer)


class UsageHourly(_Cell, Base):
    __tablename__ = "statsgraph_usage_hourly"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    hour: Mapped[datetime] = mapped_column(UTCDateTime)
    user_id: Mapped[str | None] = mapped_column(String(36))
    api_key_id: Mapped[str | None] = mapped_column(String(36))

    __table_args__ = (
        Index("idx_statsgraph_usage_hourly_hour", "hour"),
        Index("idx_statsgraph_usage_hourly_user_hour", "user_id", "hour"),
    )


class _LatencyCount:
    """How many of a cell's timed requests fall into one fixed latency bucket."""

    cell_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[int] = mapped_column(SmallInteger, primary_key=True)  # a LatencyKind
    bucket: Mapped[int] = mapped_column(Integer, primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger)


class UsageHourlyLatency(_LatencyCount, Base):
    __tablename__ = "statsgraph_usage_hourly_latency"

    hour: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("idx_statsgraph_usage_hourly_latency_hour", "hour"),)


class UsageHourlyNames(Base):
    """The distinct (user, model, provider name) of an hour's rows: sets, not sums, so a day
    read partly from its hours still counts each model and provider once."""

    __tablename__ = "statsgraph_usage_hourly_names"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    hour: Mapped[datetime] = mapped_column(UTCDateTime)
    user_id: Mapped[str | None] = mapped_column(String(36))
    model: Mapped[str | None] = mapped_column(String(100))
    provider_name: Mapped[str | None] = mapped_column(String(100))

    __table_args__ = (Index("idx_statsgraph_usage_hourly_names_hour", "hour"),)


class HourlyFallback(Base):
    """A request's executed candidates (`success`/`failed`) created in one hour, kept for every
    request that has more than one in that hour or any in another hour: a request absent here
    has at most one executed candidate in all the hours rolled up, so is no fallback in them."""

    __tablename__ = "statsgraph_hourly_fallbacks"

    hour: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    request_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    # The user of the request's usage row when rolled up (candidates carry no owner).
    user_id: Mapped[str | None] = mapped_column(String(36))
    executed: Mapped[int] = mapped_column(Integer)


class RollupHour(Base):
    __tablename__ = "statsgraph_rollup_hours"

    hour: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    rows: Mapped[int] = mapped_column(BigInteger)
    # A fingerprint of the hour's rows when rolled up: a later run re-rolls the hour if it differs.
    fingerprint: Mapped[str] = mapped_column(String(100))
    rolled_at: Mapped[datetime] = mapped_column(UTCDateTime)


class UsageDaily(_Cell, Base):
    __tablename__ = "statsgraph_usage_daily"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    day_start: Mapped[datetime] = mapped_column(UTCDateTime)
    day_end: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("idx_statsgraph_usage_daily_start", "day_start"),)


class UsageDailyLatency(_LatencyCount, Base):
    __tablename__ = "statsgraph_usage_daily_latency"

    day_start: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("idx_statsgraph_usage_daily_latency_start", "day_start"),)


class RollupDay(Base):
    __tablename__ = "statsgraph_rollup_days"

    day_start: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    day_end: Mapped[datetime] = mapped_column(UTCDateTime)
    rolled_at: Mapped[datetime] = mapped_column(UTCDateTime)


class UsageWeekly(_Cell, Base):
    """A week of `APP_TIMEZONE` (Monday to Monday) summed from its seven days: what long ranges
    read, at about a third of the days' latency rows."""

    __tablename__ = "statsgraph_usage_weekly"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    week_start: Mapped[datetime] = mapped_column(UTCDateTime)
    week_end: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("idx_statsgraph_usage_weekly_start", "week_start"),)


class UsageWeeklyLatency(_LatencyCount, Base):
    __tablename__ = "statsgraph_usage_weekly_latency"

    week_start: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("idx_statsgraph_usage_weekly_latency_start", "week_start"),)


class RollupWeek(Base):
    __tablename__ = "statsgraph_rollup_weeks"

    week_start: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    week_end: Mapped[datetime] = mapped_column(UTCDateTime)
    rolled_at: Mapped[datetime] = mapped_column(UTCDateTime)


# Every table an hour is rolled up into; the rollup is used only where all of them exist.
HOURLY_TABLES = (UsageHourly, UsageHourlyLatency, UsageHourlyNames, HourlyFallback, RollupHour)
DAILY_TABLES = (UsageDaily, UsageDailyLatency, RollupDay)
WEEKLY_TABLES = (UsageWeekly, UsageWeeklyLatency, RollupWeek)
ROLLUP_TABLES = (*HOURLY_TABLES, *DAILY_TABLES, *WEEKLY_TABLES)

__all__ = [
    "DAILY_TABLES", "HOURLY_TABLES", "ROLLUP_TABLES", "WEEKLY_TABLES", "HourlyFallback", "RollupDay", "RollupHour",
    "RollupWeek", "UsageDaily", "UsageDailyLatency", "UsageHourly", "UsageHourlyLatency", "UsageHourlyNames",
    "UsageWeekly", "UsageWeeklyLatency",
]
