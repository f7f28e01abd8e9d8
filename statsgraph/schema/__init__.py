"""The statsgraph schema."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import strawberry
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)
from strawberry.schema.config import StrawberryConfig

from .errors import MaskInternalErrors
from .roots import Query
from .scalars import SCALAR_MAP


class StatsSchema(strawberry.Schema):
    def process_errors(self, errors, execution_context=None) -> None:  # noqa: ANN001
        # MaskInternalErrors logs what matters, once, with the request id; client errors
        # (forbidden, bad input) are answers, not incidents.
        return None


def build_schema(
    *,
    max_depth: int = 10,
    max_aliases: int = 30,
    max_tokens: int = 2_000,
    introspection: bool = True,
    extra_extensions: Sequence[Callable[[], SchemaExtension]] = (),
) -> strawberry.Schema:
    # Factories, not instances: extensions keep per-request state.
    extensions: list[Callable[[], SchemaExtension]] = [
        lambda: QueryDepthLimiter(max_depth=max_depth),
        lambda: MaxAliasesLimiter(max_alias_count=max_aliases),
        lambda: MaxTokensLimiter(max_token_count=max_tokens),
        *extra_extensions,
        MaskInternalErrors,
    ]
    if not introspection:
        extensions.append(lambda: AddValidationRules([NoSchemaIntrospectionCustomRule]))
    return StatsSchema(query=Query, extensions=extensions, config=StrawberryConfig(scalar_map=SCALAR_MAP))


def export_sdl() -> str:
    return build_schema().as_str() + "\n"


__all__ = ["build_schema", "export_sdl"]
