"""Which webhook events a change of a message item produces (pure; DESIGN §2 "Webhooks").

One event per aggregate transition that actually happened, in order, none after a terminal
one, none for carrier retries (they never change the aggregate). ``sms.queued`` fires once,
when the message is released (at creation for an immediate send).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lisoloo.entities import MessageRecord
from lisoloo.models import format_timestamp
from lisoloo.status import SmsStatus, aggregate_status

EVENT_FOR_STATUS: dict[SmsStatus, str] = {
    SmsStatus.PROCESSING: "sms.processing",
    SmsStatus.SENT: "sms.sent",
    SmsStatus.DELIVERED: "sms.delivered",
    SmsStatus.FAILED: "sms.failed",
}
QUEUED = "sms.queued"
# The per-message order of events: a receiver can sort or drop stale ones by it.
SEQUENCE: dict[str, int] = {
    QUEUED: 1,
    "sms.processing": 2,
    "sms.sent": 3,
    "sms.delivered": 4,
    "sms.failed": 4,
}


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    event_id: str  # stable: a redelivered stream record yields the same id
    type: str
    org_id: str
    message_id: str | None  # what it is about: a message or an inbound one; None for an account's
    body: dict[str, Any]


def events_for_change(old: MessageRecord | None, new: MessageRecord | None) -> list[WebhookEvent]:
    if new is None:
        return []  # removed (a cancelled occurrence, or TTL): nothing to tell
    old_status = aggregate_status(old.progress) if old is not None else None
    if old_status is not None and old_status.is_terminal:
        return []
    new_status = aggregate_status(new.progress)
    types: list[str] = []
    if new.released and (old is None or not old.released):
        types.append(QUEUED)
    if new_status != old_status and new_status in EVENT_FOR_STATUS:
        types.append(EVENT_FOR_STATUS[new_status])
    return [_event(event_type, new, new_status) for event_type in types]


def status_data(message: MessageRecord, status: SmsStatus) -> dict[str, Any]:
    """The status endpoint's data without recipients."""
    progress = message.progress
    return {
        "message_id": message.message_id,
        "status": status.value,
        "total_recipients": progress.total,
        "delivered": progress.delivered,
        "failed": progress.failed,
        "pending": progress.pending,
        "created_at": format_timestamp(message.created_at),
        "updated_at": format_timestamp(message.updated_at),
    }


def _event(event_type: str, message: MessageRecord, status: SmsStatus) -> WebhookEvent:
    data = status_data(message, status)
    if event_type == "sms.failed" and message.failure_code is not None:
        data["error_code"] = message.failure_code
    moment: datetime = message.updated_at
    return WebhookEvent(
        event_id=f"evt_{message.message_id}_{event_type.removeprefix('sms.')}",
        type=event_type,
        org_id=message.org_id,
        message_id=message.message_id,
        body={
            "type": event_type,
            "timestamp": format_timestamp(moment),
            "sequence": SEQUENCE[event_type],
            "data": data,
        },
    )
