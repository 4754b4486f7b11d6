"""Settling a message's money when it is final (DESIGN §10).

A recipient is charged when a carrier took it: it was handed off, or a carrier reported on
it. One never submitted (1400, 1406, 1407, a rejection at submit, 1502 after every retry) is
not. The charge is worked out once, from the recipient rows, when the message is final, and
applied with the release of the rest of the reservation in one transaction whose ledger ids
are the message's: a redelivered stream record, a crash and a retry all settle it once.

It runs where every path to "final" already meets: the table stream of message items (receipt
apply, the sweep's deadline, dispatch failures all end in a counter update on the message), so
settling adds no write to any recipient and two ledger entries per message.

A stream record can still fail past its retries (dead-lettered): the reservation would then be
held forever. So a final message holding one stays in the sweep's due index until it is
settled: the stream's first write for it moves its due time to ``settle_check_seconds`` ahead,
the settlement takes it out, and a sweep that finds it still there settles it with the same
ledger ids (whichever of the two comes second changes nothing).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal

from lisoloo.entities import MessageChange, MessageRecord, RecipientRecord
from lisoloo.pricing import ZERO, Price, price_for
from lisoloo.settings import Settings
from lisoloo.status import SmsStatus
from lisoloo.storage import SmsRepository

# Only a carrier puts a recipient in these: it was taken, whatever else happened to it.
CARRIER_STATES = frozenset(
    {
        SmsStatus.ACCEPTED,
        SmsStatus.ENROUTE,
        SmsStatus.SENT,
        SmsStatus.DELIVERED,
        SmsStatus.PARTIALLY_DELIVERED,
        SmsStatus.DELIVERY_UNKNOWN,
        SmsStatus.UNDELIVERED,
        SmsStatus.EXPIRED,
    }
)


def was_taken(row: RecipientRecord) -> bool:
    return row.handed_off_at is not None or row.status in CARRIER_STATES


def recipient_cost(prices: Sequence[Price], number: str, row: RecipientRecord | None, segments: int) -> Decimal:
    """What one recipient costs: its segments (a personal text's own, else the message's)
    times its price if a carrier took it, else nothing."""
    if row is None or not was_taken(row):
        return ZERO
    return price_for(prices, number, row.carrier) * (row.segments or segments)


def charge_for(
    prices: Sequence[Price], numbers: Sequence[str], rows: Mapping[int, RecipientRecord], segments: int
) -> Decimal:
    """What the recipients a carrier took cost: segments times the price of each, the taking
    carrier's own price where it has one. Pure."""
    return sum((recipient_cost(prices, numbers[index], row, segments) for index, row in rows.items()), ZERO)


def settle_if_final(
    change: MessageChange, repository: SmsRepository, settings: Settings, now: datetime
) -> Decimal | None:
    """When a change makes a message final, and it reserved money: charge what was taken and
    release the rest. Returns the charge, or None when there was nothing to settle."""
    new, old = change.new, change.old
    if new is None or not new.progress.all_terminal or (old is not None and old.progress.all_terminal):
        return None
    reserved = repository.accounts.reserved_for(new.org_id, new.message_id)
    if reserved is None:
        return None
    # Before anything that may fail: should this record never get further, the sweep settles it.
    check_at = now + timedelta(seconds=settings.time.settle_check_seconds)
    repository.messages.await_settlement(new.org_id, new.message_id, check_at)
    return _settle(new, reserved, repository, now)


def settle_unsettled(message: MessageRecord, repository: SmsRepository, now: datetime) -> Decimal | None:
    """The sweep's repair: a final message whose reservation the stream did not settle is
    settled now. Returns the charge, or None when there was nothing to settle."""
    if not message.progress.all_terminal or message.cost_charged is not None:
        return None
    reserved = repository.accounts.reserved_for(message.org_id, message.message_id)
    if reserved is None:
        return None
    return _settle(message, reserved, repository, now)


def _settle(message: MessageRecord, reserved: Decimal, repository: SmsRepository, now: datetime) -> Decimal | None:
    numbers, rows = repository.recipients.read_all(message.org_id, message.message_id)
    # Never more than the quote the merchant accepted, whatever prices did meanwhile.
    charged = min(charge_for(repository.prices.all(), numbers, rows, message.segments), reserved)
    if not repository.accounts.settle(message.org_id, message.message_id, reserved, charged, now):
        return None  # settled before: by this record delivered again, or by the other path
    return charged
