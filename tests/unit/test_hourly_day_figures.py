"""Every day figure says how a day's rolled-up hours contribute to it: summed from the hourly
rollup, counted once over the hours' names (the distinct counts), derived from those sums (the
mean), or not from the hours' cells at all."""

from statsgraph.db.catalogue import DAY, HOURLY_DAY, HOURLY_SETS, MODEL_DAY, NOT_HOURLY, Agg

DERIVED = {"avg_response_ms"}


def test_every_day_figure_is_placed_once() -> None:
    names = [f.name for f in DAY]
    placed = [set(HOURLY_DAY), set(HOURLY_SETS), NOT_HOURLY, DERIVED]
    assert set(names) == set().union(*placed)
    assert sum(len(p) for p in placed) == len(names), "a figure placed twice"


def test_the_sets_are_the_distinct_counts() -> None:
    assert set(HOURLY_SETS) == {f.name for f in DAY if f.agg is Agg.DISTINCT}


def test_the_mean_has_its_exact_parts() -> None:
    assert {"response_ms_sum", "response_count"} <= set(HOURLY_DAY)


def test_a_model_day_comes_whole_from_hours() -> None:
    assert {f.name for f in MODEL_DAY} <= set(HOURLY_DAY) | DERIVED
