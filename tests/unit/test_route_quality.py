"""Route quality and demotion (DESIGN §8): the figures, the rolling judgement, and what a
demotion does to a route. Pure: tables and properties."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lisoloo.quality_rules import (
    DemotionThresholds,
    RouteFigures,
    Verdict,
    bucket_start,
    judge,
    no_final_receipt,
    receipt,
    recent,
)
from lisoloo.routing import Route, RouteTarget, carrier_order, demote

THRESHOLDS = DemotionThresholds(min_finals=200, delivery_rate=0.6, fast_share=0.3, margin=0.05)


def figures(delivered: int, failed: int = 0, no_final: int = 0, fast: int = 0) -> RouteFigures:
    return RouteFigures(delivered=delivered, failed=failed, no_final=no_final, fast=fast)


@pytest.mark.parametrize(
    ("recent_figures", "was_demoted", "expected"),
    [
        # Too few finals to judge: normal, and a demoted carrier comes back on probation.
        (figures(10, failed=189), False, Verdict.NORMAL),
        (figures(10, failed=189), True, Verdict.NORMAL),
        # Healthy.
        (figures(180, failed=20, fast=5), False, Verdict.NORMAL),
        # Delivery rate below the threshold (timeouts count against it).
        (figures(110, failed=50, no_final=40), False, Verdict.DEMOTED),
        (figures(119, failed=81), False, Verdict.DEMOTED),
        (figures(120, failed=80), False, Verdict.NORMAL),
        # Too many implausibly fast delivered receipts, though all delivered (fake DLRs).
        (figures(200, fast=61), False, Verdict.DEMOTED),
        (figures(200, fast=60), False, Verdict.NORMAL),
        # A demoted carrier recovers only clear of the thresholds by the margin.
        (figures(120, failed=80), True, Verdict.DEMOTED),
        (figures(130, failed=70), True, Verdict.NORMAL),
        (figures(200, fast=55), True, Verdict.DEMOTED),
        (figures(200, fast=49), True, Verdict.NORMAL),
    ],
)
def test_a_carrier_is_judged_on_its_recent_finals(
    recent_figures: RouteFigures, was_demoted: bool, expected: Verdict
) -> None:
    # When it is judged; Then the verdict is the table's, with a reason
    judgement = judge(recent_figures, was_demoted, THRESHOLDS)
    assert judgement.verdict is expected
    assert judgement.reason


def test_a_receipt_under_a_second_after_the_hand_off_is_fast_only_when_delivered() -> None:
    assert receipt(delivered=True, latency_ms=400).fast == 1
    assert receipt(delivered=True, latency_ms=1_000).fast == 0
    assert receipt(delivered=False, latency_ms=400).fast == 0
    assert receipt(delivered=True, latency_ms=None) == RouteFigures(delivered=1)
    assert no_final_receipt().finals == 1 and no_final_receipt().delivery_rate == 0


def test_recent_sums_the_newest_buckets_until_enough_finals() -> None:
    # Given an old bad hour and two newer good ones
    buckets = {
        "2026-12-07T00:00:00Z": figures(0, failed=500),
        "2026-12-07T01:00:00Z": figures(150),
        "2026-12-07T02:00:00Z": figures(100),
    }
    # Then 200 finals are found in the two newest, and the old hour is not judged
    assert recent(buckets, 200).finals == 250
    assert judge(recent(buckets, 200), True, THRESHOLDS).verdict is Verdict.NORMAL
    # and with a larger N the old hour is reached
    assert recent(buckets, 300).finals == 750


@given(st.lists(st.tuples(st.integers(0, 50), st.integers(0, 50)), max_size=12), st.integers(1, 400))
def test_recent_stops_at_the_first_bucket_that_reaches_n(counts: list[tuple[int, int]], n: int) -> None:
    buckets = {f"2026-12-07T{hour:02d}:00:00Z": figures(d, failed=f) for hour, (d, f) in enumerate(counts)}
    total = recent(buckets, n)
    everything = sum((f.finals for f in buckets.values()), 0)
    # Then it holds all finals when they are fewer than N, else at least N
    assert total.finals == everything if everything < n else total.finals >= n


def test_buckets_start_on_their_boundary() -> None:
    moment = datetime(2026, 12, 7, 2, 59, 59, tzinfo=UTC)
    assert bucket_start(moment, 3_600) == "2026-12-07T02:00:00Z"
    assert bucket_start(moment, 15) == "2026-12-07T02:59:45Z"


ROUTE = Route("*", (RouteTarget("a", 3), RouteTarget("b", 1), RouteTarget("c", 0)))


@pytest.mark.parametrize(
    ("down", "expected"),
    [
        (set(), ROUTE),
        ({"a"}, Route("*", (RouteTarget("b", 1), RouteTarget("c", 0), RouteTarget("a", 0)))),
        ({"b"}, Route("*", (RouteTarget("a", 3), RouteTarget("c", 0), RouteTarget("b", 0)))),
        ({"c"}, Route("*", (RouteTarget("a", 3), RouteTarget("b", 1), RouteTarget("c", 0)))),
        # Every weighted carrier demoted: nobody is better, the route stays as it is.
        ({"a", "b"}, ROUTE),
        ({"a", "b", "c"}, ROUTE),
    ],
)
def test_a_demoted_carrier_gives_its_weight_to_the_others_and_fails_over_last(down: set[str], expected: Route) -> None:
    assert demote([ROUTE], lambda name: name in down) == [expected]


@given(st.text(alphabet="abcdef0123456789._", min_size=1, max_size=40))
def test_a_demoted_carrier_is_never_the_first_choice(reference: str) -> None:
    order = carrier_order(demote([ROUTE], lambda name: name == "a")[0], reference)
    assert order[0] == "b" and order[-1] == "a"
