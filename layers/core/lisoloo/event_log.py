"""GET /events, GET /messages/{message_id}/events, POST /events/{event_id}/redeliver,
GET /webhook/deliveries (DESIGN §11).

The log itself (positions that never let a reader skip an event) is ``storage.events``; the
attempts are written by the delivery function (``webhooks.delivering``).
"""

from __future__ import annotations

import json
import re

from lisoloo.errors import EventNotFoundError, InvalidCursorError, MessageNotFoundError
from lisoloo.finding_entities import DeliveryAttempt, LoggedEvent
from lisoloo.finding_models import (
    DeliveriesPage,
    DeliveryAttemptView,
    EventRedelivery,
    EventsPage,
    LoggedEventView,
    MessageEvents,
)
from lisoloo.identifiers import is_message_id
from lisoloo.models import WebhookDeliveryJob
from lisoloo.queues import JobQueue
from lisoloo.search_rules import decode_cursor, encode_cursor
from lisoloo.storage import SmsRepository, keys
from lisoloo.webhooks.fanout import webhook_targets

_POSITION = re.compile(r"0|[1-9][0-9]{0,11}")
_EVENT_ID = re.compile(r"evt_[0-9A-Za-z_]{1,80}")
DELIVERIES_CURSOR_RULE = "must be the cursor of an earlier page of GET /webhook/deliveries"


def read_events(
    repository: SmsRepository, org_id: str, after: str | None, event_type: str | None, limit: int
) -> EventsPage:
    if after is not None and not _POSITION.fullmatch(after):
        raise InvalidCursorError("after", "must be a position from GET /events: ASCII digits")
    start = int(after) if after is not None else 0
    events, last_read = repository.events.after(org_id, start, limit, event_type)
    # The next `after`: the last position read (a type filter may have kept none of them), so a
    # poller never reads the same events twice; with nothing new, the one it gave.
    furthest = max([event.position for event in events] + [last_read or 0, start])
    return EventsPage(
        events=[_event_view(event) for event in events],
        after=str(furthest) if furthest else after,
        has_more=last_read is not None,
    )


def read_message_events(repository: SmsRepository, org_id: str, message_id: str, limit: int) -> MessageEvents:
    """A message's timeline: its events, oldest first (the latest ``limit`` of them)."""
    # Malformed, unknown and other-tenant ids all end here with the same 404 as GET /status.
    if not is_message_id(message_id) or repository.messages.get(org_id, message_id) is None:
        raise MessageNotFoundError()
    events, has_older = repository.events.of_message(org_id, message_id, limit)
    return MessageEvents(events=[_event_view(event) for event in events], has_older=has_older)


def redeliver_event(repository: SmsRepository, queue: JobQueue, org_id: str, event_id: str) -> EventRedelivery:
    """Queue the logged event again, byte for byte under its own ``webhook-id``, to the targets
    the organization and the message have today."""
    # Malformed, unknown and other-tenant ids all end here with the same error and bytes.
    event = repository.events.get(org_id, event_id) if _EVENT_ID.fullmatch(event_id) else None
    if event is None:
        raise EventNotFoundError()
    message = repository.messages.get(org_id, event.message_id) if event.message_id else None
    targets = webhook_targets(repository, org_id, message.callback_url if message else None)
    queue.enqueue(
        [
            WebhookDeliveryJob(
                org_id=org_id,
                message_id=event.message_id,
                event_id=event.event_id,
                event_type=event.type,
                url=url,
                body=event.body,
            )
            for url in targets
        ]
    )
    return EventRedelivery(event_id=event.event_id, targets=len(targets))


def read_deliveries(
    repository: SmsRepository, org_id: str, *, failed_only: bool, limit: int, cursor: str | None
) -> DeliveriesPage:
    before = decode_cursor(cursor, keys.is_delivery_attempt_sk, "cursor", DELIVERIES_CURSOR_RULE) if cursor else None
    attempts, last = repository.delivery_attempts.page(org_id, limit, before, failed_only)
    return DeliveriesPage(
        deliveries=[_attempt_view(attempt) for attempt in attempts],
        cursor=encode_cursor(last) if last else None,
    )


def _event_view(event: LoggedEvent) -> LoggedEventView:
    return LoggedEventView(
        position=str(event.position),
        event_id=event.event_id,
        type=event.type,
        message_id=event.message_id,
        created_at=event.logged_at,
        body=json.loads(event.body),
    )


def _attempt_view(attempt: DeliveryAttempt) -> DeliveryAttemptView:
    return DeliveryAttemptView(
        event_id=attempt.event_id,
        type=attempt.event_type,
        target=attempt.url,
        attempt=attempt.attempt,
        http_status=attempt.status_code,
        error=attempt.error,
        duration_ms=attempt.duration_ms,
        attempted_at=attempt.attempted_at,
        next_try_at=attempt.next_try_at,
    )
