"""Deliver-by's rules (DESIGN §8): with a recipient sent through two carriers, delivered wins,
the row moves once (so the counters and the merchant's events are as without deliver-by),
and a failure ends it only when no leg can still deliver. Receipts in every order."""

from __future__ import annotations

from itertools import permutations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lisoloo.deliver_by import (
    Action,
    Leg,
    LegsState,
    after,
    at_deliver_by,
    deliver_by_passed,
    failure_to_write,
    fallback_refused,
    leg_of,
    on_fallback_refused,
    on_receipt,
    settle,
    state_of,
)
from lisoloo.status import SmsStatus

D, U, X = SmsStatus.DELIVERED, SmsStatus.UNDELIVERED, SmsStatus.EXPIRED
SENT = LegsState(fallback_sent=True)


@pytest.mark.parametrize(
    ("state", "leg", "status", "expected"),
    [
        # Before the deliver-by time: delivered ends it; a failure waits for the fallback
        (LegsState(), Leg.FIRST, D, Action.DELIVERED),
        (LegsState(), Leg.FIRST, U, Action.NOTE_FAILURE),
        (LegsState(), Leg.FALLBACK, D, Action.NOTHING),  # no fallback went: not ours
        # Past the deliver-by time with no fallback (none to go to): the first leg decides
        (LegsState(deliver_by_passed=True), Leg.FIRST, U, Action.FAILED),
        # After the fallback went: delivered from either wins
        (SENT, Leg.FIRST, D, Action.DELIVERED),
        (SENT, Leg.FALLBACK, D, Action.DELIVERED),
        (LegsState(fallback_sent=True, first_failure=U), Leg.FALLBACK, D, Action.DELIVERED),
        # a failure ends it only once both legs failed
        (SENT, Leg.FALLBACK, U, Action.NOTE_FAILURE),
        (LegsState(fallback_sent=True, first_failure=U), Leg.FALLBACK, X, Action.FAILED),
        (LegsState(fallback_sent=True, fallback_failure=X), Leg.FIRST, U, Action.FAILED),
        # a leg saying it again changes nothing
        (LegsState(fallback_sent=True, first_failure=U), Leg.FIRST, U, Action.NOTHING),
        # Final absorbs everything, delivered too; a non-final receipt is not these rules' business
        (LegsState(final=True), Leg.FIRST, D, Action.NOTHING),
        (LegsState(final=True, fallback_sent=True), Leg.FALLBACK, D, Action.NOTHING),
        (SENT, Leg.FIRST, SmsStatus.ENROUTE, Action.NOTHING),
    ],
)
def test_a_receipt_from_either_leg(state: LegsState, leg: Leg, status: SmsStatus, expected: Action) -> None:
    assert on_receipt(state, leg, status) is expected


@pytest.mark.parametrize(
    ("state", "next_carrier", "expected"),
    [
        (LegsState(), True, Action.SEND_FALLBACK),
        (LegsState(first_failure=U), True, Action.SEND_FALLBACK),
        (LegsState(), False, Action.NOTHING),  # one-carrier route: the first carrier decides
        (LegsState(first_failure=U), False, Action.FAILED),
        (LegsState(final=True), True, Action.NOTHING),  # delivered in time: no second copy
        (SENT, True, Action.NOTHING),  # once only
        # the time already handled (no next carrier then; a redelivered sweep item, or a route
        # that gained a carrier since, finds it again): still once only
        (LegsState(deliver_by_passed=True), True, Action.NOTHING),
    ],
)
def test_the_deliver_by_time(state: LegsState, next_carrier: bool, expected: Action) -> None:
    assert at_deliver_by(state, next_carrier=next_carrier) is expected


def test_a_refused_fallback_leaves_the_first_leg_to_decide() -> None:
    assert on_fallback_refused(LegsState(fallback_sent=True)) is Action.NOTHING
    assert on_fallback_refused(LegsState(fallback_sent=True, first_failure=U)) is Action.FAILED


def test_after_a_refused_fallback_the_first_legs_failure_ends_the_recipient() -> None:
    # Given a fallback that went out and was provably refused, before the first leg reported
    state = fallback_refused(deliver_by_passed(LegsState(fallback_sent=True)))
    # When the first carrier then reports a failure
    # Then it ends the recipient now (not the 24-hour deadline), with that carrier's failure
    assert on_receipt(state, Leg.FIRST, U) is Action.FAILED
    assert failure_to_write(state, Leg.FIRST, U) is U
    # and the refused carrier cannot speak for the recipient
    assert on_receipt(state, Leg.FALLBACK, D) is Action.NOTHING
    # and the time is not handled a second time
    assert at_deliver_by(state, next_carrier=True) is Action.NOTHING


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        # both legs' failures noted by writes that raced: the later write ends it
        (LegsState(fallback_sent=True, deliver_by_passed=True, first_failure=U, fallback_failure=X), Action.FAILED),
        # one leg noted, the other may still deliver
        (LegsState(fallback_sent=True, deliver_by_passed=True, first_failure=U), Action.NOTHING),
        (LegsState(fallback_sent=True, deliver_by_passed=True, fallback_failure=X), Action.NOTHING),
        # before the deliver-by time a first failure waits for the fallback
        (LegsState(first_failure=U), Action.NOTHING),
        # past it with no fallback: the first leg was the only one
        (LegsState(deliver_by_passed=True, first_failure=U), Action.FAILED),
        (LegsState(final=True, fallback_sent=True, first_failure=U, fallback_failure=X), Action.NOTHING),
    ],
)
def test_settling_the_row_as_written_after_a_note(state: LegsState, expected: Action) -> None:
    assert settle(state) is expected


def test_two_failures_applied_at_once_still_end_the_recipient() -> None:
    # Given a row with both legs out, and each leg's failure read against the same state
    state = LegsState(fallback_sent=True, deliver_by_passed=True)
    first, fallback = on_receipt(state, Leg.FIRST, U), on_receipt(state, Leg.FALLBACK, X)
    assert (first, fallback) == (Action.NOTE_FAILURE, Action.NOTE_FAILURE)
    # When both notes are written
    written = after(after(state, first, Leg.FIRST, U), fallback, Leg.FALLBACK, X)
    # Then the row as written settles to one failure
    assert settle(written) is Action.FAILED


def test_the_first_definitive_failure_is_the_one_written() -> None:
    state = LegsState(fallback_sent=True, first_failure=X)
    assert on_receipt(state, Leg.FALLBACK, U) is Action.FAILED
    assert failure_to_write(state, Leg.FALLBACK, U) is X
    assert failure_to_write(LegsState(deliver_by_passed=True), Leg.FIRST, U) is U


Event = tuple[str, SmsStatus | None]


def run(
    events: list[Event], *, next_carrier: bool = True, refused: bool = False
) -> tuple[LegsState, list[Action], SmsStatus | None]:
    """Play events (``first`` / ``fallback`` receipts, ``deliver_by``) on one row; returns the
    state, the moves made and the status the row ends in (None: not final). ``refused``: the
    fallback carrier provably does not take it."""
    state, final = LegsState(), None
    moves: list[Action] = []
    for name, status in events:
        if name == "deliver_by":
            action = at_deliver_by(state, next_carrier=next_carrier)
            written = failure_to_write(state)
            state = deliver_by_passed(after(state, action))
            if action is Action.SEND_FALLBACK and refused:
                action = on_fallback_refused(state)
                state = fallback_refused(after(state, action))
        else:
            assert status is not None
            leg = Leg(name)
            action = on_receipt(state, leg, status)
            written = status if action is Action.DELIVERED else failure_to_write(state, leg, status)
            state = after(state, action, leg, status)
            if action is Action.NOTE_FAILURE and settle(state) is Action.FAILED:
                action, written = Action.FAILED, failure_to_write(state)
                state = after(state, action)
        if action in (Action.DELIVERED, Action.FAILED):
            moves.append(action)
            final = written
    return state, moves, final


outcomes = st.sampled_from([D, U, X])


@given(outcomes, outcomes, st.booleans(), st.booleans())
def test_in_every_order_the_row_moves_once_and_delivered_wins(
    first: SmsStatus, fallback: SmsStatus, next_carrier: bool, refused: bool
) -> None:
    events: list[Event] = [("first", first), ("deliver_by", None), ("fallback", fallback)]
    for order in permutations(events):
        state, moves, final = run(list(order), next_carrier=next_carrier, refused=refused)
        fallback_went = next_carrier and not refused
        fallback_counted = fallback_went and order.index(("deliver_by", None)) < order.index(("fallback", fallback))
        delivered_in_time = first is D and order.index(("first", first)) < order.index(("deliver_by", None))
        # Then the row moved at most once: the counters and the merchant's events as without deliver-by
        assert len(moves) <= 1
        assert (final is not None) == bool(moves)
        # and it is delivered exactly when a leg that counts delivered
        assert (final is D) == (first is D or (fallback_counted and fallback is D)), order
        # a failure only when every leg that went failed, the first definitive failure written
        if final is not None and final is not D:
            assert first is not D and (not fallback_counted or fallback is not D)
            assert final is first or (fallback_counted and final is fallback)
        # no second copy goes when the first was delivered before the deliver-by time
        assert not (delivered_in_time and state.fallback_sent)
        # and with both legs heard from (or no fallback possible), the recipient is final
        if (fallback_counted or not next_carrier or refused) or first is D:
            assert state.final, order


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        # never armed (no deliver_within, no next carrier, several parts): one leg, as before
        ({"tier": 3, "carrier": "a"}, LegsState(deliver_by_passed=True)),
        # armed, its time still to come
        ({"tier": 3, "carrier": "a", "due_kind": "deliver_by"}, LegsState()),
        # armed and a first failure noted
        (
            {"tier": 3, "carrier": "a", "due_kind": "deliver_by", "first_failure": "undelivered"},
            LegsState(first_failure=U),
        ),
        # the fallback went, and failed
        (
            {"tier": 3, "carrier": "a", "fallback_carrier": "b", "fallback_failure": "expired"},
            LegsState(fallback_sent=True, deliver_by_passed=True, fallback_failure=X),
        ),
        # a carrier retry waiting is not deliver-by
        ({"tier": 2, "carrier": "a", "due_kind": "retry"}, LegsState(deliver_by_passed=True)),
        ({"tier": 4, "carrier": "a"}, LegsState(final=True, deliver_by_passed=True)),
    ],
)
def test_a_row_as_the_rules_read_it(row: dict[str, object], expected: LegsState) -> None:
    assert state_of(row) == expected


def test_which_leg_a_carrier_speaks_for() -> None:
    row = {"carrier": "a", "fallback_carrier": "b"}
    assert (leg_of(row, "a"), leg_of(row, "b"), leg_of(row, "c")) == (Leg.FIRST, Leg.FALLBACK, None)
    assert leg_of({"carrier": "a"}, "b") is None
