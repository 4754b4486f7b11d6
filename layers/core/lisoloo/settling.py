"""Settling a message's money when it is final (DESIGN §10).

A recipient is charged when a carrier took it: it was handed off, or a carrier reported on
it. One never submitted (1400, 1406, 1407, a rejection at submit, 1502 after every retry) is
not. The charge is worked out once, from the recipient rows, when the message is final, and
applied with the release of the rest of the reservation in one transaction whose ledger ids
are the message's: a redelivered stream record, a crash and a retry all settle it once.

It runs where every path to "final" already meets: the table stream of message items (receipt
apply, the sweep's deadline, dispatch failures all end in a counter update on the message), so
settling adds no write to any recipient and two ledger entries per message.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal

from lisoloo.entities import MessageChange, RecipientRecord
from lisoloo.pricing import ZERO, Price, price_for
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


def settle_if_final(change: MessageChange, repository: SmsRepository, now: datetime) -> Decimal | None:
    """When a change makes a message final, and it reserved money: charge what was taken and
    release the rest. Returns the charge, or None when there was nothing to settle."""
    new, old = change.new, change.old
    if new is None or not new.progress.all_terminal or (old is not None and old.progress.all_terminal):
        return None
    reserved = repository.accounts.reserved_for(new.org_id, new.message_id)
    if reserved is None:
        return None
    numbers, rows = repository.recipients.read_all(new.org_id, new.message_id)
    # Never more than the quote the merchant accepted, whatever prices did meanwhile.
    charged = min(charge_for(repository.prices.all(), numbers, rows, new.segments), reserved)
    repository.accounts.settle(new.org_id, new.message_id, reserved, charged, now)
    return charged
