"""statsgraph's own hourly rollups of `usage` (Aether neither reads nor writes them).

Grain: one `statsgraph_usage_hourly` row per closed UTC hour and distinct (user, API key,
provider, model, API format, stream, status code, error) of that hour's rows, with every additive
figure and the exact latency sums and maxima; one `statsgraph_usage_hourly_latency` row per such
cell, latency kind and non-empty fixed latency bucket. `statsgraph_rollup_hours` lists the hours
rolled up: an hour absent from it is read from raw rows."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Float, Index, Integer, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base
from .types import UTCDateTime


class UsageHourly(Base):
    __tablename__ = "statsgraph_usage_hourly"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    hour: Mapped[datetime] = mapped_column(UTCDateTime)
    user_id: Mapped[str | None] = mapped_column(String(36))
    api_key_id: Mapped[str | None] = mapped_column(String(36))
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

    __table_args__ = (
        Index("idx_statsgraph_usage_hourly_hour", "hour"),
        Index("idx_statsgraph_usage_hourly_user_hour", "user_id", "hour"),
    )


class UsageHourlyLatency(Base):
    __tablename__ = "statsgraph_usage_hourly_latency"

    cell_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[int] = mapped_column(SmallInteger, primary_key=True)  # 0 response, 1 first byte
    bucket: Mapped[int] = mapped_column(Integer, primary_key=True)
    hour: Mapped[datetime] = mapped_column(UTCDateTime)
    count: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (Index("idx_statsgraph_usage_hourly_latency_hour", "hour"),)


class RollupHour(Base):
    __tablename__ = "statsgraph_rollup_hours"

    hour: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    rows: Mapped[int] = mapped_column(BigInteger)
    # A fingerprint of the hour's rows when rolled up: a later run re-rolls the hour if it differs.
    fingerprint: Mapped[str] = mapped_column(String(100))
    rolled_at: Mapped[datetime] = mapped_column(UTCDateTime)


ROLLUP_TABLES = (UsageHourly, UsageHourlyLatency, RollupHour)

__all__ = ["ROLLUP_TABLES", "RollupHour", "UsageHourly", "UsageHourlyLatency"]
