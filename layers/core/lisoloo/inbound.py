"""Inbound messages (DESIGN §9): a carrier's MO request read, each message matched to the
organization that owns its receiver, stored once, the sender's consent applied, and the
organization's reply to STOP, START or HELP (if it set one) sent.

Stored before the carrier hears 2xx, and not queued first as receipts are: an inbound message
needs its organization's number, keywords and latest message to the sender before it can be
stored, a few reads, and replies come at a person's pace, not a bulk send's. A carrier that
gets no 2xx delivers again; the carrier's id for the message (or, without one, what the message
says and when) makes that second delivery store nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from aws_lambda_powertools.metrics import MetricUnit

from lisoloo.carriers import Carrier, CarrierInbound, ReceiptRequest
from lisoloo.errors import DomainError, StorageError
from lisoloo.identifiers import new_inbound_id
from lisoloo.keywords import classify, loose
from lisoloo.models import RESERVED_REFERENCE_PREFIX, Caller, SendRequest, check_sender_id
from lisoloo.observability import logger, metrics
from lisoloo.phone import MalformedNumberError, normalise_number
from lisoloo.queues import JobQueue
from lisoloo.sending import send_message
from lisoloo.settings import Settings
from lisoloo.storage import SmsRepository
from lisoloo.storage.inbound import REPLY_WINDOW
from lisoloo.two_way import ConsentSettings, InboundMessage, consent_change

# A short code is a few digits; anything longer is a phone number, kept in E.164.
_SHORT_CODE_DIGITS = 8
# The most inbound messages one request may carry (each costs a few reads and a transaction).
MAX_INBOUND_PER_REQUEST = 100


@dataclass(frozen=True, slots=True)
class InboundOutcome:
    stored: int = 0
    duplicates: int = 0
    unknown_receivers: int = 0
    unreadable: int = 0


def receive_inbound(
    connector: Carrier,
    request: ReceiptRequest,
    *,
    repository: SmsRepository,
    queue: JobQueue,
    settings: Settings,
    now: datetime,
) -> InboundOutcome:
    messages = connector.parse_inbound(request)[:MAX_INBOUND_PER_REQUEST]
    if not messages:
        metrics.add_metric(name="UnreadableInbound", unit=MetricUnit.Count, value=1)
        logger.warning("unreadable inbound request", extra={"carrier": connector.name, "body": request.body[:500]})
        return InboundOutcome(unreadable=1)
    stored = duplicates = unknown = 0
    for message in messages:
        result = _receive_one(connector.name, message, repository, queue, settings, now)
        stored += result is True
        duplicates += result is False
        unknown += result is None
    if unknown:
        metrics.add_metric(name="InboundUnknownReceiver", unit=MetricUnit.Count, value=unknown)
    if duplicates:
        metrics.add_metric(name="InboundDuplicates", unit=MetricUnit.Count, value=duplicates)
    metrics.add_metric(name="InboundStored", unit=MetricUnit.Count, value=stored)
    return InboundOutcome(stored=stored, duplicates=duplicates, unknown_receivers=unknown)


def address(raw: str, default_country: str) -> str:
    """A number as stored: a short code as its digits, a phone number in E.164 (carriers often
    write international numbers without their "+"); anything else as it came."""
    compact = raw.strip().replace(" ", "")
    if compact.isascii() and compact.isdigit() and len(compact) <= _SHORT_CODE_DIGITS:
        return compact
    candidate = compact if compact.startswith(("+", "0")) else f"+{compact}"
    try:
        return normalise_number(candidate, default_country)
    except MalformedNumberError:
        return compact


def _receive_one(
    carrier: str,
    received: CarrierInbound,
    repository: SmsRepository,
    queue: JobQueue,
    settings: Settings,
    now: datetime,
) -> bool | None:
    """True when stored, False for a delivery seen before, None for a receiver nobody owns."""
    receiver = address(received.receiver, "ZZ")
    words = received.text.split(maxsplit=1)
    first_word = loose(words[0]) if words else None
    owner = repository.inbound_numbers.resolve(receiver, first_word)
    if owner is None:
        logger.info("inbound message for a receiver nobody owns", extra={"carrier": carrier, "to": receiver})
        return None
    found = repository.organizations.consent(owner.org_id)
    default_country, consent = found if found is not None else ("ZZ", ConsentSettings())
    sender = address(received.sender, default_country)
    # On a shared short code the first word names the organization; what follows is the reply.
    said = received.text if owner.keyword is None else (words[1] if len(words) > 1 else "")
    keyword = classify(said, consent.words)
    message = InboundMessage(
        org_id=owner.org_id,
        inbound_id=new_inbound_id(now.timestamp()),
        sender=sender,
        receiver=receiver,
        text=received.text,
        keyword=keyword,
        received_at=now,
        in_reply_to=repository.message_index.latest_message_to(owner.org_id, sender, now - REPLY_WINDOW),
        carrier=carrier,
        carrier_id=received.carrier_id,
    )
    retention = timedelta(days=settings.time.retention_days)
    change = consent_change(keyword, sender)
    if not repository.inbound.store(message, _fingerprint(received), change, now, retention):
        return False
    reply = consent.reply_to(keyword)
    if reply and sender.startswith("+"):
        _send_reply(message, reply, default_country, repository, queue, settings, now)
    return True


def _send_reply(
    message: InboundMessage,
    text: str,
    default_country: str,
    repository: SmsRepository,
    queue: JobQueue,
    settings: Settings,
    now: datetime,
) -> None:
    """The organization's reply to a STOP, START or HELP: an ordinary message through the normal
    pipeline (status, webhooks, and charged like any once money exists), from the number the
    handset wrote to. Sent once, when the reply is first stored; a failure here is logged and
    counted, not retried: the carrier must not be told to deliver the reply again for it."""
    word = message.keyword.value.lower() if message.keyword else "keyword"
    # Built, not validated: its reference is one of ours, which a merchant's request may not use.
    request = SendRequest.model_construct(
        to=[message.sender],
        message=text,
        sender_id=message.receiver if _is_sender_id(message.receiver) else None,
        reference=f"{RESERVED_REFERENCE_PREFIX}{word}-reply",
    )
    caller = Caller(org_id=message.org_id, default_country=default_country)
    try:
        send_message(request, caller, repository=repository, queue=queue, settings=settings, now=now)
    except (DomainError, StorageError):
        metrics.add_metric(name="InboundRepliesFailed", unit=MetricUnit.Count, value=1)
        logger.exception("reply to an inbound keyword not sent", extra={"inbound_id": message.inbound_id})
        return
    metrics.add_metric(name="InboundReplies", unit=MetricUnit.Count, value=1)


def _is_sender_id(value: str) -> bool:
    try:
        check_sender_id(value)
    except ValueError:
        return False
    return True


def _fingerprint(received: CarrierInbound) -> str | None:
    """What names one message across a carrier's deliveries of it: its id; without one, what it
    says, from whom, to whom and when the carrier says it was sent (without that, nothing: two
    identical texts may well be two messages)."""
    if received.carrier_id:
        return received.carrier_id
    if received.sent_at is None:
        return None
    said = "\n".join((received.sender, received.receiver, received.sent_at.isoformat(), received.text))
    return "sha256:" + hashlib.sha256(said.encode()).hexdigest()
