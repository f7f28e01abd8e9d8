"""Cached values are plain JSON, never pickles: a shared Redis must not be able to make this
process run code. Dates and instants are tagged so they come back as the same Python types.

Nothing read back is trusted: a value carries no scope or identity (those come from the request
and live in the key only; a field named `scope` is never written and is filled in from the
request when the value is rebuilt), and the Rebuilder checks every value against the field's
type, raising on anything else, which the store treats as a miss."""

from __future__ import annotations

import dataclasses
import json
import typing
from datetime import date, datetime
from typing import Any

from strawberry.types.base import (
    StrawberryList,
    StrawberryOptional,
    has_object_definition,
)

from ...core.scope import GlobalScope, Scope, UserScope

SCOPE_FIELD = "scope"


def _default(value: Any) -> Any:
    if isinstance(value, GlobalScope | UserScope):
        raise TypeError("a scope is never cached: it comes from the request")
    if isinstance(value, datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, date):
        return {"$d": value.isoformat()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value) if f.init and f.name != SCOPE_FIELD}
    if hasattr(value, "value") and hasattr(value, "name"):  # enums
        return value.value
    raise TypeError(f"cannot cache a {type(value).__name__}")


def _hook(obj: dict[str, Any]) -> Any:
    if len(obj) == 1:
        if "$dt" in obj:
            return datetime.fromisoformat(obj["$dt"])
        if "$d" in obj:
            return date.fromisoformat(obj["$d"])
    return obj


def dumps(value: Any) -> bytes:
    return json.dumps(value, default=_default, separators=(",", ":")).encode()


def loads(raw: bytes) -> Any:
    return json.loads(raw, object_hook=_hook)


class Rebuilder:
    """Turns cached plain data back into the field's strawberry objects, checking each value
    against its declared type (anything else raises: the store counts it a miss).

    Built once per field when the schema is built: a field whose type cannot round-trip
    (an object with resolver fields that hold no data) is refused then, not at request time."""

    def __init__(self, field_type: Any, where: str) -> None:
        self._build = self._for(field_type, where)

    def __call__(self, data: Any, scope: Scope | None = None) -> Any:
        """`scope` is the request's, given to every rebuilt object that holds one (a value
        for such a type cannot be rebuilt without it)."""
        return self._build(data, scope)

    def _for(self, t: Any, where: str):  # noqa: ANN202, C901
        if typing.get_origin(t) is typing.Annotated:  # strawberry.Private[X]
            return self._for(typing.get_args(t)[0], where)
        if isinstance(t, StrawberryOptional):
            inner = self._for(t.of_type, where)
            return lambda d, s: None if d is None else inner(d, s)
        if isinstance(t, StrawberryList):
            inner = self._for(t.of_type, where)

            def build_list(d: Any, s: Scope) -> list[Any]:
                if not isinstance(d, list):
                    raise TypeError("expected a list")
                return [inner(x, s) for x in d]

            return build_list
        if has_object_definition(t):
            definition = t.__strawberry_definition__
            types = {f.python_name: f.type for f in definition.fields}
            # Strawberry types are dataclasses, but has_object_definition's TypeGuard narrows to
            # a protocol that does not say so.
            names = [f.name for f in dataclasses.fields(t) if f.init]  # type: ignore[arg-type]
            fields = {n: self._for(types[n], f"{where}.{n}") for n in names if n != SCOPE_FIELD}

            def build(d: Any, s: Scope) -> Any:
                if not isinstance(d, dict) or d.keys() != fields.keys():
                    raise TypeError("expected an object with exactly the type's fields")
                kwargs = {n: rebuild(d[n], s) for n, rebuild in fields.items()}
                if SCOPE_FIELD in names:
                    if s is None:
                        raise TypeError(f"{where}: rebuilding a scoped object needs the request's scope")
                    kwargs[SCOPE_FIELD] = s
                return t(**kwargs)

            return build
        enum = getattr(t, "wrapped_cls", None)
        if enum is not None and hasattr(enum, "__members__"):
            return lambda d, _s: enum(d)
        supertype = getattr(t, "__supertype__", None)  # NewType scalars (BigInt)
        if supertype is not None:
            return self._for(supertype, where)
        checks: dict[Any, Any] = {
            bool: lambda d: isinstance(d, bool),
            int: lambda d: isinstance(d, int) and not isinstance(d, bool),
            float: lambda d: isinstance(d, int | float) and not isinstance(d, bool),
            str: lambda d: isinstance(d, str),
            datetime: lambda d: isinstance(d, datetime),
            date: lambda d: isinstance(d, date) and not isinstance(d, datetime),
        }
        if t in checks:
            check = checks[t]

            def scalar(d: Any, _s: Scope) -> Any:
                if not check(d):
                    raise TypeError(f"expected {t.__name__}")
                return float(d) if t is float else d

            return scalar
        if getattr(t, "_scalar_definition", None) is not None:
            return lambda d, _s: d
        raise TypeError(f"{where}: the field cache cannot store values of type {t!r}")


__all__ = ["Rebuilder", "dumps", "loads"]
