"""The data scope of a query: everything, or one user's rows.

A scope is decided once per request (from the viewer and the `userId` argument) and passed to
every query, loader and cache key, so no code path can read user data without naming whose."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class GlobalScope:
    @property
    def key(self) -> str:
        return "global"


@dataclass(frozen=True, slots=True)
class UserScope:
    user_id: str

    def __post_init__(self) -> None:
        if not self.user_id:
            raise ValueError("a user scope needs a user id")

    @property
    def key(self) -> str:
        return f"user:{self.user_id}"


Scope = GlobalScope | UserScope
GLOBAL = GlobalScope()

__all__ = ["GLOBAL", "GlobalScope", "Scope", "UserScope"]
