"""`FieldCache`: the field extension that replaces the REST endpoints' TTL decorator.

The key names the field, its arguments, the parent object it hangs from, the business date and
the *data scope* (`global` or `user:<id>`), taken from the scope the resolvers use, so two
viewers can share an entry only when they are allowed the same data."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from strawberry.extensions import FieldExtension
from strawberry.types import Info

from .codec import Rebuilder

if TYPE_CHECKING:
    from strawberry.types.field import StrawberryField

    from ..context import Context

POLICIES = ("dashboard", "provider_status", "daily_stats")


class FieldCache(FieldExtension):
    def __init__(
        self,
        policy: str,
        *,
        closed: Callable[[Any], bool] | None = None,
        vary: Callable[[Any, Info], str] | None = None,
    ) -> None:
        if policy not in POLICIES:
            raise ValueError(f"FieldCache policy must be one of {POLICIES}, not {policy!r}")
        self.policy = policy
        self.closed = closed
        self.vary = vary

    def apply(self, field: StrawberryField) -> None:
        self.name = field.python_name
        self.rebuild = Rebuilder(field.type, f"FieldCache on {field.python_name}")

    def resolve(self, next_: Callable[..., Any], source: Any, info: Info, **kwargs: Any) -> Any:
        raise TypeError(f"FieldCache needs an async resolver ({self.name})")

    async def resolve_async(
        self, next_: Callable[..., Awaitable[Any]], source: Any, info: Info, **kwargs: Any
    ) -> Any:
        ctx: Context = info.context
        scope = ctx.scope_of(source, kwargs)
        name = f"{info._raw_info.parent_type.name}.{info.field_name}"
        identity = source.cache_identity() if hasattr(source, "cache_identity") else ""
        args = json.dumps(kwargs, sort_keys=True, default=str)
        variant = self.vary(source, info) if self.vary else ""
        key = ctx.cache.key(
            name, scope.key, ctx.calendar.today().isoformat(), identity, args, variant
        )
        closed = bool(self.closed and self.closed(source))
        ttl = ctx.ttl_for(self.policy, scope, closed=closed)

        async def compute() -> Any:
            return await next_(source, info, **kwargs)

        cached = await ctx.cache.get_or_compute(key, ttl, compute, name)
        ctx.freshness.record(info.path, cached.computed_at, ttl, scope, hit=cached.hit)
        return self.rebuild(cached.data)


__all__ = ["FieldCache"]
