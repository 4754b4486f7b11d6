"""The webhook event a used opt-out link produces (pure; DESIGN §12): ``sms.opted_out``, as a
STOP reply's, naming the number, the message whose link it was, and ``"source": "link"``. The
id is stable per link, so a redelivered stream record is the same event."""

from __future__ import annotations

import hashlib

from lisoloo.models import format_timestamp
from lisoloo.opting_out import OptOutLink
from lisoloo.webhooks.events import WebhookEvent

OPTED_OUT = "sms.opted_out"


def opt_out_event(link: OptOutLink) -> WebhookEvent:
    if link.used_at is None:
        raise ValueError("an opt-out link fires its event once used")
    # Event ids are lowercase letters, digits and '_': the token (which has '-' and capitals)
    # is named by a digest, never in full: the event log is not a place for live links.
    digest = hashlib.sha256(link.token.encode()).hexdigest()[:16]
    at = format_timestamp(link.used_at)
    return WebhookEvent(
        event_id=f"evt_{link.message_id}_opted_out_{digest}",
        type=OPTED_OUT,
        org_id=link.org_id,
        message_id=link.message_id,
        body={
            "type": OPTED_OUT,
            "timestamp": at,
            "data": {"from": link.number, "source": "link", "message_id": link.message_id, "opted_out_at": at},
        },
    )
