"""Cached values are JSON that round-trips to the field's own types (no Redis)."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from strawberry.types.base import StrawberryList, StrawberryOptional

from statsgraph.resolvers.cache.codec import Rebuilder, dumps, loads
from statsgraph.schema.common import ActiveCount, ProviderState, Quota


def test_dates_and_instants_come_back_as_the_same_types() -> None:
    value = {"d": date(2026, 3, 8), "at": datetime(2026, 3, 8, 7, 0, 1, tzinfo=timezone.utc), "n": [1, 2.5]}
    assert loads(dumps(value)) == value


def test_objects_are_rebuilt_from_plain_data() -> None:
    rebuild = Rebuilder(StrawberryList(Quota), "test")
    quotas = [Quota(limit_usd=None, used_usd=1.0, used_percent=None), Quota(limit_usd=2.0, used_usd=1.0,
                                                                            used_percent=50.0)]
    assert rebuild(loads(dumps(quotas))) == quotas
    assert Rebuilder(StrawberryOptional(ActiveCount), "test")(None) is None


def test_enums_round_trip_by_value() -> None:
    assert loads(dumps(ProviderState.ACTIVE)) == "active"


def test_a_type_it_cannot_rebuild_is_refused_when_built() -> None:
    with pytest.raises(TypeError, match="cannot store"):
        Rebuilder(complex, "test")


def test_pickles_are_never_produced() -> None:
    with pytest.raises(TypeError):
        dumps(object())
