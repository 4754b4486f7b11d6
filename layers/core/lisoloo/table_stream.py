"""The table stream's records, as the webhooks function handles them (DESIGN §9, §10, §12): one
handler per kind of item the stream's filter passes, chosen by the kind the record changed,
each reading the record with that kind's decoder alone.

A final message's money is settled before its events are made, so a failure retries both; every
change that tells a merchant something becomes logged events and delivery jobs."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from lisoloo.models import WebhookDeliveryJob
from lisoloo.settings import Settings
from lisoloo.settling import settle_if_final
from lisoloo.storage import SmsRepository, message_change, stored_inbound, used_link
from lisoloo.storage.accounts import account_change
from lisoloo.storage.inbound import INBOUND_KIND
from lisoloo.storage.messages import MESSAGE_KIND
from lisoloo.storage.opt_outs import OPT_OUT_KIND
from lisoloo.storage.stream import ACCOUNT_KIND, changed_kind
from lisoloo.webhooks.fanout import account_delivery_jobs, delivery_jobs, inbound_delivery_jobs, opt_out_delivery_jobs

StreamRecord = Mapping[str, Any]
Handler = Callable[[StreamRecord, SmsRepository, Settings, datetime], list[WebhookDeliveryJob]]


def _message(
    record: StreamRecord, repository: SmsRepository, settings: Settings, now: datetime
) -> list[WebhookDeliveryJob]:
    change = message_change(record["dynamodb"])
    if change is None:
        return []
    settle_if_final(change, repository, settings, now)
    return delivery_jobs(change, repository, now)


def _account(
    record: StreamRecord, repository: SmsRepository, settings: Settings, now: datetime
) -> list[WebhookDeliveryJob]:
    change = account_change(record["dynamodb"])
    if change is None:
        return []
    old, new = change
    # The record's sequence number is its identity in the stream: a redelivery repeats it.
    sequence = record["dynamodb"]["SequenceNumber"]
    return account_delivery_jobs(old, new, sequence, settings.money.currency, repository, now)


def _inbound(
    record: StreamRecord, repository: SmsRepository, settings: Settings, now: datetime
) -> list[WebhookDeliveryJob]:
    message = stored_inbound(record)
    return inbound_delivery_jobs(message, repository, now) if message is not None else []


def _opt_out(
    record: StreamRecord, repository: SmsRepository, settings: Settings, now: datetime
) -> list[WebhookDeliveryJob]:
    link = used_link(record)
    return opt_out_delivery_jobs(link, repository, now) if link is not None else []


_HANDLERS: dict[str, Handler] = {
    MESSAGE_KIND: _message,
    ACCOUNT_KIND: _account,
    INBOUND_KIND: _inbound,
    OPT_OUT_KIND: _opt_out,
}


def change_jobs(
    record: StreamRecord, repository: SmsRepository, settings: Settings, now: datetime
) -> list[WebhookDeliveryJob]:
    """What one stream record does: its money settled if it made a message final, and the
    delivery jobs of its events (none for a change nobody is told about)."""
    handler = _HANDLERS.get(changed_kind(record) or "")
    return handler(record, repository, settings, now) if handler is not None else []
