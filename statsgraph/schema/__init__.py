"""The statsgraph schema."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

import strawberry
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig

from .cost import DEFAULT_MAX_QUERY_COST, cost_limiter
from .errors import MaskInternalErrors, with_document_code
from .query import Query
from .scalars import SCALAR_MAP

DOCUMENT_CACHE_SIZE = 256


class StatsSchema(strawberry.Schema):
    def process_errors(self, errors, execution_context=None) -> None:  # noqa: ANN001
        # MaskInternalErrors logs what matters, once, with the request id; client errors
        # (forbidden, bad input) are answers, not incidents. Errors about the document get their
        # code here, since a syntax error (raised by the parser cache) never reaches the masking.
        for error in errors:
            with_document_code(error)


def build_schema(
    *,
    max_depth: int = 10,
    max_aliases: int = 30,
    max_tokens: int = 2_000,
    introspection: bool = True,
    max_cost: int = DEFAULT_MAX_QUERY_COST,
    clock: Callable[[], datetime] | None = None,
    extra_extensions: Sequence[Callable[[], SchemaExtension]] = (),
) -> strawberry.Schema:
    # The limits' validation rules are built once, so the validation cache can key on them;
    # extensions are factories, since they keep per-request state.
    rules = [
        *QueryDepthLimiter(max_depth=max_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=max_aliases).validation_rules,
    ]
    if not introspection:
        rules.append(NoSchemaIntrospectionCustomRule)
    extensions: list[Callable[[], SchemaExtension]] = [
        lambda: MaxTokensLimiter(max_token_count=max_tokens),
        lambda: AddValidationRules(rules),
        # A dashboard sends the same few documents over and over: parse and validate each once.
        # Both caches are bounded, so distinct documents from a client cannot grow memory.
        lambda: ParserCache(maxsize=DOCUMENT_CACHE_SIZE),
        lambda: ValidationCache(maxsize=DOCUMENT_CACHE_SIZE),
        # Priced after validation and before execution: over the limit, nothing runs.
        cost_limiter(max_cost, clock),
        *extra_extensions,
        MaskInternalErrors,
    ]
    return StatsSchema(query=Query, extensions=extensions, config=StrawberryConfig(scalar_map=SCALAR_MAP))


def export_sdl() -> str:
    return build_schema().as_str() + "\n"


__all__ = ["build_schema", "export_sdl"]
