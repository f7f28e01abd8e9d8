"""What the client selected below a field, for choosing how much to compute."""

from __future__ import annotations

from collections.abc import Iterable

from strawberry.types import Info
from strawberry.types.nodes import (
    FragmentSpread,
    InlineFragment,
    SelectedField,
    Selection,
)


def selected_names(info: Info) -> set[str]:
    """Names of the fields selected directly below the current field, fragments expanded."""
    names: set[str] = set()

    def walk(selections: Iterable[Selection]) -> None:
        for s in selections:
            if isinstance(s, SelectedField):
                names.add(s.name)
            elif isinstance(s, FragmentSpread | InlineFragment):
                walk(s.selections)

    for field in info.selected_fields:
        walk(field.selections)
    return names


__all__ = ["selected_names"]
