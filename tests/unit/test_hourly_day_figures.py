"""Every day figure says how a day's rolled-up hours contribute to it: summed from the hourly
rollup, derived from those sums (the mean), or not from hours at all (then a day needing it is
read raw)."""

from statsgraph.db.catalogue import DAY, HOURLY_DAY, MODEL_DAY, NOT_HOURLY

DERIVED = {"avg_response_ms"}


def test_every_day_figure_is_placed_once() -> None:
    names = [f.name for f in DAY]
    assert set(names) == set(HOURLY_DAY) | NOT_HOURLY | DERIVED
    assert not (set(HOURLY_DAY) & NOT_HOURLY) and not (DERIVED & (set(HOURLY_DAY) | NOT_HOURLY))


def test_the_mean_has_its_exact_parts() -> None:
    assert {"response_ms_sum", "response_count"} <= set(HOURLY_DAY)


def test_a_model_day_comes_whole_from_hours() -> None:
    assert {f.name for f in MODEL_DAY} <= set(HOURLY_DAY) | DERIVED
