"""Who is asking: the authenticated user of a request, as the server hands it down."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, slots=True)
class Viewer:
    id: str
    username: str
    email: str
    role: Literal["admin", "user"]

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


__all__ = ["Viewer"]
