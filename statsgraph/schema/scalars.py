"""Custom scalars. `Date` and `DateTime` are strawberry's ISO-8601 built-ins."""

from __future__ import annotations

from typing import NewType

import strawberry


def _parse_bigint(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError("BigInt must be an integer")
    return int(value)


BigInt = strawberry.scalar(
    NewType("BigInt", int),
    name="BigInt",
    description=(
        "An integer that may exceed 32 bits (token and request totals), sent as a JSON number. "
        "GraphQL's Int is 32-bit and would overflow."
    ),
    serialize=int,
    parse_value=_parse_bigint,
)

__all__ = ["BigInt"]
