"""How long cached figures live: the server hands these values down from its settings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from ...core.calendar import BusinessCalendar
from ...core.scope import Scope, UserScope

POLICIES = ("dashboard", "provider_status", "daily_stats", "analytics")


@dataclass(frozen=True, slots=True)
class TtlPolicy:
    """Seconds per kind of field; the defaults are those of the REST endpoints replaced."""

    dashboard_global: float = 60
    dashboard_user: float = 30
    provider_status: float = 60
    daily_stats: float = 300
    analytics: float = 60
    # Closed periods (yesterday, finished days) are kept until the business day turns, at most this.
    closed_max: float = 3600

    def ttl_for(self, policy: str, scope: Scope, calendar: BusinessCalendar, *, closed: bool) -> float:
        if closed:
            until_turn = calendar.day_start(calendar.today() + timedelta(days=1)) - calendar.now()
            return max(1.0, min(until_turn.total_seconds(), float(self.closed_max)))
        if policy == "dashboard":
            return float(self.dashboard_user if isinstance(scope, UserScope) else self.dashboard_global)
        if policy == "provider_status":
            return float(self.provider_status)
        if policy == "analytics":
            return float(self.analytics)
        return float(self.daily_stats)


__all__ = ["POLICIES", "TtlPolicy"]
