"""FieldCache refuses, when the schema is built, a field it could not serve."""

from __future__ import annotations

import pytest
import strawberry

from statsgraph.resolvers.cache import FieldCache


@strawberry.input
class Filter:
    model: str


def _schema_with(field_type: type) -> strawberry.Schema:
    return strawberry.Schema(query=field_type)


def test_a_sync_resolver_is_refused_when_the_schema_is_built() -> None:
    @strawberry.type
    class Query:
        @strawberry.field(extensions=[FieldCache("dashboard")])
        def figure(self) -> int:
            return 1

    with pytest.raises(TypeError, match="async def"):
        _schema_with(Query)


def test_an_argument_that_cannot_be_keyed_is_refused() -> None:
    @strawberry.type
    class Query:
        @strawberry.field(extensions=[FieldCache("dashboard")])
        async def figure(self, where: Filter) -> int:
            return 1

    with pytest.raises(TypeError, match="'where' cannot be part of a cache key"):
        _schema_with(Query)


def test_an_async_field_with_scalar_arguments_builds() -> None:
    @strawberry.type
    class Query:
        @strawberry.field(extensions=[FieldCache("dashboard")])
        async def figure(self, days: int = 7, user_id: strawberry.ID | None = None) -> int:
            return days

    assert "figure" in str(_schema_with(Query))
