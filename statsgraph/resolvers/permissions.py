"""Field permissions. They run outside the field cache (strawberry makes a permission the
outermost extension), so a cached value is never served to a viewer who may not see the field."""

from __future__ import annotations

from typing import Any

from strawberry.permission import BasePermission
from strawberry.types import Info

from .errors import Forbidden


class IsAdmin(BasePermission):
    message = "This field is visible to administrators only"

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return info.context.require_viewer().is_admin

    def on_unauthorized(self) -> None:
        raise Forbidden(self.message)


class AdminViewerOnly(BasePermission):
    """Operator figures (what the gateway pays upstream): an ADMIN viewer reads them in any
    scope, a user's own scope included; a USER viewer never does. Decided on the viewer's role,
    never on the scope of the data."""

    message = "Operator figures are visible to administrators only"

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return info.context.require_viewer().is_admin

    def on_unauthorized(self) -> None:
        raise Forbidden(self.message)


__all__ = ["AdminViewerOnly", "IsAdmin"]
