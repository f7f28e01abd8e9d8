"""Figures about accounts rather than traffic: how many of a thing are active, a user's quota."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Counts:
    """How many of a thing exist and how many of them are active."""

    total: int
    active: int


@dataclass(frozen=True, slots=True)
class QuotaState:
    limit_usd: float | None  # None: unlimited
    used_usd: float

    @property
    def used_percent(self) -> float | None:
        if self.limit_usd is None:
            return None
        if self.limit_usd == 0:
            return 100.0
        return self.used_usd / self.limit_usd * 100


__all__ = ["Counts", "QuotaState"]
