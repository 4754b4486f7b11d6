"""Jasmin's HTTP API (ja-http): ``POST /send``, one request per recipient.

Form fields ``username``, ``password``, ``to``, ``from``, ``content`` (UCS-2 texts go as
``hex-content``, UTF-16BE, with ``coding=8``), ``dlr=yes``, ``dlr-level=3`` (the SMSC's
answer and the handset receipt), ``dlr-method=POST`` and a ``dlr-url`` with our reference
and the carrier token in its query string. POST, because Jasmin appends ``?<fields>`` to
the dlr-url for GET, which would break a URL that already has a query.

``200 Success "<uuid>"`` means queued in Jasmin, not yet accepted by the SMSC: a later
level-1 DLR with an ``ESME_*`` error still rejects it. 400 and 412 (``No route found``)
reject the message; 403 is our credentials or our Jasmin user's balance (transient, logged);
5xx is transient. Jasmin re-sends a DLR until the body of our answer is exactly
``ACK/Jasmin``. It reports a multi-part message as one message (one id, one receipt).
"""

from __future__ import annotations

import re
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
from lisoloo.carriers.dlr import jasmin_receipt, receipt_fields
from lisoloo.carriers.http import HttpCarrier, http_call, outcome_for_status, receipts_url
from lisoloo.carriers.mo import jasmin_inbound
from lisoloo.carriers.secrets import CarrierSecrets
from lisoloo.observability import logger
from lisoloo.segments import is_gsm7

ACKNOWLEDGEMENT = "ACK/Jasmin"
_SUCCESS = re.compile(r'^Success\s+"([^"]+)"')


@dataclass(frozen=True, slots=True)
class JasminConfig:
    send_url: str  # http://jasmin:1401/send
    username: str
    receipts_base_url: str
    default_sender: str = ""
    timeout_seconds: float = 10.0
    concurrency: int = 8
    budget_seconds: float = 20.0


class JasminCarrier(HttpCarrier[JasminConfig]):
    name = "jasmin"
    receipt_acknowledgement: str | None = ACKNOWLEDGEMENT

    def send_form(self, submission: Submission, secrets: CarrierSecrets) -> dict[str, str]:
        dlr_url = receipts_url(self.config.receipts_base_url, self.name, secrets.receipt_token, submission.reference)
        form = {
            "username": self.config.username,
            "password": secrets.password,
            "to": submission.to,
            "dlr": "yes",
            "dlr-url": dlr_url,
            "dlr-level": "3",
            "dlr-method": "POST",
        }
        if is_gsm7(submission.text):
            form["content"] = submission.text
        else:
            form["coding"] = "8"
            form["hex-content"] = submission.text.encode("utf-16-be").hex()
        sender = submission.sender_id or self.config.default_sender
        if sender:
            form["from"] = sender
        if submission.validity_minutes is not None:
            form["validity-period"] = str(submission.validity_minutes)  # Jasmin's HTTP API: minutes
        return form

    def _submit_one(self, submission: Submission, secrets: CarrierSecrets) -> SubmitResult:
        reply = http_call(
            "POST",
            self.config.send_url,
            data=urllib.parse.urlencode(self.send_form(submission, secrets)).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            timeout=self.config.timeout_seconds,
        )
        answer = reply.body.strip()
        outcome = outcome_for_status(reply.status)
        if reply.status == 403:
            # "Authentication failure", "Authorization failed", "Cannot charge submit_sm": ours to fix.
            logger.error("jasmin refused our user", extra={"answer": answer[:200]})
            outcome = SubmitOutcome.TRANSIENT
        if outcome is SubmitOutcome.ACCEPTED:
            found = _SUCCESS.match(answer)
            if found is None:
                logger.warning("jasmin answered 2xx without a message id", extra={"answer": answer[:200]})
            return SubmitResult(submission.reference, outcome, carrier_ref=found.group(1) if found else None)
        return SubmitResult(
            submission.reference, outcome, error_code=str(reply.status), error_message=answer[:200] or None
        )

    def parse_receipts(self, request: ReceiptRequest) -> list[CarrierReceipt]:
        receipt = jasmin_receipt(receipt_fields(request))
        return [receipt] if receipt is not None else []

    def parse_inbound(self, request: ReceiptRequest) -> list[CarrierInbound]:
        return jasmin_inbound(request)
