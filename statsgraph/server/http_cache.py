"""Tells the client how fresh the answer is: `Cache-Control` from the cached fields it holds,
and `extensions.cache` with when each cached figure was computed."""

from __future__ import annotations

from collections.abc import Iterator

from strawberry.extensions import SchemaExtension


class CacheHints(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        yield
        ctx = self.execution_context.context
        result = self.execution_context.result
        freshness = getattr(ctx, "freshness", None)
        response = getattr(ctx, "response", None)
        if freshness is None or response is None:
            return
        errors = getattr(result, "errors", None)
        if errors or freshness.min_ttl is None:
            header = "no-store"
        else:
            # Every answer depends on who asks (the viewer decides the scope), so none may sit in
            # a shared cache: one that ignored Vary would hand an admin's answer to a user.
            header = f"private, max-age={int(freshness.min_ttl)}"
            response.headers["Vary"] = "Authorization"
        response.headers["Cache-Control"] = header

    def get_results(self) -> dict[str, object]:
        freshness = getattr(self.execution_context.context, "freshness", None)
        if freshness is None or not freshness.computed_at:
            return {}
        return {"cache": {"computedAt": freshness.computed_at}}


__all__ = ["CacheHints"]
