"""account.balance_low: the crossing rule as a table, and the event it makes."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from lisoloo.balance_alerts import BALANCE_LOW, Level, balance_low_event, crossed_low


def level(available: str, threshold: str | None) -> Level:
    return Level(Decimal(available), Decimal(threshold) if threshold is not None else None)


@pytest.mark.parametrize(
    ("old", "new", "crossed"),
    [
        # Money going out past the line: the one crossing
        (level("150.00", "100"), level("99.99", "100"), True),
        (level("100.00", "100"), level("99.99", "100"), True),  # exactly at it is not low yet
        (level("100.00", "100"), level("-5.00", "100"), True),  # into credit
        # Already below: more sends below tell nothing more
        (level("99.99", "100"), level("50.00", "100"), False),
        # Above or back to it: nothing (that re-arms the next crossing)
        (level("150.00", "100"), level("100.00", "100"), False),
        (level("50.00", "100"), level("150.00", "100"), False),
        (level("50.00", "100"), level("100.00", "100"), False),
        # No threshold: never
        (level("150.00", None), level("0.00", None), False),
        # The threshold set above what is available: low from now on, said once
        (level("50.00", None), level("50.00", "100"), True),
        (level("50.00", "40"), level("50.00", "100"), True),
        # Raised while already low, lowered below it, or removed: nothing
        (level("50.00", "60"), level("50.00", "100"), False),
        (level("50.00", "100"), level("50.00", "40"), False),
        (level("50.00", "100"), level("50.00", None), False),
        # A new account (no image before) that is low at once, or not
        (None, level("50.00", "100"), True),
        (None, level("500.00", "100"), False),
        # Exact decimals: a thousandth below is below
        (level("100.001", "100"), level("99.999", "100"), True),
    ],
)
def test_crossing_is_from_at_or_above_to_below(old: Level | None, new: Level, crossed: bool) -> None:
    # Given an account change's before and after; When the rule reads them; Then it crosses or not
    assert crossed_low(old, new) is crossed


def test_no_account_after_the_change_crosses_nothing() -> None:
    # Given an account that is gone after the change; Then nothing is told
    assert crossed_low(level("150.00", "100"), None) is False


def test_the_event_names_the_change_and_carries_amounts_as_strings() -> None:
    # Given a crossing to 99.5 under a threshold of 100
    at = datetime(2026, 5, 27, 10, 15, 30, tzinfo=UTC)
    event = balance_low_event("org_0123456789abcdef", "4210000000000001", level("99.5", "100"), "KES", at)
    # Then its id is the change's (a redelivery makes the same), and its body is shaped like the others
    assert event.event_id == "evt_balance_low_4210000000000001"
    assert (event.type, event.org_id, event.message_id) == (BALANCE_LOW, "org_0123456789abcdef", None)
    assert event.body == {
        "type": "account.balance_low",
        "timestamp": "2026-05-27T10:15:30Z",
        "data": {"available": "99.50", "threshold": "100.00", "currency": "KES"},
    }
