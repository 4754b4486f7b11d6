"""From a change of a message item to one delivery job per event and target."""

from __future__ import annotations

import json

from lisoloo.entities import MessageChange
from lisoloo.models import WebhookDeliveryJob
from lisoloo.storage import SmsRepository
from lisoloo.two_way import InboundMessage
from lisoloo.webhooks.events import WebhookEvent, events_for_change
from lisoloo.webhooks.inbound_events import inbound_events


def inbound_delivery_jobs(message: InboundMessage, repository: SmsRepository) -> list[WebhookDeliveryJob]:
    """An inbound message's events for the organization's webhook URL (a reply has no callback URL)."""
    organization = repository.organizations.get(message.org_id)
    if organization is None or not organization.webhook_url:
        return []
    return [_job(event, organization.webhook_url) for event in inbound_events(message)]


def _job(event: WebhookEvent, url: str) -> WebhookDeliveryJob:
    return WebhookDeliveryJob(
        org_id=event.org_id,
        message_id=event.message_id,
        event_id=event.event_id,
        event_type=event.type,
        url=url,
        body=json.dumps(event.body, separators=(",", ":"), sort_keys=True),
    )


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
        _job(event, url)
        for event in events
        for url in dict.fromkeys(targets)  # one delivery when both targets are the same URL
    ]
