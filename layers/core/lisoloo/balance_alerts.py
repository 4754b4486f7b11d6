"""``account.balance_low`` (DESIGN §10): once per crossing of an organization's threshold.

The rule is a pure function of one account change, its before and after images as the table
stream carries them. DynamoDB applies the writes to one item one at a time and its stream
holds each write once, in order, with both images, so "was not low before, is low after"
is true for exactly one record per crossing, whatever sends race: of two concurrent sends
that together cross, only the one whose write lands first sees the line go by. Re-arming is
the same rule read the other way: the next crossing needs a change that left the account at or
above its threshold first (a top-up, a release, a raised limit or a lowered threshold).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from lisoloo.models import format_timestamp
from lisoloo.pricing import amount_text
from lisoloo.webhooks.events import WebhookEvent

BALANCE_LOW = "account.balance_low"


@dataclass(frozen=True, slots=True)
class Level:
    """What an account could still spend, and the organization's threshold (None: none)."""

    available: Decimal
    threshold: Decimal | None

    @property
    def is_low(self) -> bool:
        return self.threshold is not None and self.available < self.threshold


def crossed_low(old: Level | None, new: Level | None) -> bool:
    """True when this change took the account from at-or-above its threshold to below it.

    Each side is judged by its own threshold, so setting a threshold above what is available
    is a crossing too (the merchant learns at once), and removing one never is. An account
    that did not exist before had nothing: it was not low under no threshold."""
    if new is None or not new.is_low:
        return False
    return old is None or not old.is_low


def balance_low_event(org_id: str, change_id: str, level: Level, currency: str, at: datetime) -> WebhookEvent:
    """The event for the change ``change_id`` (stable: the stream record's sequence number, so
    a redelivered record yields the same id and is logged once)."""
    assert level.threshold is not None  # only a low level crosses
    return WebhookEvent(
        event_id=f"evt_balance_low_{change_id}",
        type=BALANCE_LOW,
        org_id=org_id,
        message_id=None,
        body={
            "type": BALANCE_LOW,
            "timestamp": format_timestamp(at),
            "data": {
                "available": amount_text(level.available),
                "threshold": amount_text(level.threshold),
                "currency": currency,
            },
        },
    )
