"""Route resolution and carrier order (DESIGN §8): precedence by table, the rest by property."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lisoloo.breaker import CircuitBreakers
from lisoloo.routing import (
    Route,
    RouteTarget,
    carrier_order,
    check_route,
    implicit_default_carrier,
    match_kind,
    parse_target,
    plan_routes,
    resolve,
)

KE_MOBILE = "+254712345678"  # Safaricom's +2547 block
ORG, OTHER_ORG = "org_a", "org_b"


def route(match: str, carrier: str, org_id: str | None = None) -> Route:
    return Route(match, (RouteTarget(carrier),), org_id)


TABLE = [
    route("*", "any"),
    route("KE", "kenya"),
    route("+254", "prefix-254"),
    route("+2547", "prefix-2547"),
    route("KE", "org-kenya", ORG),
    route("*", "org-any", OTHER_ORG),
]


@pytest.mark.parametrize(
    ("routes", "org_id", "number", "expected"),
    [
        # Given only the catch-all: it serves everyone
        pytest.param([route("*", "any")], ORG, KE_MOBILE, "any", id="star"),
        # A country beats *
        pytest.param([route("*", "any"), route("KE", "kenya")], ORG, KE_MOBILE, "kenya", id="country-over-star"),
        # A prefix beats a country, and a longer prefix a shorter one
        pytest.param(TABLE[:3], OTHER_ORG, KE_MOBILE, "prefix-254", id="prefix-over-country"),
        pytest.param(TABLE[:4], "org_c", KE_MOBILE, "prefix-2547", id="longer-prefix"),
        # An organization's route beats any global one, even a more specific global one
        pytest.param(TABLE, ORG, KE_MOBILE, "org-kenya", id="org-over-global"),
        pytest.param(TABLE, OTHER_ORG, KE_MOBILE, "org-any", id="org-star-over-global-prefix"),
        # Another organization's route never applies
        pytest.param([route("KE", "org-kenya", ORG)], OTHER_ORG, KE_MOBILE, None, id="other-org"),
        # A prefix that does not match, a country that is not the number's
        pytest.param([route("+255", "tz"), route("NG", "ng")], ORG, KE_MOBILE, None, id="no-match"),
        pytest.param(TABLE[:4], ORG, "+2348031234567", "any", id="nigeria-falls-to-star"),
    ],
)
def test_the_most_specific_route_wins(routes: list[Route], org_id: str, number: str, expected: str | None) -> None:
    found = resolve(routes, org_id, number)
    assert (found.carriers[0] if found else None) == expected


@pytest.mark.parametrize(
    ("match", "valid"),
    [
        ("*", True),
        ("KE", True),
        ("+2547", True),
        ("+", False),
        ("2547", False),
        ("ke", False),
        ("XX", False),
        ("+2547a", False),
        ("**", False),
        ("+1234567890123456", False),
    ],
)
def test_matches_are_prefixes_countries_or_star(match: str, valid: bool) -> None:
    assert (match_kind(match) is not None) is valid


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sandbox", RouteTarget("sandbox", 1)),
        ("sandbox-b:3", RouteTarget("sandbox-b", 3)),
        ("k:0", RouteTarget("k", 0)),
    ],
)
def test_targets_read_carrier_and_weight(text: str, expected: RouteTarget) -> None:
    assert parse_target(text) == expected


@pytest.mark.parametrize("text", ["Sandbox", "sandbox:x", "sandbox:-1", "sandbox:1001", ":3", "a b"])
def test_bad_targets_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_target(text)


@pytest.mark.parametrize(
    "bad",
    [
        Route("*", ()),
        Route("*", (RouteTarget("a"), RouteTarget("a"))),
        Route("*", (RouteTarget("a", 0),)),
        Route("K", (RouteTarget("a"),)),
    ],
)
def test_routes_that_cannot_work_are_refused(bad: Route) -> None:
    with pytest.raises(ValueError):
        check_route(bad)


def test_the_template_carrier_is_the_implicit_star_route_until_one_is_stored() -> None:
    # Given no stored route: the template's Carrier serves everything
    assert plan_routes([("r1", KE_MOBILE)], [], ORG, "sandbox").orders == {"r1": ("sandbox",)}
    # A stored global * replaces it; an org's * does not
    assert plan_routes([("r1", KE_MOBILE)], [route("*", "b")], ORG, "sandbox").orders == {"r1": ("b",)}
    assert plan_routes([("r1", KE_MOBILE)], [route("*", "x", OTHER_ORG)], ORG, "sandbox").orders == {"r1": ("sandbox",)}
    # "none" turns it off: what no route serves is unroutable (1407)
    assert implicit_default_carrier("none") is None
    assert plan_routes([("r1", KE_MOBILE)], [route("+255", "tz")], ORG, None).unroutable == ("r1",)


carrier_names = st.sampled_from(["a", "b", "c", "d"])
targets = st.lists(
    st.tuples(carrier_names, st.integers(min_value=0, max_value=5)), min_size=1, max_size=4, unique_by=lambda t: t[0]
).filter(lambda items: sum(weight for _, weight in items) > 0)
references = st.text(alphabet="abcdef0123456789._", min_size=1, max_size=40)


@given(targets, references)
def test_every_carrier_appears_once_and_the_first_has_weight(items: list[tuple[str, int]], reference: str) -> None:
    found = Route("*", tuple(RouteTarget(name, weight) for name, weight in items))
    order = carrier_order(found, reference)
    # Then the order is a permutation of the route's carriers, the same every time for the
    # recipient (a redelivered chunk picks the same carrier), led by one with weight > 0
    assert sorted(order) == sorted(found.carriers)
    assert carrier_order(found, reference) == order
    assert dict(items)[order[0]] > 0
    # and the failover list keeps the route's order
    assert list(order[1:]) == [name for name in found.carriers if name != order[0]]


def test_weights_share_first_choices_in_proportion() -> None:
    found = Route("*", (RouteTarget("a", 3), RouteTarget("b", 1)))
    firsts = [carrier_order(found, f"org_x.m.{index}")[0] for index in range(4_000)]
    assert 0.70 < firsts.count("a") / len(firsts) < 0.80


@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), max_size=30))
def test_a_breaker_opens_only_after_n_batches_in_a_row_that_took_nothing(batches: list[tuple[int, int]]) -> None:
    breakers = CircuitBreakers(failures=3, cooldown_seconds=10)
    in_a_row = 0
    for succeeded, failed in batches:
        assert breakers.allows("k", now=0.0) is (in_a_row < 3)
        if in_a_row >= 3:
            return
        breakers.record("k", succeeded=succeeded, failed=failed, now=0.0)
        # A batch with any message taken closes it; one that took nothing counts once, however big
        in_a_row = 0 if succeeded else in_a_row + (1 if failed else 0)


def test_an_open_breaker_half_opens_after_the_cooldown() -> None:
    breakers = CircuitBreakers(failures=2, cooldown_seconds=10)
    # Given two batches in a row that took nothing: open
    breakers.record("k", succeeded=0, failed=40, now=100.0)
    breakers.record("k", succeeded=0, failed=1, now=100.0)
    assert not breakers.allows("k", now=105.0)
    # After the cool-down one try goes through; one more failure opens it again at once
    assert breakers.allows("k", now=110.0)
    assert breakers.record("k", succeeded=0, failed=1, now=110.0)
    assert not breakers.allows("k", now=111.0)
    # A success after the next cool-down closes it
    assert breakers.allows("k", now=121.0)
    breakers.record("k", succeeded=1, failed=0, now=121.0)
    assert breakers.allows("k", now=121.5)
    # Another carrier was never affected
    assert breakers.allows("other", now=105.0)


def test_a_block_late_in_a_second_is_taken_from_the_next_and_sent_when_it_begins() -> None:
    from lisoloo.pacing import Pacer

    taken: list[tuple[int, int]] = []
    slept: list[float] = []

    class Counters:
        def take(self, carrier: str, second: int, wanted: int, limit: int) -> int:
            taken.append((second, wanted))
            return wanted

    # Given a clock 0.9 s into second 100
    pacer = Pacer(Counters(), clock=lambda: 100.9, sleep=slept.append)  # type: ignore[arg-type]
    # When a dispatcher asks for 30 at tps 20
    granted = pacer.acquire("k", tps=20, wanted=30, give_up_at=200.0)
    # Then it gets a block of 20 from second 101, and waits for 101 to begin before sending
    assert (granted, taken) == (20, [(101, 20)])
    assert slept == [pytest.approx(0.1)]


def test_a_full_second_waits_for_the_next_until_it_gives_up() -> None:
    from lisoloo.pacing import Pacer

    now = [100.2]

    class Full:
        def take(self, carrier: str, second: int, wanted: int, limit: int) -> int:
            return 0

    def sleep(seconds: float) -> None:
        now[0] += seconds

    pacer = Pacer(Full(), clock=lambda: now[0], sleep=sleep)  # type: ignore[arg-type]
    assert pacer.acquire("k", tps=20, wanted=5, give_up_at=103.0) == 0
    assert now[0] >= 102.0  # it waited second by second, then gave up


@given(
    st.lists(
        st.tuples(references, st.sampled_from([KE_MOBILE, "+2348031234567", "+255712345678"])),
        max_size=30,
        unique_by=lambda recipient: recipient[0],  # a chunk's references are distinct
    )
)
def test_a_plan_routes_each_recipient_once(recipients: list[tuple[str, str]]) -> None:
    routes = [route("+2547", "a"), route("NG", "b")]
    plan = plan_routes(recipients, routes, ORG, None)
    unique = dict(recipients)
    grouped = [reference for group in plan.first_choices().values() for reference in group]
    # Every recipient is either routed once or unroutable, never both
    assert sorted(grouped + list(plan.unroutable)) == sorted(unique)
    assert all(unique[reference] == "+255712345678" for reference in plan.unroutable)
