"""Inbound messages (DESIGN §9): one partition per organization, newest first by id; each stored
once however often its carrier delivers it; and the lookup behind ``in_reply_to``."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from lisoloo.keywords import Keyword
from lisoloo.storage import keys
from lisoloo.storage.suppressions import suppression_item
from lisoloo.storage.table import (
    Table,
    TransactionCancelled,
    epoch_seconds,
    from_item,
    parse_timestamp,
    timestamp,
    to_item,
)
from lisoloo.two_way import InboundMessage, SuppressionSource

INBOUND_KIND = "inbound"
# A carrier re-delivers an unacknowledged message for minutes, at most hours: a week covers it.
SEEN_FOR = timedelta(days=7)
# Threading looks back this far (DESIGN §9), so the lookup item need not outlive it by much.
REPLY_WINDOW = timedelta(days=7)
# Bounds of every inbound id in an organization's partition (``in_`` then 24 hex digits).
_LOW, _HIGH = "in_", "in_~"


def inbound_item(message: InboundMessage, expires_at: datetime) -> dict[str, Any]:
    return {
        "PK": keys.inbound_pk(message.org_id),
        "SK": message.inbound_id,
        # What the table stream's filter passes to the webhooks function (with message items).
        "kind": INBOUND_KIND,
        "org_id": message.org_id,
        "from": message.sender,
        "to": message.receiver,
        "text": message.text,
        "keyword": message.keyword.value if message.keyword else None,
        "received_at": timestamp(message.received_at),
        "in_reply_to": message.in_reply_to,
        "carrier": message.carrier,
        "carrier_id": message.carrier_id,
        "expires_at": epoch_seconds(expires_at),
    }


def inbound_from_values(values: dict[str, Any]) -> InboundMessage:
    keyword = values.get("keyword")
    return InboundMessage(
        org_id=values["org_id"],
        inbound_id=values["SK"],
        sender=values["from"],
        receiver=values["to"],
        text=values["text"],
        keyword=Keyword(keyword) if keyword else None,
        received_at=parse_timestamp(values["received_at"]),
        in_reply_to=values.get("in_reply_to"),
        carrier=values["carrier"],
        carrier_id=values.get("carrier_id"),
    )


def stored_inbound(stream_record: Mapping[str, Any]) -> InboundMessage | None:
    """A table-stream record (``eventName`` and ``dynamodb``) as the inbound message it stored;
    None for any other record (the template's filter passes only these; this keeps it true
    anywhere). Only the insert counts: an inbound message is never changed after."""
    image = stream_record.get("dynamodb", {}).get("NewImage") or {}
    if stream_record.get("eventName") != "INSERT" or image.get("kind", {}).get("S") != INBOUND_KIND:
        return None
    return inbound_from_values(from_item(image))


class Inbound:
    def __init__(self, table: Table) -> None:
        self.table = table

    def store(
        self,
        message: InboundMessage,
        fingerprint: str | None,
        consent: Keyword | None,
        now: datetime,
        retention: timedelta,
    ) -> bool:
        """Store a reply once; False when this carrier delivered it before (``fingerprint``, its
        id for the message, names the delivery; None when it gave none: stored every time). A
        STOP or START changes the suppression list in the same transaction, so the list moves
        exactly when the reply is stored, never twice and never without it."""
        items = [self.table.put_item(inbound_item(message, now + retention), "attribute_not_exists(PK)")]
        if fingerprint is not None:
            seen = {
                "PK": keys.inbound_seen_pk(message.carrier, fingerprint),
                "SK": keys.META,
                "org_id": message.org_id,
                "inbound_id": message.inbound_id,
                "expires_at": epoch_seconds(now + SEEN_FOR),
            }
            # The carrier's second delivery of the same message fails here: nothing is stored twice.
            items.insert(0, self.table.put_item(seen, "attribute_not_exists(PK)"))
        if consent is Keyword.STOP:
            reason = f"replied {message.text.strip()[:40]}"
            suppressed = suppression_item(message.org_id, message.sender, reason, SuppressionSource.KEYWORD, now)
            # Whole, unconditional: a number already suppressed stays so, now for this reason.
            items.append({"Put": {"TableName": self.table.name, "Item": to_item(suppressed)}})
        elif consent is Keyword.START:
            pk, sk = keys.suppressions_pk(message.org_id), keys.suppression_sk(message.sender)
            items.append({"Delete": {"TableName": self.table.name, "Key": self.table.key(pk, sk)}})
        try:
            self.table.transact(items)
        except TransactionCancelled as cancelled:
            if fingerprint is not None and cancelled.failed_condition(0):
                return False
            raise
        return True

    def page(self, org_id: str, limit: int, after: str | None) -> tuple[list[InboundMessage], bool]:
        """Up to ``limit`` replies, newest first, older than the inbound id ``after``."""
        items, more = self.table.query_page(
            keys.inbound_pk(org_id), _LOW, _HIGH, limit=limit, after=after, newest_first=True
        )
        return [inbound_from_values(from_item(item)) for item in items], more
