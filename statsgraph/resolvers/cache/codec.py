"""Cached values are plain JSON, never pickles: a shared Redis must not be able to make this
process run code. Dates and instants are tagged so they come back as the same Python types."""

from __future__ import annotations

import dataclasses
import json
from datetime import date, datetime
from typing import Any

from strawberry.types.base import (
    StrawberryList,
    StrawberryOptional,
    has_object_definition,
)

from ...core.scope import GLOBAL, GlobalScope, UserScope


def _default(value: Any) -> Any:
    if isinstance(value, GlobalScope | UserScope):
        return {"$scope": value.key}
    if isinstance(value, datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, date):
        return {"$d": value.isoformat()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value) if f.init}
    if hasattr(value, "value") and hasattr(value, "name"):  # enums
        return value.value
    raise TypeError(f"cannot cache a {type(value).__name__}")


def _hook(obj: dict[str, Any]) -> Any:
    if len(obj) == 1:
        if "$dt" in obj:
            return datetime.fromisoformat(obj["$dt"])
        if "$d" in obj:
            return date.fromisoformat(obj["$d"])
        if "$scope" in obj:
            key = obj["$scope"]
            return GLOBAL if key == "global" else UserScope(key.removeprefix("user:"))
    return obj


def dumps(value: Any) -> bytes:
    return json.dumps(value, default=_default, separators=(",", ":")).encode()


def loads(raw: bytes) -> Any:
    return json.loads(raw, object_hook=_hook)


class Rebuilder:
    """Turns cached plain data back into the field's strawberry objects.

    Built once per field when the schema is built: a field whose type cannot round-trip
    (an object with resolver fields that hold no data) is refused then, not at request time."""

    def __init__(self, field_type: Any, where: str) -> None:
        self._build = self._for(field_type, where)

    def __call__(self, data: Any) -> Any:
        return self._build(data)

    def _for(self, t: Any, where: str):  # noqa: ANN202
        if isinstance(t, StrawberryOptional):
            inner = self._for(t.of_type, where)
            return lambda d: None if d is None else inner(d)
        if isinstance(t, StrawberryList):
            inner = self._for(t.of_type, where)
            return lambda d: [inner(x) for x in d]
        if has_object_definition(t):
            # Strawberry types are dataclasses, but has_object_definition's TypeGuard narrows to
            # a protocol that does not say so.
            names = [f.name for f in dataclasses.fields(t) if f.init]  # type: ignore[arg-type]
            nested = {}
            for f in t.__strawberry_definition__.fields:
                if f.base_resolver is None and has_object_definition(getattr(f.type, "of_type", f.type)):
                    nested[f.python_name] = self._for(f.type, where)
            enums = {
                f.python_name: f.type.wrapped_cls
                for f in t.__strawberry_definition__.fields
                if hasattr(f.type, "wrapped_cls") and hasattr(f.type.wrapped_cls, "__members__")
            }

            def build(d: dict[str, Any]) -> Any:
                kwargs = {}
                for n in names:
                    v = d.get(n)
                    if n in nested:
                        v = nested[n](v)
                    elif n in enums and v is not None:
                        v = enums[n](v)
                    kwargs[n] = v
                return t(**kwargs)

            return build
        if t in (int, float, str, bool) or getattr(t, "_scalar_definition", None) is not None:
            return lambda d: d
        raise TypeError(f"{where}: the field cache cannot store values of type {t!r}")


__all__ = ["Rebuilder", "dumps", "loads"]
