"""Latency histograms and per-group figures (pure): what analytics and route quality stand on."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lisoloo.histograms import (
    BUCKET_BOUNDS_MS,
    BUCKETS,
    GroupFigures,
    Outcome,
    bucket_of,
    bucket_range,
    merge,
    percentile,
    tally,
)

latencies = st.lists(st.floats(min_value=0, max_value=200_000_000, allow_nan=False), min_size=1, max_size=200)
fractions = st.sampled_from([0.5, 0.95, 0.99, 1.0]) | st.floats(min_value=0.01, max_value=1.0)


@pytest.mark.parametrize(
    ("latency", "bucket"),
    [
        (-5, 0),
        (0, 0),
        (250, 0),
        (250.5, 1),
        (1_000, 2),
        (86_400_000, len(BUCKET_BOUNDS_MS) - 1),
        (86_400_001, BUCKETS - 1),
    ],
)
def test_bucket_table(latency: float, bucket: int) -> None:
    assert bucket_of(latency) == bucket


@given(values=latencies, fraction=fractions)
def test_a_percentile_lies_in_the_bucket_of_the_true_value(values: list[float], fraction: float) -> None:
    # The true percentile: the ceil(f * n)-th smallest value
    ordered = sorted(values)
    rank = max(1, -(-fraction * len(ordered) // 1))
    true_value = ordered[int(rank) - 1]
    estimate = percentile(Counter(bucket_of(value) for value in values), fraction)
    assert estimate is not None
    lower, upper = bucket_range(bucket_of(true_value))
    assert lower <= estimate <= upper


@given(values=latencies)
def test_percentiles_never_decrease_with_the_fraction(values: list[float]) -> None:
    histogram = Counter(bucket_of(value) for value in values)
    estimates = [percentile(histogram, fraction) for fraction in (0.1, 0.5, 0.9, 0.95, 0.99, 1.0)]
    assert estimates == sorted(estimates)  # type: ignore[type-var]


def test_an_empty_histogram_has_no_percentile() -> None:
    assert percentile(Counter(), 0.5) is None and GroupFigures().latency_ms(0.95) is None


outcomes = st.builds(
    Outcome,
    submitted=st.booleans(),
    delivered=st.booleans(),
    failed=st.booleans(),
    latency_ms=st.none() | st.floats(min_value=0, max_value=10**8, allow_nan=False),
)


@given(items=st.lists(st.tuples(st.sampled_from("abc"), outcomes), max_size=60), cut=st.integers(0, 60))
def test_tallies_of_parts_merge_to_the_tally_of_the_whole(items: list[tuple[str, Outcome]], cut: int) -> None:
    # Batches are counted apart and added up in storage: the order and split must not matter
    def tally_of(part: list[tuple[str, Outcome]]) -> dict[str, GroupFigures]:
        return tally(part, lambda item: [item[0], "all"], lambda item: item[1])

    whole = tally_of(items)
    assert merge([tally_of(items[:cut]), tally_of(items[cut:])]) == whole
    if items:
        assert whole["all"].delivered == sum(outcome.delivered for _, outcome in items)
        assert sum(whole["all"].latency.values()) == sum(outcome.latency_ms is not None for _, outcome in items)


def test_delivery_rate_is_delivered_among_finals() -> None:
    assert GroupFigures(submitted=10, delivered=3, failed=1).delivery_rate == 0.75
    assert GroupFigures(submitted=10).delivery_rate is None
