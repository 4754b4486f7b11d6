"""From a change of a message item to one delivery job per event and target."""

from __future__ import annotations

import json

from lisoloo.entities import MessageChange
from lisoloo.models import WebhookDeliveryJob
from lisoloo.storage import SmsRepository
from lisoloo.webhooks.events import events_for_change


def delivery_jobs(change: MessageChange, repository: SmsRepository) -> list[WebhookDeliveryJob]:
    """Targets: the organization's webhook URL and the message's callback URL, each getting
    every event; the body is fixed here, so every retry sends the same bytes under the same
    ``webhook-id``."""
    events = events_for_change(change.old, change.new)
    new = change.new
    if not events or new is None:
        return []
    organization = repository.organizations.get(new.org_id)
    targets = [url for url in (organization.webhook_url if organization else None, new.callback_url) if url]
    return [
        WebhookDeliveryJob(
            org_id=event.org_id,
            message_id=event.message_id,
            event_id=event.event_id,
            event_type=event.type,
            url=url,
            body=json.dumps(event.body, separators=(",", ":"), sort_keys=True),
        )
        for event in events
        for url in dict.fromkeys(targets)  # one delivery when both targets are the same URL
    ]
