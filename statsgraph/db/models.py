"""The Aether tables statsgraph reads (and the `stats_*` tables its aggregator writes).

Declared with Aether's names and types so `statsgraph db init` can create a compatible database,
but only the columns statsgraph reads are declared: an existing Aether database has more, and
statsgraph never alters Aether-owned tables."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from .types import UTCDateTime


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    email: Mapped[str | None] = mapped_column(String(255), unique=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    # A PostgreSQL enum `userrole` in Aether; read as text so either spelling of the labels works.
    role: Mapped[str] = mapped_column(String(20), default="user")
    quota_usd: Mapped[float | None] = mapped_column(Float)
    used_usd: Mapped[float] = mapped_column(Float, default=0.0)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str | None] = mapped_column(String(100))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_standalone: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Provider(Base):
    __tablename__ = "providers"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    billing_type: Mapped[str | None] = mapped_column(String(20))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Usage(Base):
    __tablename__ = "usage"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    api_key_id: Mapped[str | None] = mapped_column(ForeignKey("api_keys.id", ondelete="SET NULL"))
    request_id: Mapped[str] = mapped_column(String(100), unique=True)
    provider_name: Mapped[str | None] = mapped_column(String(100))
    provider_id: Mapped[str | None] = mapped_column(ForeignKey("providers.id", ondelete="SET NULL"))
    model: Mapped[str] = mapped_column(String(100))
    input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0)
    total_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cache_creation_input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cache_read_input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    input_cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    output_cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    cache_creation_cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    cache_read_cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    total_cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    actual_total_cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    is_stream: Mapped[bool] = mapped_column(Boolean, default=False)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error_message: Mapped[str | None] = mapped_column(Text)
    response_time_ms: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="completed")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # Seed-era Aether columns read by the analytics: the client API's wire format, the time to
    # the first byte of a stream, and the model the request was routed to.
    api_format: Mapped[str | None] = mapped_column(String(50))
    first_byte_time_ms: Mapped[int | None] = mapped_column(Integer)
    target_model: Mapped[str | None] = mapped_column(String(100))

    __table_args__ = (
        # Aether's own (user_id, created_at), under its name, and the one statsgraph adds for
        # provider status (`db.setup.NEEDED_INDEXES`, which `db init` offers on Aether's tables).
        Index("idx_usage_user_created", "user_id", "created_at"),
        Index("ix_usage_provider_created", "provider_id", "created_at"),
    )


class RequestCandidate(Base):
    __tablename__ = "request_candidates"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    request_id: Mapped[str] = mapped_column(String(100), index=True)
    candidate_index: Mapped[int] = mapped_column(Integer, default=0)
    retry_index: Mapped[int] = mapped_column(Integer, default=0)
    provider_id: Mapped[str | None] = mapped_column(ForeignKey("providers.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class _DayTotals:
    """Columns common to the daily pre-aggregates."""

    total_requests: Mapped[int] = mapped_column(Integer, default=0)
    success_requests: Mapped[int] = mapped_column(Integer, default=0)
    error_requests: Mapped[int] = mapped_column(Integer, default=0)
    input_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    output_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    cache_creation_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    cache_read_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    total_cost: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class StatsDaily(_DayTotals, Base):
    __tablename__ = "stats_daily"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    # The UTC instant at which the business day starts.
    date: Mapped[datetime] = mapped_column(UTCDateTime, unique=True, index=True)
    actual_total_cost: Mapped[float] = mapped_column(Float, default=0.0)
    input_cost: Mapped[float] = mapped_column(Float, default=0.0)
    output_cost: Mapped[float] = mapped_column(Float, default=0.0)
    cache_creation_cost: Mapped[float] = mapped_column(Float, default=0.0)
    cache_read_cost: Mapped[float] = mapped_column(Float, default=0.0)
    avg_response_time_ms: Mapped[float] = mapped_column(Float, default=0.0)
    fallback_count: Mapped[int] = mapped_column(Integer, default=0)
    unique_models: Mapped[int] = mapped_column(Integer, default=0)
    unique_providers: Mapped[int] = mapped_column(Integer, default=0)


class _ModelDayFigures:
    """Columns common to the per-(day, model) pre-aggregates."""

    model: Mapped[str] = mapped_column(String(100))
    total_requests: Mapped[int] = mapped_column(Integer, default=0)
    input_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    output_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    cache_creation_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    cache_read_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    total_cost: Mapped[float] = mapped_column(Float, default=0.0)
    avg_response_time_ms: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class StatsDailyModel(_ModelDayFigures, Base):
    __tablename__ = "stats_daily_model"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    date: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("date", "model", name="uq_stats_daily_model"),)


class StatsUserDaily(_DayTotals, Base):
    __tablename__ = "stats_user_daily"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    date: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("user_id", "date", name="uq_stats_user_daily"),
        Index("idx_stats_user_daily_user_date", "user_id", "date"),
    )


class OwnUserDaily(Base):
    """statsgraph's own per-user day figures (Aether neither reads nor writes it): every figure
    of `stats_daily` for one user, where Aether's `stats_user_daily` holds counts, tokens and
    cost only. Written for the same user-days."""

    __tablename__ = "statsgraph_user_daily"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    date: Mapped[datetime] = mapped_column(UTCDateTime)
    total_requests: Mapped[int] = mapped_column(Integer, default=0)
    error_requests: Mapped[int] = mapped_column(Integer, default=0)
    input_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    output_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    cache_creation_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    cache_read_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    total_cost: Mapped[float] = mapped_column(Float, default=0.0)
    actual_total_cost: Mapped[float] = mapped_column(Float, default=0.0)
    cache_creation_cost: Mapped[float] = mapped_column(Float, default=0.0)
    cache_read_cost: Mapped[float] = mapped_column(Float, default=0.0)
    avg_response_time_ms: Mapped[float] = mapped_column(Float, default=0.0)
    fallback_count: Mapped[int] = mapped_column(Integer, default=0)
    unique_models: Mapped[int] = mapped_column(Integer, default=0)
    unique_providers: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("user_id", "date", name="uq_statsgraph_user_daily"),
        Index("idx_statsgraph_user_daily_user_date", "user_id", "date"),
    )


class OwnUserDailyModel(_ModelDayFigures, Base):
    """statsgraph's own per-user `stats_daily_model`: a user's figures per business day and model,
    written with `statsgraph_user_daily` in the same transaction, so a user-day with a row there
    has all its model rows too (and a day without one is read raw)."""

    __tablename__ = "statsgraph_user_daily_model"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    date: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("user_id", "date", "model", name="uq_statsgraph_user_daily_model"),
        Index("idx_statsgraph_user_daily_model_user_date", "user_id", "date"),
    )


class StatsSummary(Base):
    __tablename__ = "stats_summary"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    cutoff_date: Mapped[datetime] = mapped_column(UTCDateTime)
    all_time_requests: Mapped[int] = mapped_column(Integer, default=0)
    all_time_success_requests: Mapped[int] = mapped_column(Integer, default=0)
    all_time_error_requests: Mapped[int] = mapped_column(Integer, default=0)
    all_time_input_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    all_time_output_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    all_time_cache_creation_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    all_time_cache_read_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    all_time_cost: Mapped[float] = mapped_column(Float, default=0.0)
    all_time_actual_cost: Mapped[float] = mapped_column(Float, default=0.0)
    total_users: Mapped[int] = mapped_column(Integer, default=0)
    active_users: Mapped[int] = mapped_column(Integer, default=0)
    total_api_keys: Mapped[int] = mapped_column(Integer, default=0)
    active_api_keys: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# statsgraph's own tables; named `statsgraph_*` so none can collide with a table Aether adds.
OWN_TABLES = (OwnUserDaily, OwnUserDailyModel)

STATS_TABLES = (
    StatsDaily, StatsDailyModel, StatsUserDaily, OwnUserDaily, OwnUserDailyModel, StatsSummary,
)

__all__ = [
    "STATS_TABLES",
    "OWN_TABLES",
    "ApiKey",
    "OwnUserDaily",
    "OwnUserDailyModel",
    "Base",
    "Provider",
    "RequestCandidate",
    "StatsDaily",
    "StatsDailyModel",
    "StatsSummary",
    "StatsUserDaily",
    "Usage",
    "User",
]

# statsgraph's hourly rollups live in their own module; importing it registers them with Base.
from . import rollup_tables as _rollup_tables  # noqa: E402, F401
