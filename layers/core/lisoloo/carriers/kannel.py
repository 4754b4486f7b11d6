"""Kannel's smsbox HTTP interface: ``GET /cgi-bin/sendsms``, one request per recipient.

Each request carries ``dlr-mask=31`` (every DLR type) and a ``dlr-url`` back to our
receipts endpoint holding the carrier token and our reference, with Kannel's escape codes
for the rest: ``%d`` DLR type, ``%A`` the SMSC's text, ``%F`` the SMSC's message id,
``%i`` the SMSC connection, ``%T`` Unix time. So receipts need no lookup item.

smsbox answers ``202 0: Accepted for delivery`` (or ``3: Queued for later delivery``);
``403 Authorization failed for sendsms`` is our credentials (transient, logged as an
error, so a fixed secret takes effect within the retry window); other 4xx (missing sender
or receiver, white/black-listed, "Not routable. Do not try again.") reject the message.

Kannel's ``sendsms-user`` must allow long texts to be split and sent concatenated:
``concatenation = true`` and ``max-messages = 25`` (1,600 UCS-2 characters are 24 parts).
Kannel requests a DLR for the first part of a split message only (gw/sms.c ``sms_split``;
seen with a real Kannel 1.4.5 in tests/carriers), so a multi-part message gets one SMSC ack
and one final DLR, and that DLR stands for the whole message.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass

from lisoloo.carriers.base import (
    CarrierInbound,
    CarrierReceipt,
    ReceiptRequest,
    Submission,
    SubmitOutcome,
    SubmitResult,
)
from lisoloo.carriers.dlr import kannel_receipt, receipt_fields
from lisoloo.carriers.http import HttpCarrier, http_call, outcome_for_status, receipts_url
from lisoloo.carriers.mo import kannel_inbound
from lisoloo.carriers.secrets import CarrierSecrets
from lisoloo.observability import logger
from lisoloo.segments import is_gsm7

DLR_MASK_ALL = 31
# Appended verbatim (not URL-encoded) to the dlr-url: Kannel substitutes them per DLR.
DLR_URL_ESCAPES = "&status=%d&answer=%A&foreign_id=%F&smsc_id=%i&ts=%T"
# Kannel's own words for our credentials being wrong (smsbox.c).
_AUTHORIZATION_FAILED = "authorization failed"


@dataclass(frozen=True, slots=True)
class KannelConfig:
    sendsms_url: str  # http://kannel:13013/cgi-bin/sendsms
    username: str
    receipts_base_url: str
    default_sender: str = ""
    smsc: str = ""  # route through this smsc-id, when set
    timeout_seconds: float = 10.0
    concurrency: int = 8
    budget_seconds: float = 20.0


class KannelCarrier(HttpCarrier[KannelConfig]):
    name = "kannel"
    receipt_acknowledgement: str | None = None

    def sendsms_query(self, submission: Submission, secrets: CarrierSecrets) -> dict[str, str]:
        dlr_url = receipts_url(self.config.receipts_base_url, self.name, secrets.receipt_token, submission.reference)
        query = {
            "username": self.config.username,
            "password": secrets.password,
            "to": submission.to,
            "text": submission.text,
            # Our text is UTF-8; Kannel recodes it for the SMSC.
            "charset": "UTF-8",
            "dlr-mask": str(DLR_MASK_ALL),
            "dlr-url": dlr_url + DLR_URL_ESCAPES,
        }
        sender = submission.sender_id or self.config.default_sender
        if sender:
            query["from"] = sender
        if not is_gsm7(submission.text):
            query["coding"] = "2"  # UCS-2
        if self.config.smsc:
            query["smsc"] = self.config.smsc
        if submission.validity_minutes is not None:
            query["validity"] = str(submission.validity_minutes)  # sendsms takes minutes
        return query

    def _submit_one(self, submission: Submission, secrets: CarrierSecrets) -> SubmitResult:
        query = urllib.parse.urlencode(self.sendsms_query(submission, secrets))
        reply = http_call("GET", f"{self.config.sendsms_url}?{query}", timeout=self.config.timeout_seconds)
        answer = reply.body.strip()
        outcome = outcome_for_status(reply.status)
        if reply.status == 403 and _AUTHORIZATION_FAILED in answer.lower():
            logger.error("kannel refused our credentials", extra={"answer": answer[:200]})
            outcome = SubmitOutcome.TRANSIENT
        if outcome is SubmitOutcome.ACCEPTED:
            return SubmitResult(submission.reference, outcome, carrier_ref=submission.reference)
        return SubmitResult(
            submission.reference, outcome, error_code=str(reply.status), error_message=answer[:200] or None
        )

    def parse_receipts(self, request: ReceiptRequest) -> list[CarrierReceipt]:
        receipt = kannel_receipt(receipt_fields(request))
        return [receipt] if receipt is not None else []

    def parse_inbound(self, request: ReceiptRequest) -> list[CarrierInbound]:
        return kannel_inbound(request)
