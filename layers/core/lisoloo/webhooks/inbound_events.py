"""Which webhook events a stored inbound message produces (pure; DESIGN §9): ``sms.received``
always, with the message's body, and ``sms.opted_out`` / ``sms.opted_in`` when it was a STOP or
START that moved its sender on the suppression list. Ids are stable per message and type, so a
redelivered stream record is the same event."""

from __future__ import annotations

from lisoloo.keywords import Keyword
from lisoloo.models import format_timestamp
from lisoloo.two_way import InboundMessage, consent_change
from lisoloo.two_way_models import inbound_body
from lisoloo.webhooks.events import WebhookEvent

RECEIVED = "sms.received"
CONSENT_EVENTS = {Keyword.STOP: "sms.opted_out", Keyword.START: "sms.opted_in"}


def inbound_events(message: InboundMessage) -> list[WebhookEvent]:
    types = [RECEIVED]
    change = consent_change(message.keyword, message.sender)
    if change is not None:
        types.append(CONSENT_EVENTS[change])
    data = inbound_body(message)
    return [
        WebhookEvent(
            event_id=f"evt_{message.inbound_id}_{event_type.removeprefix('sms.')}",
            type=event_type,
            org_id=message.org_id,
            message_id=message.inbound_id,
            body={"type": event_type, "timestamp": format_timestamp(message.received_at), "data": data},
        )
        for event_type in types
    ]
