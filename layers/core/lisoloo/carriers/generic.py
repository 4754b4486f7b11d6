"""A generic JSON-over-HTTP carrier, for aggregators with REST APIs, set up by configuration:
a URL, an auth header (its value is a secret), and a field mapping for submissions, their
replies and receipts (``HTTP_CARRIER_MAPPING``, JSON; every key optional)::

    {"submit": {"to": "to", "text": "message", "sender": "from", "reference": "client_ref",
                "callback_url": "callback", "static": {"channel": "sms"},
                "id": "data.message_id", "success": "status", "success_values": ["queued"],
                "error": "error.code"},
     "receipt": {"items": "reports", "id": "message_id", "reference": "client_ref",
                 "status": "status", "error": "error_code", "done_at": "done_at", "part": null,
                 "per_part": false, "smpp_text": null,
                 "statuses": {"DELIVERED": "delivered", "FAILED": "undelivered"}},
     "inbound": {"items": null, "id": "id", "sender": "from", "receiver": "to", "text": "text",
                 "sent_at": null}}

Paths are dotted (``data.id``, ``messages.0.id``, ``messages.*.message-id``). One POST per
recipient. A 2xx reply is accepted unless ``success`` names a field whose value is not in
``success_values``. With a ``callback_url`` field, each message carries our receipts URL
(token and reference in it); without one, receipts name the carrier's id and dispatch
writes a lookup item for it (for each id, when the reply lists one per part). Per-part
receipts (``part``, or ``per_part`` with one id per part) let a multi-part recipient end
``delivered``, ``partially_delivered`` or failed by what became of all of its parts.
Receipts may be one JSON object, a list, a list under ``items``, or form/query fields.
A receipt status is read through ``statuses``, then as one of ours, then as an SMPP stat.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from lisoloo.carriers.base import (
    CarrierInbound,
    CarrierReceipt,
    ReceiptRequest,
    Submission,
    SubmitOutcome,
    SubmitResult,
)
from lisoloo.carriers.dlr import SMPP_STATES, parse_smpp_date, parse_smpp_receipt, receipt_fields
from lisoloo.carriers.http import HttpCarrier, http_call, outcome_for_status, receipts_url
from lisoloo.carriers.mo import MAX_MESSAGES, inbound_message, json_document
from lisoloo.carriers.secrets import CarrierSecrets, SecretsLoader
from lisoloo.observability import logger
from lisoloo.status import SmsStatus

_MAX_BODY = 1_000_000
_DIGITS = re.compile(r"[0-9]+")
_MAX_RECEIPTS = 1_000


class SubmitMapping(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    to: str = "to"
    text: str = "text"
    sender: str | None = "from"
    reference: str | None = "reference"
    callback_url: str | None = None
    # Where the validity period goes, in seconds (DESIGN §12); None: the aggregator takes none.
    validity: str | None = None
    static: dict[str, Any] = Field(default_factory=dict)
    id: str = "id"
    success: str | None = None
    success_values: list[str] = Field(default_factory=list)
    error: str | None = None


class ReceiptMapping(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    items: str | None = None
    id: str = "id"
    reference: str | None = "reference"
    status: str = "status"
    error: str | None = "error_code"
    done_at: str | None = None
    # Per-part receipts: a field naming the part, or ``per_part`` when each part has an id of
    # its own (the submission reply listed several) and a receipt per id.
    part: str | None = None
    per_part: bool = False
    # A field holding an SMPP Appendix B receipt text, read when the fields above are absent.
    smpp_text: str | None = None
    statuses: dict[str, SmsStatus] = Field(default_factory=dict)


class InboundMapping(BaseModel):
    """Where the generic carrier's MO callbacks keep each field (dotted paths, as receipts)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    items: str | None = None
    id: str | None = "id"
    sender: str = Field("from", description="The handset's number.")
    receiver: str = Field("to", description="Our number or short code.")
    text: str = "text"
    sent_at: str | None = None


class HttpCarrierMapping(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    submit: SubmitMapping = Field(default_factory=SubmitMapping)
    receipt: ReceiptMapping = Field(default_factory=ReceiptMapping)
    inbound: InboundMapping = Field(default_factory=InboundMapping)

    @classmethod
    def from_setting(cls, value: str) -> HttpCarrierMapping:
        """The mapping from its JSON setting ("" means every default)."""
        return cls.model_validate_json(value) if value.strip() else cls()


@dataclass(frozen=True, slots=True)
class GenericHttpConfig:
    name: str
    url: str
    receipts_base_url: str
    auth_header: str = "Authorization"
    mapping: HttpCarrierMapping = field(default_factory=HttpCarrierMapping)
    default_sender: str = ""
    timeout_seconds: float = 10.0
    concurrency: int = 8
    budget_seconds: float = 20.0


def get_path(document: Any, path: str | None) -> Any:
    """The value at a dotted path (list items by index), or None when any step is missing;
    a ``*`` step maps the rest of the path over a list (``messages.*.message-id``)."""
    if not path:
        return None
    value = document
    steps = path.split(".")
    for position, step in enumerate(steps):
        if step == "*":
            if not isinstance(value, list):
                return None
            rest = ".".join(steps[position + 1 :])
            return [get_path(item, rest) if rest else item for item in value]
        if isinstance(value, Mapping):
            value = value.get(step)
        elif isinstance(value, list) and _DIGITS.fullmatch(step) and int(step) < len(value):
            value = value[int(step)]
        else:
            return None
    return value


def set_path(document: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for step in parents:
        document = document.setdefault(step, {})
    document[last] = value


def _text(value: Any) -> str | None:
    """A scalar as text; None for missing, empty or structured values."""
    if isinstance(value, bool) or value is None or isinstance(value, dict | list):
        return None
    text = str(value).strip()
    return text or None


def status_from_word(word: str, statuses: Mapping[str, SmsStatus]) -> SmsStatus:
    """Through the configured words (any case), then our own names, then SMPP stats."""
    for name, status in statuses.items():
        if name.strip().lower() == word.lower():
            return status
    try:
        return SmsStatus(word.lower())
    except ValueError:
        return SMPP_STATES.get(word.upper(), SmsStatus.UNKNOWN)


def parse_time(value: Any) -> datetime | None:
    """ISO 8601, Unix seconds or milliseconds, or an SMPP date; None otherwise."""
    text = _text(value)
    if text is None:
        return None
    if _DIGITS.fullmatch(text):
        if len(text) == 12:  # YYMMDDhhmmss; ten digits are read as Unix seconds, not YYMMDDhhmm
            return parse_smpp_date(text)
        number = int(text)
        try:
            return datetime.fromtimestamp(number / 1000 if number > 10**11 else number, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def generic_receipts(request: ReceiptRequest, mapping: ReceiptMapping) -> list[CarrierReceipt]:
    """Every readable receipt in the request; items without an id or a status are left out."""
    items: list[Any]
    body = request.body.strip()
    document: Any = None
    if body.startswith(("{", "[")) and len(body) <= _MAX_BODY:
        try:
            document = json.loads(body)
        except ValueError:
            return []
    if document is None:
        items = [receipt_fields(request)]
    else:
        found = get_path(document, mapping.items) if mapping.items else document
        items = found if isinstance(found, list) else [found]
    query_reference = request.query.get("ref") if isinstance(request.query.get("ref"), str) else None
    receipts = []
    for item in items[:_MAX_RECEIPTS]:
        if not isinstance(item, Mapping):
            continue
        smpp_text = _text(get_path(item, mapping.smpp_text))
        smpp = parse_smpp_receipt(smpp_text) if smpp_text else None
        carrier_id = _text(get_path(item, mapping.id)) or (smpp.id if smpp else None)
        reference = _text(get_path(item, mapping.reference)) or query_reference
        word = _text(get_path(item, mapping.status)) or (smpp.stat if smpp else None)
        if word is None or not (carrier_id or reference):
            continue
        part = _text(get_path(item, mapping.part)) or (carrier_id if mapping.per_part else None)
        receipts.append(
            CarrierReceipt(
                carrier_ref=carrier_id or reference or "",
                status=status_from_word(word, mapping.statuses),
                error_code=_text(get_path(item, mapping.error)) or (smpp.err if smpp else None),
                done_at=parse_time(get_path(item, mapping.done_at)) or (smpp.done_date if smpp else None),
                reference=reference,
                part=part,
            )
        )
    return receipts


def generic_inbound(request: ReceiptRequest, mapping: InboundMapping) -> list[CarrierInbound]:
    document = json_document(request)
    if document is None:
        items: list[Any] = [receipt_fields(request)]
    else:
        found = get_path(document, mapping.items) if mapping.items else document
        items = found if isinstance(found, list) else [found]
    messages = [
        inbound_message(
            get_path(item, mapping.sender),
            get_path(item, mapping.receiver),
            get_path(item, mapping.text),
            get_path(item, mapping.id),
            get_path(item, mapping.sent_at),
        )
        for item in items[:MAX_MESSAGES]
        if isinstance(item, Mapping)
    ]
    return [message for message in messages if message is not None]


class GenericHttpCarrier(HttpCarrier[GenericHttpConfig]):
    def __init__(self, config: GenericHttpConfig, secrets: SecretsLoader) -> None:
        super().__init__(config, secrets)
        self.name = config.name  # configured: one deployment may name its aggregator

    def request_body(self, submission: Submission, secrets: CarrierSecrets) -> dict[str, Any]:
        mapping = self.config.mapping.submit
        body: dict[str, Any] = json.loads(json.dumps(mapping.static))  # a deep copy
        set_path(body, mapping.to, submission.to)
        set_path(body, mapping.text, submission.text)
        sender = submission.sender_id or self.config.default_sender
        if mapping.sender and sender:
            set_path(body, mapping.sender, sender)
        if mapping.reference:
            set_path(body, mapping.reference, submission.reference)
        if mapping.callback_url:
            url = receipts_url(self.config.receipts_base_url, self.name, secrets.receipt_token, submission.reference)
            set_path(body, mapping.callback_url, url)
        if mapping.validity and submission.validity_seconds is not None:
            set_path(body, mapping.validity, submission.validity_seconds)
        return body

    def _submit_one(self, submission: Submission, secrets: CarrierSecrets) -> SubmitResult:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if secrets.authorization:
            headers[self.config.auth_header] = secrets.authorization
        reply = http_call(
            "POST",
            self.config.url,
            data=json.dumps(self.request_body(submission, secrets)).encode(),
            headers=headers,
            timeout=self.config.timeout_seconds,
        )
        mapping = self.config.mapping.submit
        document: Any = None
        try:
            document = json.loads(reply.body) if reply.body.strip() else None
        except ValueError:
            document = None
        error_code = _text(get_path(document, mapping.error)) or str(reply.status)
        outcome = outcome_for_status(reply.status)
        if outcome is SubmitOutcome.ACCEPTED and mapping.success:
            verdict = _text(get_path(document, mapping.success))
            if verdict not in mapping.success_values:
                outcome = SubmitOutcome.REJECTED
        if outcome is not SubmitOutcome.ACCEPTED:
            if reply.status == 401:
                logger.error("carrier refused our credentials", extra={"carrier": self.name})
            return SubmitResult(
                submission.reference, outcome, error_code=error_code, error_message=reply.body.strip()[:200] or None
            )
        found = get_path(document, mapping.id)
        ids = [text for value in (found if isinstance(found, list) else [found]) if (text := _text(value))]
        if not ids:
            logger.warning("carrier accepted a message without an id", extra={"carrier": self.name})
        # Receipts that come to our callback URL carry our reference; others only their ids.
        lookups = () if mapping.callback_url else tuple(ids)
        return SubmitResult(submission.reference, outcome, carrier_ref=ids[0] if ids else None, lookup_refs=lookups)

    def parse_receipts(self, request: ReceiptRequest) -> list[CarrierReceipt]:
        return generic_receipts(request, self.config.mapping.receipt)

    def parse_inbound(self, request: ReceiptRequest) -> list[CarrierInbound]:
        return generic_inbound(request, self.config.mapping.inbound)


def mapping_from_setting(value: str) -> HttpCarrierMapping:
    try:
        return HttpCarrierMapping.from_setting(value)
    except ValidationError as error:
        raise ValueError(f"HTTP_CARRIER_MAPPING is not a valid mapping: {error}") from error
