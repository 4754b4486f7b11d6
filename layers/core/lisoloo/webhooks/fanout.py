"""From a change of a message item to one delivery job per event and target."""

from __future__ import annotations

import json
from typing import Any

from lisoloo.models import WebhookDeliveryJob
from lisoloo.storage import MessageRecord, SmsRepository
from lisoloo.webhooks.events import events_for_change


def delivery_jobs(
    old_image: dict[str, Any] | None, new_image: dict[str, Any] | None, repository: SmsRepository
) -> list[WebhookDeliveryJob]:
    """Images are the stream's raw DynamoDB JSON. Targets: the organization's webhook URL and
    the message's callback URL, each getting every event; the body is fixed here, so every
    retry sends the same bytes under the same ``webhook-id``."""
    if not _is_message(new_image) or (old_image is not None and not _is_message(old_image)):
        return []  # the template's filter passes only message items; this keeps it true anywhere
    old = MessageRecord.from_item(old_image) if old_image else None
    new = MessageRecord.from_item(new_image) if new_image else None
    events = events_for_change(old, new)
    if not events or new is None:
        return []
    organization = repository.get_organization(new.org_id)
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


def _is_message(image: dict[str, Any] | None) -> bool:
    return image is not None and image.get("kind", {}).get("S") == "message"
