"""What the API answers, as typed models (the ``data`` of its envelopes).

Written by hand rather than generated: the SDK needs a dozen of the API's schemas, under
names a merchant reads (``Message``, not ``Envelope_MessageStatus_``), with money as
``Decimal`` and times as ``datetime``. ``tests/test_sdk_models_drift.py`` compares every
model here with its schema in the repository's ``openapi.json`` and fails when they part.
Unknown fields are ignored, so a newer API never breaks an older client.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class SmsStatus(StrEnum):
    """The spec's fifteen statuses; a message's aggregate is one of the first six below."""

    PENDING = "pending"
    SCHEDULED = "scheduled"
    PROCESSING = "processing"
    ACCEPTED = "accepted"
    ENROUTE = "enroute"
    SENT = "sent"
    DELIVERED = "delivered"
    PARTIALLY_DELIVERED = "partially_delivered"
    DELIVERY_UNKNOWN = "delivery_unknown"
    UNDELIVERED = "undelivered"
    REJECTED = "rejected"
    EXPIRED = "expired"
    FAILED = "failed"
    UNKNOWN = "unknown"
    NONE = "none"

    @property
    def is_final(self) -> bool:
        """A message is final once ``delivered`` (some recipient got it) or ``failed`` (none did)."""
        return self in (SmsStatus.DELIVERED, SmsStatus.FAILED)


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")


class Recurrence(Model):
    """A ``recurring_schedule`` for :meth:`Client.send`: a five-field cron read in an IANA zone."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    cron: str
    timezone: str = "UTC"
    end_at: datetime | None = None
    max_occurrences: int | None = None


class SendCost(Model):
    currency: str
    estimate: Decimal


class Occurrence(Model):
    message_id: str
    scheduled_for: datetime


class SendAccepted(Model):
    """The reply to a send; a scheduled one also names its schedule and occurrences."""

    message_id: str
    status: SmsStatus
    total_recipients: int
    encoding: Literal["GSM-7", "UCS-2"]
    segments: int
    segments_total: int
    created_at: datetime
    reference: str | None = None
    schedule_id: str | None = None
    occurrences: list[Occurrence] | None = None
    cost: SendCost | None = None


class CountryQuote(Model):
    country: str
    recipients: int
    segments: int
    estimate: Decimal


class SendQuote(Model):
    """The reply to ``send(..., dry_run=True)``: nothing was stored, sent or reserved."""

    dry_run: Literal[True] = True
    total_recipients: int
    encoding: Literal["GSM-7", "UCS-2"]
    segments: int
    cost: SendCost
    countries: list[CountryQuote]


class MessageCost(Model):
    currency: str
    charged: Decimal | None = Field(description="None until the message is final.")


class RecipientState(Model):
    to: str
    status: SmsStatus
    error_code: int | None = None
    error_message: str | None = None
    updated_at: datetime


class MessageStatus(Model):
    """``GET /status``: the counters and the first page of recipients (iterate them all with
    :meth:`Client.recipients`)."""

    message_id: str
    status: SmsStatus
    total_recipients: int
    delivered: int
    failed: int
    pending: int
    created_at: datetime
    updated_at: datetime
    recipients: list[RecipientState]
    recipients_cursor: str | None = None
    error_code: int | None = None
    cost: MessageCost | None = None

    @property
    def is_final(self) -> bool:
        return self.status.is_final


class MessageSummary(Model):
    """A message as ``GET /messages`` lists it: the status without recipients, and what it was sent with."""

    message_id: str
    status: SmsStatus
    total_recipients: int
    delivered: int
    failed: int
    pending: int
    created_at: datetime
    updated_at: datetime
    error_code: int | None = None
    reference: str | None = None
    sender_id: str | None = None
    cost: MessageCost | None = None


class MessagesPage(Model):
    messages: list[MessageSummary]
    cursor: str | None = None


class Event(Model):
    """A webhook event as the event log keeps it; ``position`` is what ``after`` takes."""

    position: str
    event_id: str
    type: str
    message_id: str | None = None
    created_at: datetime
    body: dict[str, Any]


class EventsPage(Model):
    events: list[Event]
    after: str | None = None
    has_more: bool


class EventRedelivery(Model):
    event_id: str
    targets: int


class InboundMessage(Model):
    inbound_id: str
    from_: str = Field(alias="from")
    to: str
    text: str
    keyword: str | None = None
    received_at: datetime
    in_reply_to: str | None = None


class InboundPage(Model):
    inbound: list[InboundMessage]
    cursor: str | None = None


class Suppression(Model):
    number: str
    reason: str | None = None
    source: str
    created_at: datetime
    updated_at: datetime


class SuppressionPage(Model):
    suppressions: list[Suppression]
    cursor: str | None = None


class SuppressionRemoved(Model):
    number: str
    suppressed: bool = False


class BulkSuppressed(Model):
    suppressed: int


class Balance(Model):
    """``available`` (``balance`` + ``credit_limit``) is what sends may still reserve."""

    currency: str
    balance: Decimal
    reserved: Decimal
    credit_limit: Decimal
    available: Decimal


class DeliveryAttempt(Model):
    """One attempt at delivering a webhook event to one target."""

    event_id: str
    type: str
    target: str
    attempt: int
    http_status: int | None = None
    error: str | None = None
    duration_ms: int
    attempted_at: datetime
    next_try_at: datetime | None = None


class DeliveriesPage(Model):
    deliveries: list[DeliveryAttempt]
    cursor: str | None = None


class ScheduleCancelled(Model):
    schedule_id: str
    cancelled: list[str]


class WebhookEvent(Model):
    """A verified webhook body: ``sms.delivered``, ``sms.received``, ``account.balance_low``…"""

    type: str
    timestamp: datetime
    data: dict[str, Any]
