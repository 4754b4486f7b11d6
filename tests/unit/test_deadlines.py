"""When an open recipient times out, and which retry delays and timeouts are refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lisoloo.deadlines import recipient_deadline, retry_timing_problem
from lisoloo.entities import RecipientRecord
from lisoloo.settings import SettingsError, read_settings
from lisoloo.status import SmsStatus

STARTED = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
TIMEOUT = timedelta(hours=24)
DELAYS = (0, 3_600, 14_400)
DEADLINE = STARTED + TIMEOUT
MINUTE = timedelta(minutes=1)


def row(
    attempts: int = 1, handed_off_at: datetime | None = None, retry_due_at: datetime | None = None
) -> RecipientRecord:
    status = SmsStatus.PROCESSING if retry_due_at is not None else SmsStatus.SENT
    return RecipientRecord(
        index=0,
        status=status,
        updated_at=STARTED,
        attempts=attempts,
        handed_off_at=handed_off_at,
        retry_due_at=retry_due_at,
    )


@pytest.mark.parametrize(
    ("recipient", "expected"),
    [
        (None, DEADLINE),  # never claimed: the message's deadline
        (row(handed_off_at=STARTED), DEADLINE),  # first attempt accepted
        (row(handed_off_at=STARTED + 2 * MINUTE), DEADLINE + 2 * MINUTE),  # the end of a big dispatch
        (row(retry_due_at=STARTED + timedelta(hours=1)), None),  # first attempt refused, retry to come
        (row(attempts=2, retry_due_at=STARTED + timedelta(hours=1)), None),  # its retry is still to come
        (row(attempts=2, handed_off_at=STARTED + timedelta(hours=1)), DEADLINE),  # retried on time
        (row(attempts=3, handed_off_at=STARTED + timedelta(hours=4, minutes=7)), DEADLINE + 7 * MINUTE),  # late
        (row(attempts=2, handed_off_at=STARTED + timedelta(minutes=30)), DEADLINE),  # early: never sooner
        (row(attempts=2), DEADLINE),  # claimed again but never accepted (the SMPP race): as the message
    ],
)
def test_a_recipients_deadline(recipient: RecipientRecord | None, expected: datetime | None) -> None:
    assert recipient_deadline(recipient, DEADLINE, TIMEOUT, DELAYS) == expected


@given(attempt=st.integers(min_value=1, max_value=3), lateness=st.integers(min_value=0, max_value=200_000))
def test_a_late_attempt_keeps_the_wait_it_was_planned_to_have(attempt: int, lateness: int) -> None:
    # However late the sweep makes attempt k, the recipient waits at least timeout - delays[k-1]
    # after it, and never less than the message's own deadline.
    made_at = STARTED + timedelta(seconds=DELAYS[attempt - 1] + lateness)
    deadline = recipient_deadline(row(attempts=attempt, handed_off_at=made_at), DEADLINE, TIMEOUT, DELAYS)
    assert deadline is not None
    assert deadline - made_at >= TIMEOUT - timedelta(seconds=DELAYS[attempt - 1])
    assert deadline >= DEADLINE


@pytest.mark.parametrize(
    ("timeout", "delays", "sweep", "problem"),
    [
        (86_400, (0, 3_600, 14_400), 60, None),  # the defaults
        (14_460, (0, 3_600, 14_400), 60, None),  # exactly one sweep after the last attempt
        (14_459, (0, 3_600, 14_400), 60, "plus one sweep period"),
        (3_600, (0, 3_600, 14_400), 60, "plus one sweep period"),  # retries planned after the deadline
        (6, (0, 1, 2), 1, None),  # the e2e tests' fast settings
        (30, (0, 5, 15), 2, None),  # the README's "watch it happen" settings
        (86_400, (5, 3_600), 60, "must start with 0"),
        (86_400, (0, 3_600, 3_600), 60, "must increase"),
        (86_400, (), 60, "must start with 0"),
    ],
)
def test_retry_delays_must_fit_the_delivery_timeout(
    timeout: int, delays: tuple[int, ...], sweep: int, problem: str | None
) -> None:
    found = retry_timing_problem(timeout, delays, sweep)
    assert (found is None) if problem is None else (found is not None and problem in found)


def test_a_function_with_retries_that_do_not_fit_fails_its_init_naming_them() -> None:
    environment = {"TABLE_NAME": "t", "DELIVERY_TIMEOUT_SECONDS": "3600", "CARRIER_RETRY_DELAYS": "0,3600,14400"}
    with pytest.raises(SettingsError, match=r"DeliveryTimeoutSeconds \(3600\) must be at least"):
        read_settings(environment)
    assert read_settings({**environment, "DELIVERY_TIMEOUT_SECONDS": "86400"}).time.delivery_timeout_seconds == 86_400
