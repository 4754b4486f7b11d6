"""From a stored change (a message's transition, an inbound message, a used opt-out link, an
account's balance) to its events, logged, and one delivery job per event and target."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from lisoloo.balance_alerts import Level, balance_low_event, crossed_low
from lisoloo.entities import MessageChange
from lisoloo.models import WebhookDeliveryJob
from lisoloo.opting_out import OptOutLink
from lisoloo.storage import SmsRepository
from lisoloo.storage.accounts import Account
from lisoloo.two_way import InboundMessage
from lisoloo.webhooks.events import WebhookEvent, events_for_change
from lisoloo.webhooks.inbound_events import inbound_events
from lisoloo.webhooks.opt_out_events import opt_out_event


def webhook_targets(repository: SmsRepository, org_id: str, callback_url: str | None) -> list[str]:
    """Today's targets: the organization's webhook URL and the message's callback URL, once each
    (one delivery when both are the same URL)."""
    organization = repository.organizations.get(org_id)
    return list(dict.fromkeys(url for url in (organization.webhook_url if organization else None, callback_url) if url))


def delivery_jobs(change: MessageChange, repository: SmsRepository, now: datetime) -> list[WebhookDeliveryJob]:
    """A message's events for the organization's webhook URL and the message's callback URL."""
    new = change.new
    events = events_for_change(change.old, new)
    if not events or new is None:
        return []
    return _logged_jobs(repository, events, webhook_targets(repository, new.org_id, new.callback_url), now)


def inbound_delivery_jobs(
    message: InboundMessage, repository: SmsRepository, now: datetime
) -> list[WebhookDeliveryJob]:
    """An inbound message's events for the organization's webhook URL (a reply has no callback URL)."""
    return _logged_jobs(repository, inbound_events(message), webhook_targets(repository, message.org_id, None), now)


def opt_out_delivery_jobs(link: OptOutLink, repository: SmsRepository, now: datetime) -> list[WebhookDeliveryJob]:
    """A used opt-out link's ``sms.opted_out`` for the organization's webhook URL (the number
    left the organization, not one message: the message's callback URL is not told)."""
    return _logged_jobs(repository, [opt_out_event(link)], webhook_targets(repository, link.org_id, None), now)


def _level(account: Account | None) -> Level | None:
    return Level(account.available, account.low_threshold) if account is not None else None


def account_delivery_jobs(
    old: Account | None, new: Account, change_id: str, currency: str, repository: SmsRepository, now: datetime
) -> list[WebhookDeliveryJob]:
    """``account.balance_low`` when this account change crossed its threshold, for the
    organization's webhook URL; ``change_id`` (the stream record's sequence number) names it,
    so a redelivered record is logged and queued as the same event."""
    level = _level(new)
    if not crossed_low(_level(old), level) or level is None:
        return []
    event = balance_low_event(new.org_id, change_id, level, currency, now)
    return _logged_jobs(repository, [event], webhook_targets(repository, new.org_id, None), now)


def _logged_jobs(
    repository: SmsRepository, events: Sequence[WebhookEvent], targets: list[str], now: datetime
) -> list[WebhookDeliveryJob]:
    """Each event is logged first (once, whatever redelivers the stream record: GET /events),
    then queued for every target; the body is fixed here, so every retry and every redelivery
    sends the same bytes under the same ``webhook-id``."""
    bodies = {event.event_id: json.dumps(event.body, separators=(",", ":"), sort_keys=True) for event in events}
    repository.events.record(
        ((event.org_id, event.event_id, event.type, event.message_id, bodies[event.event_id]) for event in events),
        now,
    )
    return [
        WebhookDeliveryJob(
            org_id=event.org_id,
            message_id=event.message_id,
            event_id=event.event_id,
            event_type=event.type,
            url=url,
            body=bodies[event.event_id],
        )
        for event in events
        for url in targets
    ]
