"""One settings object, read from the environment (and a `.env` file when present)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEMO_SECRET = "statsgraph-demo-secret-not-for-production"
_PLACEHOLDER_SECRETS = {"", "changeme", "change-me", "secret", "your-secret-key"}
MIN_SECRET_LENGTH = 16
# One default for every command, `statsgraph demo` included: run them in the same folder and
# they all find the same database.
DEFAULT_DATABASE_FILE = "statsgraph.db"
DEFAULT_DATABASE_URL = f"sqlite+aiosqlite:///./{DEFAULT_DATABASE_FILE}"
_DRIVERS = ("postgresql+asyncpg://", "sqlite+aiosqlite://")
_URL_HELP = "use Aether's postgresql://USER:PASSWORD@HOST:PORT/DB, or sqlite:///PATH for a file"


def normalize_database_url(url: str) -> str:
    """Map Aether's plain `postgresql://` form (and friends) to the async drivers."""
    for prefix in ("postgresql+psycopg2://", "postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix):]
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url[len("sqlite:///"):]
    return url


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    # Replica for read queries; the aggregator always writes through `database_url`.
    database_read_url: str | None = None
    redis_url: str | None = None
    # Connections per process (PostgreSQL): pool size and extra connections under bursts.
    db_pool_size: int = Field(default=10, ge=1)
    db_max_overflow: int = Field(default=20, ge=0)
    # Sessions one request may hold at once, so that one document cannot take the whole pool.
    db_sessions_per_request: int = Field(default=4, ge=1)
    jwt_secret_key: str = ""
    jwt_algorithm: str = "HS256"
    app_timezone: str = "Asia/Shanghai"
    log_format: str = Field(default="json", pattern="^(json|text)$")
    log_level: str = "INFO"
    # Set by `statsgraph demo` only: allows the well-known demo secret.
    demo_mode: bool = False

    # Field cache TTLs, seconds (starting values from the REST endpoints they replace).
    ttl_dashboard_global: int = 60
    ttl_dashboard_user: int = 30
    ttl_provider_status: int = 60
    ttl_daily_stats: int = 300
    ttl_analytics: int = 60
    # Closed periods (yesterday, finished days) may be kept until the business day turns,
    # bounded by this ceiling.
    ttl_closed_max: int = 3600
    cache_max_entries: int = Field(default=10_000, ge=1)
    # In-process cache (no REDIS_URL): its bound in bytes, and the largest field value kept.
    cache_max_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)
    cache_max_value_bytes: int = Field(default=2 * 1024 * 1024, ge=1024)
    redis_socket_timeout: float = 0.25
    redis_breaker_seconds: float = 15.0
    # Connections per process to Redis: the field cache's pool, and the logout list's own.
    redis_max_connections: int = Field(default=64, ge=1)
    redis_auth_connections: int = Field(default=8, ge=1)

    # Limits on what one request may cost.
    max_query_depth: int = 10
    max_aliases: int = 30
    max_tokens: int = 2_000
    max_body_bytes: int = 64 * 1024
    # Slow clients: the whole request body must arrive within this (else 408); idle keep-alive
    # connections close after the second; shutdown waits at most the third for open requests.
    body_read_timeout_seconds: float = Field(default=10.0, gt=0)
    keep_alive_timeout_seconds: int = Field(default=5, ge=1)
    shutdown_timeout_seconds: int = Field(default=10, ge=1)
    # What one document may cost (statsgraph/schema/cost.py); more is QUERY_TOO_EXPENSIVE.
    max_query_cost: int = Field(default=30_000, ge=1)
    # Documents costing at least this run on a thread of their own (server/expensive_lane.py),
    # so they cannot hold up small requests; 0 runs every document on the serving loop.
    expensive_query_cost: int = Field(default=1_000, ge=0)
    introspection: bool = True
    cors_origins: list[str] = Field(default_factory=list)

    # Run the aggregator inside the server: at start-up and this many seconds after each
    # business-day turn. Every process may run it; on PostgreSQL one run does the work.
    aggregate_in_server: bool = False
    # Runs start this long after each UTC hour, once the hour just closed is past the margin.
    aggregate_delay_seconds: int = Field(default=300, ge=0, le=3599)
    # Rolled-up hours closed this recently are compared with their rows figure by figure on
    # every run (a row changed in place); older ones, up to a day, are only counted again.
    rollup_recheck_hours: int = Field(default=2, ge=0, le=24)

    # Persisted operations: a manifest (hash → document, `statsgraph export-manifest`), and the
    # lock-down that refuses any other document.
    persisted_manifest: Path | None = None
    persisted_only: bool = False

    @field_validator("database_url", "database_read_url")
    @classmethod
    def _async_driver(cls, value: str | None, info: ValidationInfo) -> str | None:
        if not value:
            return value
        url = normalize_database_url(value)
        if not url.startswith(_DRIVERS):
            name = (info.field_name or "database_url").upper()
            # Only the scheme is repeated: the rest of a URL may hold a password.
            scheme = value.split("://", 1)[0] if "://" in value else None
            what = f"the {scheme!r} scheme is not supported" if scheme else "it is not a database URL"
            raise ValueError(f"{name}: {what}; {_URL_HELP}")
        return url

    @field_validator("app_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"APP_TIMEZONE {value!r} is not a known IANA time zone") from exc
        return value

    @model_validator(mode="after")
    def _demo_secret(self) -> "Settings":
        if self.demo_mode and not self.jwt_secret_key:
            self.jwt_secret_key = DEMO_SECRET
        return self

    def require_jwt_secret(self) -> str:
        """The signing secret, refused when missing or a placeholder outside the demo.

        Checked when a server or a token command starts, not at import, so that
        `db init`, `aggregate` and `export-schema` run without it."""
        secret = self.jwt_secret_key
        if self.demo_mode:
            return secret
        if secret.lower() in _PLACEHOLDER_SECRETS or secret == DEMO_SECRET:
            raise ValueError(
                "JWT_SECRET_KEY is missing or a placeholder: set it to Aether's secret "
                "(or run `statsgraph demo` for the self-contained demo)"
            )
        if len(secret) < MIN_SECRET_LENGTH:
            raise ValueError(
                f"JWT_SECRET_KEY is too short ({len(secret)} characters; at least {MIN_SECRET_LENGTH}): "
                "set it to Aether's secret"
            )
        return secret

    @model_validator(mode="after")
    def _lockdown_needs_manifest(self) -> "Settings":
        if self.persisted_only and self.persisted_manifest is None:
            raise ValueError("PERSISTED_ONLY needs PERSISTED_MANIFEST (the operations it may run)")
        return self

    @property
    def read_url(self) -> str:
        return self.database_read_url or self.database_url


@lru_cache
def get_settings() -> Settings:
    return Settings()
