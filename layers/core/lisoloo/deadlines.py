"""When an open recipient's wait for a final receipt ends (pure; DESIGN §3 "Deadline").

A message's deadline is ``DeliveryTimeoutSeconds`` after its dispatch started, and that is
every recipient's deadline while the carrier's attempts keep their schedule. An attempt can be
late: a big dispatch hands its last recipients off minutes after its first, and a carrier
retry runs when the sweep gets to it. The recipient then keeps the wait its attempt was
planned to have (attempt ``k`` at ``delays[k-1]`` waits ``timeout - delays[k-1]`` after its
hand-off), so the deadline moves by the lateness and never cuts an attempt short. A
recipient whose retry is still to come has no deadline yet: the deadline never fails it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from itertools import pairwise

from lisoloo.entities import RecipientRecord


def recipient_deadline(
    row: RecipientRecord | None, message_deadline: datetime, timeout: timedelta, delays: Sequence[int]
) -> datetime | None:
    """The instant this open recipient times out, or None while a carrier retry is still to come."""
    if row is None:
        return message_deadline
    if row.retry_due_at is not None:
        return None
    if row.handed_off_at is None:
        return message_deadline
    planned_delay = timedelta(seconds=delays[min(max(row.attempts, 1), len(delays)) - 1])
    return max(message_deadline, row.handed_off_at + timeout - planned_delay)


def retry_timing_problem(timeout_seconds: int, delays: Sequence[int], sweep_period_seconds: int) -> str | None:
    """Why these carrier retry delays and delivery timeout cannot work together, or None.

    The first attempt is at 0 and each later one after the one before; the last must leave its
    receipt at least one sweep period before the deadline, or the deadline would come before
    the sweep could even make the attempt."""
    if not delays or delays[0] != 0:
        return "CarrierRetryDelays must start with 0 (the first attempt is made at once)"
    if any(later <= earlier for earlier, later in pairwise(delays)):
        return "CarrierRetryDelays must increase (each attempt after the one before)"
    if timeout_seconds < delays[-1] + sweep_period_seconds:
        return (
            f"DeliveryTimeoutSeconds ({timeout_seconds}) must be at least the last carrier retry delay "
            f"({delays[-1]}) plus one sweep period ({sweep_period_seconds} s), or the last attempt "
            "would have no time to be made and answered"
        )
    return None


def receipt_deadline(started: datetime, timeout: timedelta, valid_until: datetime | None, grace: timedelta) -> datetime:
    """A message's receipt deadline (DESIGN §12): ``timeout`` after its dispatch started or, with
    a validity period, its end plus the carriers' grace, whichever comes first (so never later
    than without one)."""
    deadline = started + timeout
    return deadline if valid_until is None else min(deadline, valid_until + grace)


def capped(deadline: datetime | None, valid_until: datetime | None, grace: timedelta) -> datetime | None:
    """A recipient's deadline (``recipient_deadline``) kept within its message's validity and grace."""
    if deadline is None or valid_until is None:
        return deadline
    return min(deadline, valid_until + grace)
