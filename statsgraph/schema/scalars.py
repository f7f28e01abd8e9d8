"""Custom scalars. `Date` and `DateTime` are strawberry's ISO-8601 built-ins."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NewType

import strawberry
from strawberry.types.scalar import ScalarDefinition

BigInt = NewType("BigInt", int)


def _parse_bigint(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError("BigInt must be an integer")
    return int(value)


BIGINT_SCALAR: ScalarDefinition = strawberry.scalar(
    name="BigInt",
    description=(
        "An integer that may exceed 32 bits (token and request totals), sent as a JSON number. "
        "GraphQL's Int is 32-bit and would overflow."
    ),
    serialize=int,
    parse_value=_parse_bigint,
)

# Typed as StrawberryConfig's `scalar_map` is: the inferred dict[type[BigInt], ...] does not fit it.
SCALAR_MAP: Mapping[object, ScalarDefinition] = {BigInt: BIGINT_SCALAR}

__all__ = ["BIGINT_SCALAR", "SCALAR_MAP", "BigInt"]
