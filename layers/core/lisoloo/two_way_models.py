"""Pydantic models of the two-way API (DESIGN §9): suppressions and inbound messages."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import ConfigDict, Field, StrictStr

from lisoloo.models import Model, Timestamp
from lisoloo.two_way import InboundMessage

MAX_BULK_SUPPRESSIONS = 10_000
MAX_REASON_CHARACTERS = 200
# A page cursor is the last number of the page before (E.164), or the last inbound id.
NUMBER_CURSOR = r"^\+[0-9]{8,15}$"
INBOUND_CURSOR = r"^in_[0-9a-f]{24}$"

Reason = Annotated[StrictStr, Field(min_length=1, max_length=MAX_REASON_CHARACTERS)]


class SuppressionRequest(Model):
    """The body of ``PUT /suppressions/{number}`` (it may be empty: ``{}``)."""

    model_config = ConfigDict(extra="forbid")

    reason: Reason | None = None


class BulkSuppressionRequest(Model):
    """The body of ``POST /suppressions``."""

    model_config = ConfigDict(extra="forbid")

    numbers: Annotated[list[StrictStr], Field(min_length=1, max_length=MAX_BULK_SUPPRESSIONS)]
    reason: Reason | None = None


class Suppression(Model):
    number: str
    reason: str | None = None
    source: Annotated[str, Field(description="api, bulk, or keyword (the number replied STOP).")]
    created_at: Timestamp
    updated_at: Timestamp


class SuppressionPage(Model):
    suppressions: list[Suppression]
    cursor: Annotated[str | None, Field(description="Pass as ?cursor= for the next page; null on the last.")] = None


class BulkSuppressed(Model):
    suppressed: int


class SuppressionRemoved(Model):
    number: str
    suppressed: bool = False


class InboundMessageView(Model):
    """An inbound message as merchants see it (``GET /inbound`` and ``sms.received``)."""

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    inbound_id: str
    sender: Annotated[str, Field(alias="from", description="The handset's number, E.164.")]
    receiver: Annotated[str, Field(alias="to", description="Your number or short code it was sent to.")]
    text: str
    keyword: Annotated[
        str | None,
        Field(description="STOP, START or HELP when the text was one of those words (or your own for them)."),
    ] = None
    received_at: Timestamp
    in_reply_to: Annotated[
        str | None,
        Field(description="Your latest message_id sent to this number in the 7 days before, if any."),
    ] = None


class InboundPage(Model):
    inbound: list[InboundMessageView]
    cursor: Annotated[str | None, Field(description="Pass as ?cursor= for the next page; null on the last.")] = None


def inbound_view(message: InboundMessage) -> InboundMessageView:
    return InboundMessageView(
        inbound_id=message.inbound_id,
        sender=message.sender,
        receiver=message.receiver,
        text=message.text,
        keyword=message.keyword.value if message.keyword else None,
        received_at=message.received_at,
        in_reply_to=message.in_reply_to,
    )


def inbound_body(message: InboundMessage) -> dict[str, Any]:
    """The DESIGN §9 shape, as JSON values."""
    body: dict[str, Any] = inbound_view(message).model_dump(mode="json")
    return body
