"""The rules on merchant input that are patterns: matched whole, ASCII digits only.

``re.match`` with ``^…$`` also accepts a value that ends in "\\n" ("$" matches before a final
newline), and ``\\d``, ``str.isdigit()`` and ``int()`` take "\N{ARABIC-INDIC DIGIT THREE}" and other non-ASCII digits.
Each rule gets the cases that once passed, then a property over inserted characters.
"""

from __future__ import annotations

import unicodedata
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from lisoloo.errors import InvalidCursorError
from lisoloo.identifiers import (
    is_message_id,
    is_organization_id,
    is_schedule_id,
    new_message_id,
    new_organization_id,
    new_schedule_id,
)
from lisoloo.models import RecurringSchedule, SendRequest, check_sender_id
from lisoloo.recurrence import check_cron
from lisoloo.status_report import parse_cursor

BASE: dict[str, Any] = {"to": ["+254712345678"], "message": "x"}


def accepts(**fields: Any) -> bool:
    try:
        SendRequest.model_validate({**BASE, **fields})
    except ValidationError:
        return False
    return True


def cron_accepted(cron: str) -> bool:
    try:
        check_cron(cron)
    except ValueError:
        return False
    return True


# Digits str.isdigit(), "\\d" and int() take besides 0-9: Arabic-Indic, Extended Arabic-Indic, N'Ko.
FOREIGN_DIGITS = ["\N{ARABIC-INDIC DIGIT ZERO}", "\N{EXTENDED ARABIC-INDIC DIGIT FIVE}", "\N{NKO DIGIT THREE}"]


def arabic_indic(digits: str) -> str:
    """``digits`` (0-9) written in Arabic-Indic digits, which int() reads as the same number."""
    return digits.translate(str.maketrans("0123456789", "".join(chr(0x0660 + n) for n in range(10))))


def is_control_or_foreign_digit(character: str) -> bool:
    return unicodedata.category(character) == "Cc" or (character.isdigit() and not character.isascii())


@pytest.mark.parametrize(
    ("sender_id", "accepted"),
    [
        ("LISOLOO", True),
        ("ACME-OTP", True),
        ("+254712345678", True),
        ("ABC\n", False),  # "$" matched before the final newline: this was accepted
        ("+254712\n", False),
        ("ABC\r", False),
        ("A\tB", False),
        (arabic_indic("123"), False),
        ("+" + arabic_indic("254712"), False),
        ("ABC²", False),
        ("TOO-LONG-SENDER", False),
    ],
)
def test_sender_ids(sender_id: str, accepted: bool) -> None:
    assert accepts(sender_id=sender_id) is accepted


@pytest.mark.parametrize(
    ("reference", "accepted"),
    [
        ("order-1182", True),
        ("a b/c:d", True),
        ("abc\n", False),  # accepted, and echoed back with its newline
        ("abc\r\n", False),
        ("\nabc", False),
        ("é", False),
        ("x" * 65, False),
    ],
)
def test_references(reference: str, accepted: bool) -> None:
    assert accepts(reference=reference) is accepted


@pytest.mark.parametrize(
    ("cron", "accepted"),
    [
        ("0 9 * * MON", True),
        ("*/15 8-17 * * 1-5", True),
        ("0 9 * * *\n", False),  # croniter accepts both of these
        (arabic_indic("0") + " 9 * * *", False),
        ("0 " + arabic_indic("9") + " * * *", False),
        ("0\t9 * * *", False),
        ("0 9 * * *\r", False),
        ("0 9 * * MON\x00", False),
    ],
)
def test_crons(cron: str, accepted: bool) -> None:
    assert cron_accepted(cron) is accepted
    assert accepts(recurring_schedule={"cron": cron}) is accepted


@pytest.mark.parametrize(("count", "accepted"), [(12, True), ("12", False), ("12\n", False), (12.5, False)])
def test_max_occurrences_is_a_json_integer(count: Any, accepted: bool) -> None:
    assert accepts(recurring_schedule={"cron": "0 9 * * MON", "max_occurrences": count}) is accepted


def test_a_stored_recurrence_loads_under_the_rules_of_the_day_it_was_accepted() -> None:
    # Given a recurrence stored before the cron rule tightened (the sweep must still release it)
    stored = '{"cron": "0 9 * * *\\n", "timezone": "UTC", "end_at": null, "max_occurrences": 3}'
    # Then it loads as stored, while the same cron in a request is refused
    assert RecurringSchedule.stored(stored).cron == "0 9 * * *\n"
    assert not accepts(recurring_schedule={"cron": "0 9 * * *\n"})


@pytest.mark.parametrize(
    ("check", "make"),
    [(is_message_id, new_message_id), (is_organization_id, new_organization_id), (is_schedule_id, new_schedule_id)],
)
def test_identifiers_are_matched_whole(check: Any, make: Any) -> None:
    identifier = make()
    assert check(identifier)
    assert not check(identifier + "\n")
    assert not check(" " + identifier)


@pytest.mark.parametrize(("cursor", "position"), [(None, 0), ("0", 0), ("100", 100), ("00042", 42)])
def test_cursors_are_positions(cursor: str | None, position: int) -> None:
    assert parse_cursor(cursor) == position


@pytest.mark.parametrize("cursor", ["", "-1", "1e3", "²", arabic_indic("100"), "100\n", " 100", "1_00", "123456"])
def test_cursors_that_are_not_positions_are_refused(cursor: str) -> None:
    with pytest.raises(InvalidCursorError):
        parse_cursor(cursor)


# --- properties: whatever character is slipped in, what is accepted is clean -------------------


@given(
    base=st.sampled_from(["LISOLOO", "ACME-OTP", "A1", "+254712345678", "12345"]),
    character=st.one_of(st.characters(), st.sampled_from(["\n", "\t", "\r", "²", *FOREIGN_DIGITS])),
    where=st.integers(min_value=0, max_value=20),
)
def test_no_accepted_sender_id_holds_a_control_character_or_a_foreign_digit(
    base: str, character: str, where: int
) -> None:
    value = base[:where] + character + base[where:]
    try:
        check_sender_id(value)
    except ValueError:
        return
    assert not any(is_control_or_foreign_digit(c) for c in value), value


@given(
    base=st.sampled_from(["order-1182", "x", "INV 2026/7"]),
    character=st.one_of(st.characters(), st.sampled_from(["\n", "\t", "\r", "²", *FOREIGN_DIGITS])),
    where=st.integers(min_value=0, max_value=12),
)
def test_no_accepted_reference_holds_a_control_character_or_a_foreign_digit(
    base: str, character: str, where: int
) -> None:
    value = base[:where] + character + base[where:]
    if accepts(reference=value):
        assert not any(is_control_or_foreign_digit(c) for c in value), value


@given(
    base=st.sampled_from(["0 9 * * MON", "*/15 * * * *", "30 2 1 * *", "0 0 * * 1-5"]),
    character=st.one_of(st.characters(), st.sampled_from(["\n", "\t", "\r", "²", *FOREIGN_DIGITS])),
    where=st.integers(min_value=0, max_value=14),
)
def test_no_accepted_cron_holds_a_control_character_or_a_foreign_digit(base: str, character: str, where: int) -> None:
    value = base[:where] + character + base[where:]
    if cron_accepted(value):
        assert not any(is_control_or_foreign_digit(c) for c in value), value
