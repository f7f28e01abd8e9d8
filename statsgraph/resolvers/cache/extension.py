"""`FieldCache`: the field extension that replaces the REST endpoints' TTL decorator.

The key names the field, its arguments, the parent object it hangs from, the business date and
the *data scope* (`global` or `user:<id>`), taken from the scope the resolvers use, so two
viewers can share an entry only when they are allowed the same data."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from strawberry import ID
from strawberry.extensions import FieldExtension
from strawberry.types import Info
from strawberry.types.base import StrawberryOptional
from strawberry.types.enum import StrawberryEnumDefinition

from .codec import Rebuilder
from .ttl import POLICIES

if TYPE_CHECKING:
    from strawberry.types.field import StrawberryField

    from ..context import Context



def _keyable(t: Any) -> bool:
    """Arguments become part of the key as JSON: scalars, enums and optional ones only."""
    if isinstance(t, StrawberryOptional):
        return _keyable(t.of_type)
    if isinstance(t, StrawberryEnumDefinition) or isinstance(
        getattr(t, "__strawberry_definition__", None), StrawberryEnumDefinition
    ):
        return True
    return t in (int, float, str, bool, ID) or getattr(t, "_scalar_definition", None) is not None


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
        # Refused when the schema is built, not on every request: overriding `resolve` below
        # hides strawberry's own check that an async-only extension sits on an async field.
        where = f"FieldCache on {field.python_name}"
        if field.base_resolver is None or not field.is_async:
            raise TypeError(f"{where}: the resolver must be `async def` (the cache awaits backends)")
        for arg in field.arguments:
            if not _keyable(arg.type):
                raise TypeError(f"{where}: argument {arg.python_name!r} cannot be part of a cache key")
        self.name = field.python_name
        self.rebuild = Rebuilder(field.type, where)

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

        def decode(data: Any) -> Any:
            # Scope comes from this request, never from the value.
            return self.rebuild(data, scope)

        cached = await ctx.cache.get_or_compute(key, ttl, compute, name, decode)
        ctx.freshness.record(info.path, cached.computed_at, ttl, scope, hit=cached.hit)
        return cached.data


__all__ = ["FieldCache"]
