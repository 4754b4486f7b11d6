"""Deliver-by, the I/O around ``deliver_by``'s rules (DESIGN §8): the sweep's fallback through
the next carrier of a recipient's route, and a leg's receipt.

The fallback goes at most once per recipient: the row's claim of it (``claim_fallback``) is one
conditional write on the sweep's lease that also takes the row out of the due index, so a
redelivered or overlapping sweep, or one that crashed after the claim, never submits again.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from lisoloo.analytics import apply_and_count
from lisoloo.carriers import SubmitOutcome
from lisoloo.deliver_by import (
    Action,
    at_deliver_by,
    failure_field,
    failure_to_write,
    leg_of,
    on_receipt,
    settle,
    state_of,
)
from lisoloo.dispatching import is_consent_reply, submission_for
from lisoloo.entities import DueItem, RecipientKey, Transition
from lisoloo.errors import error_for_status
from lisoloo.route_quality import count_handoffs
from lisoloo.routing import plan_routes
from lisoloo.settings import Settings
from lisoloo.status import SmsStatus
from lisoloo.storage import SmsRepository
from lisoloo.submitting import Routing


class FallbackOutcome(StrEnum):
    SENT = "sent"  # the next carrier took it (or may have: an uncertain answer is a leg too)
    REFUSED = "refused"  # the next carrier provably did not take it: the first leg decides alone
    NOT_SENT = "not_sent"  # nothing to send: final, no next carrier, or already claimed


def fallback_at_deliver_by(
    item: DueItem, *, repository: SmsRepository, routing: Routing, settings: Settings, now: datetime
) -> FallbackOutcome:
    """A recipient's deliver-by time (its due item leased by the sweep): no ``delivered`` yet →
    submitted once more through the carrier after its own in its route's order."""
    key = item.recipient
    row = repository.recipients.legs_row(key)
    message = repository.messages.get(key.org_id, key.message_id)
    if row is None or message is None:
        return FallbackOutcome.NOT_SENT
    work = repository.recipients.read_chunk(message, key.chunk)
    number = work.number_of(key.index)
    following = _next_carrier(routing, key, number, str(row.get("carrier")))
    valid_until = message.valid_until
    if following is not None and valid_until is not None and now >= valid_until:
        following = None  # its text is no longer worth sending (DESIGN §12)
    if (
        following is not None
        and not is_consent_reply(message)
        and repository.suppressions.suppressed(key.org_id, [number])
    ):
        following = None  # the number opted out since: no further copy
    state = state_of(row)
    action = at_deliver_by(state, next_carrier=following is not None)
    if action is Action.FAILED:
        _fail(repository, key, failure_to_write(state), now)
        return FallbackOutcome.NOT_SENT
    if action is not Action.SEND_FALLBACK or following is None:
        return FallbackOutcome.NOT_SENT
    if not repository.recipients.claim_fallback(key, following, item.due_at, now):
        return FallbackOutcome.NOT_SENT  # final meanwhile, or this lease is no longer ours
    submission = submission_for(key, number, message, work.variables_of(key.index), now=now)
    [result] = routing.submit(following, [submission])
    if result.outcome in (SubmitOutcome.ACCEPTED, SubmitOutcome.UNCERTAIN):
        if result.outcome is SubmitOutcome.ACCEPTED:
            if result.lookup_refs:
                # The second carrier reference: its receipts find the recipient as the first's do.
                expires = now + timedelta(seconds=settings.time.delivery_timeout_seconds) + timedelta(days=1)
                for carrier_ref in result.lookup_refs:
                    repository.carrier_refs.link(following, carrier_ref, key, expires)
            repository.recipients.record_fallback(key, following, result.carrier_ref or result.reference)
        count_handoffs(repository, [(following, number)], [], now)
        return FallbackOutcome.SENT
    count_handoffs(repository, [], [(following, number)], now)
    written = repository.recipients.drop_fallback(key, following)
    if written is not None and settle(state_of(written)) is Action.FAILED:
        _fail(repository, key, failure_to_write(state_of(written)), now)
    return FallbackOutcome.REFUSED


def settle_after_deliver_by(repository: SmsRepository, key: RecipientKey, now: datetime) -> None:
    """Once the deliver-by time is handled without a fallback: a first leg's failure noted while
    the sweep looked (it read the row as armed, so only noted it) ends the recipient now."""
    row = repository.recipients.legs_row(key)
    if row is not None and settle(state_of(row)) is Action.FAILED:
        _fail(repository, key, failure_to_write(state_of(row)), now)


def move_for_leg(
    repository: SmsRepository,
    carrier: str,
    key: RecipientKey,
    status: SmsStatus,
    now: datetime,
    received_at: datetime | None,
) -> Transition | None:
    """A final receipt for a recipient of a deliver-by message, by ``deliver_by``'s rules: the
    move it makes (applied with the others, counters in the same transaction), or None: noted
    on the row, or nothing to do (final already, the other leg still to hear, not this carrier's)."""
    row = repository.recipients.legs_row(key)
    if row is None:
        return None
    leg = leg_of(row, carrier)
    if leg is None:
        return None
    state = state_of(row)
    action = on_receipt(state, leg, status)
    if action is Action.DELIVERED:
        failure: SmsStatus | None = status
    elif action is Action.FAILED:
        failure = failure_to_write(state, leg, status)
    elif action is Action.NOTE_FAILURE:
        written = repository.recipients.note_leg_failure(key, carrier, failure_field(leg), status)
        if written is None or settle(state_of(written)) is not Action.FAILED:
            return None
        failure = failure_to_write(state_of(written))
    else:
        return None
    if failure is None:
        return None
    return Transition(key, failure, now, error_code=error_for_status(failure), carrier=carrier, received_at=received_at)


def _next_carrier(routing: Routing, key: RecipientKey, number: str, current: str) -> str | None:
    plan = plan_routes([(key.reference, number)], routing.routes(), key.org_id, routing.default_carrier)
    order = plan.orders.get(key.reference, ())
    following = order[order.index(current) + 1 :] if current in order else order
    return next((carrier for carrier in following if carrier != current), None)


def _fail(repository: SmsRepository, key: RecipientKey, status: SmsStatus | None, now: datetime) -> None:
    if status is None:
        return
    # Conditional on the row's tier: a delivered that lands first wins.
    apply_and_count(repository, [Transition(key, status, now, error_code=error_for_status(status))])
