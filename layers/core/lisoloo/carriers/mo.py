"""Inbound messages (MO) as each carrier reports them, read into :class:`CarrierInbound`.
Never raises: what cannot be read is left out, as with receipts (``dlr``).

Concatenated MO is not joined here: each connector's carrier joins the parts before it calls us
(Kannel's bearerbox with ``sms-combine-concatenated-mo``, on by default; Jasmin reassembles
SAR and UDH parts before its HTTP MO), so a message arrives whole, with one id. The generic
carrier's aggregator is taken to do the same; parts it does not join are stored as they come.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from lisoloo.carriers.base import CarrierInbound, ReceiptRequest
from lisoloo.carriers.dlr import receipt_fields

# Longer than any number or short code (E.164 is 15 digits), and than any carrier id we know.
_MAX_ADDRESS = 32
_MAX_ID = 128
# Far longer than any concatenated SMS a handset sends (a few parts): past this, not an SMS.
MAX_INBOUND_TEXT = 5_000
_MAX_BODY = 1_000_000
MAX_MESSAGES = 100


def inbound_message(
    sender: Any, receiver: Any, text: Any, carrier_id: Any = None, sent_at: Any = None
) -> CarrierInbound | None:
    """The fields as a message; None when one is missing or past its limit."""
    if not all(isinstance(value, str) for value in (sender, receiver, text)):
        return None
    sender, receiver = sender.strip(), receiver.strip()
    if not (0 < len(sender) <= _MAX_ADDRESS and 0 < len(receiver) <= _MAX_ADDRESS and len(text) <= MAX_INBOUND_TEXT):
        return None
    identifier = str(carrier_id).strip() if isinstance(carrier_id, str | int) and str(carrier_id).strip() else None
    if identifier is not None and len(identifier) > _MAX_ID:
        return None
    return CarrierInbound(sender, receiver, text, identifier, sent_time(sent_at))


def sent_time(value: Any) -> datetime | None:
    """Unix seconds or ISO 8601 (UTC unless it says otherwise); None for anything else."""
    if isinstance(value, int) or (isinstance(value, str) and value.strip().isascii() and value.strip().isdigit()):
        try:
            return datetime.fromtimestamp(int(value), UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def json_document(request: ReceiptRequest) -> Any:
    body = request.body.strip()
    if not body.startswith(("{", "[")) or len(body) > _MAX_BODY:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None


def sandbox_inbound(request: ReceiptRequest) -> list[CarrierInbound]:
    """The sandbox's JSON: ``{"from", "to", "text", "id", "sent_at"}``, or a list of them."""
    document = json_document(request)
    items = document if isinstance(document, list) else [document]
    found = [
        inbound_message(item.get("from"), item.get("to"), item.get("text"), item.get("id"), item.get("sent_at"))
        for item in items[:MAX_MESSAGES]
        if isinstance(item, Mapping)
    ]
    return [message for message in found if message is not None]


def kannel_inbound(request: ReceiptRequest) -> list[CarrierInbound]:
    """Kannel's sms-service ``get-url`` (or ``post-url`` form): ``from=%p&to=%P&text=%a``, and
    ``id=%I`` (Kannel's id for the message) and ``ts=%T`` (Unix time) when the URL asks."""
    fields = receipt_fields(request)
    message = inbound_message(
        fields.get("from"), fields.get("to"), fields.get("text"), fields.get("id"), fields.get("ts")
    )
    return [message] if message is not None else []


def jasmin_inbound(request: ReceiptRequest) -> list[CarrierInbound]:
    """Jasmin's HTTP MO (an HTTP client connector's POST or GET): ``id``, ``from``, ``to``,
    ``content``; a UCS-2 text (``coding=8``) is read from ``binary``, its bytes in hex."""
    fields = receipt_fields(request)
    text: str | None = fields.get("content")
    binary = fields.get("binary")
    if fields.get("coding") == "8" and binary:
        try:
            text = bytes.fromhex(binary).decode("utf-16-be")
        except ValueError:
            text = None
    message = inbound_message(fields.get("from"), fields.get("to"), text, fields.get("id"))
    return [message] if message is not None else []
