"""A usage report as the cache stores it, and back, checking every value on the way back.

The generic codec writes a `Report` as plain JSON (dataclasses as objects, tuples as lists,
histogram buckets as string keys); `report_from_plain` rebuilds it and raises `ValueError` on
anything of the wrong type, which the store treats as a miss."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ...core.analytics import Bucket, Dimension, Granularity, Group, Measures, Report
from ...core.latency import Latency

_INTS = ("requests", "error_requests", "input_tokens", "output_tokens", "cache_creation_tokens", "cache_read_tokens")
_FLOATS = ("cost", "actual_cost", "cache_creation_cost", "cache_read_cost")


def _obj(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError("not an object")
    return value


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise ValueError("not a list")
    return value


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("not an integer")
    return value


def _float(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("not a number")
    return float(value)


def _instant(value: Any) -> datetime:
    if not isinstance(value, datetime):
        raise ValueError("not an instant")
    return value


def _latency(value: Any) -> Latency:
    v = _obj(value)
    max_ms = v["max_ms"]
    return Latency(
        count=_int(v["count"]), sum_ms=_float(v["sum_ms"]), max_ms=None if max_ms is None else _float(max_ms),
        buckets={int(b): _int(n) for b, n in _obj(v["buckets"]).items()},
    )


def _measures(value: Any) -> Measures:
    v = _obj(value)
    m = Measures(response=_latency(v["response"]), first_byte=_latency(v["first_byte"]))
    for name in _INTS:
        setattr(m, name, _int(v[name]))
    for name in _FLOATS:
        setattr(m, name, _float(v[name]))
    return m


def _key_value(value: Any) -> object:
    if value is None or isinstance(value, bool | int | str):
        return value
    raise ValueError("not a key value")


def _group(value: Any, width: int) -> Group:
    v = _obj(value)
    key = tuple(_key_value(k) for k in _list(v["key"]))
    is_other = v["is_other"]
    if not isinstance(is_other, bool) or len(key) != (0 if is_other else width):
        raise ValueError("not a group of this report")
    return Group(key, _measures(v["measures"]), is_other)


def report_from_plain(value: Any) -> Report:
    v = _obj(value)
    dimensions = tuple(Dimension(d) for d in _list(v["dimensions"]))
    granularity = None if v["granularity"] is None else Granularity(v["granularity"])
    if not isinstance(v["time_zone"], str):
        raise ValueError("not a zone")
    width = len(dimensions)
    return Report(
        start=_instant(v["start"]), end=_instant(v["end"]), time_zone=v["time_zone"], granularity=granularity,
        dimensions=dimensions, totals=_measures(v["totals"]),
        groups=[_group(g, width) for g in _list(v["groups"])],
        buckets=[
            Bucket(_instant(b["start"]), _instant(b["end"]), _measures(b["totals"]),
                   [_group(g, width) for g in _list(b["groups"])])
            for b in map(_obj, _list(v["buckets"]))
        ],
    )


__all__ = ["report_from_plain"]
