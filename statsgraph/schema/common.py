"""Types shared by several parts of the schema: roles, references, counts, the viewer."""

from __future__ import annotations

import enum

import strawberry

from ..core.accounts import Counts, QuotaState
from ..core.viewer import Viewer
from ..db.models import Provider, User


@strawberry.enum(description="The viewer's role in Aether.")
class Role(enum.Enum):
    ADMIN = "admin"
    USER = "user"


@strawberry.enum(description="Whether a provider takes traffic.")
class ProviderState(enum.Enum):
    ACTIVE = "active"
    INACTIVE = "inactive"


@strawberry.type(name="Viewer", description="The authenticated user making the request.")
class ViewerType:
    id: strawberry.ID = strawberry.field(description="User id.")
    username: str = strawberry.field(description="Login name.")
    email: str = strawberry.field(description="Email address.")
    role: Role = strawberry.field(description="ADMIN sees every user's data; USER only their own.")

    @classmethod
    def of(cls, v: Viewer) -> ViewerType:
        return cls(id=strawberry.ID(v.id), username=v.username, email=v.email, role=Role(v.role))


@strawberry.type(description="A count of things and how many of them are active.")
class ActiveCount:
    total: int = strawberry.field(description="All of them (users: those not deleted).")
    active: int = strawberry.field(description="Those marked active.")

    @classmethod
    def of(cls, c: Counts) -> ActiveCount:
        return cls(total=c.total, active=c.active)


@strawberry.type(description="A user's spending quota.")
class Quota:
    limit_usd: float | None = strawberry.field(description="The quota in USD; null means unlimited.")
    used_usd: float = strawberry.field(description="Spent so far, USD.")
    used_percent: float | None = strawberry.field(
        description="used / limit × 100; null when unlimited, 100 when the limit is 0."
    )

    @classmethod
    def of(cls, q: QuotaState) -> Quota:
        return cls(limit_usd=q.limit_usd, used_usd=q.used_usd, used_percent=q.used_percent)


@strawberry.type(description="A reference to a user.")
class UserRef:
    id: strawberry.ID = strawberry.field(description="User id.")
    username: str = strawberry.field(description="Login name.")

    @classmethod
    def of(cls, u: User) -> UserRef:
        return cls(id=strawberry.ID(u.id), username=u.username)


@strawberry.type(description="A reference to a provider.")
class ProviderRef:
    id: strawberry.ID = strawberry.field(description="Provider id.")
    name: str = strawberry.field(description="Unique provider name.")
    display_name: str = strawberry.field(description="Name shown in the dashboard.")

    @classmethod
    def of(cls, p: Provider) -> ProviderRef:
        return cls(id=strawberry.ID(p.id), name=p.name, display_name=p.display_name or p.name)


__all__ = ["ActiveCount", "ProviderRef", "ProviderState", "Quota", "Role", "UserRef", "ViewerType"]
