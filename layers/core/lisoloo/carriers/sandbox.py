"""The sandbox carrier's connector: an HTTP SMSC whose outcomes depend on the number (DESIGN §5).

It echoes our reference as its own, so receipts need no lookup item.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from lisoloo.carriers.base import (
    CarrierInbound,
    CarrierReceipt,
    ReceiptRequest,
    Submission,
    SubmitOutcome,
    SubmitResult,
)
from lisoloo.carriers.http import was_sent
from lisoloo.carriers.mo import sandbox_inbound
from lisoloo.observability import logger
from lisoloo.status import SmsStatus


class _SandboxResult(BaseModel):
    reference: str
    outcome: SubmitOutcome
    carrier_ref: str | None = None
    error_code: str | None = None
    error_message: str | None = None


class _SandboxSubmitReply(BaseModel):
    results: list[_SandboxResult]


class _SandboxReceipt(BaseModel):
    carrier_ref: str
    status: SmsStatus
    error_code: str | None = None
    done_at: datetime | None = None


_receipts: TypeAdapter[_SandboxReceipt | list[_SandboxReceipt]] = TypeAdapter(_SandboxReceipt | list[_SandboxReceipt])


class SandboxCarrier:
    name = "sandbox"
    receipt_acknowledgement: str | None = None

    def __init__(self, base_url: str, timeout_seconds: float, *, name: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_seconds = timeout_seconds
        if name:
            self.name = name

    def submit(self, submissions: Sequence[Submission]) -> list[SubmitResult]:
        payload = {
            "messages": [
                {
                    "reference": submission.reference,
                    "to": submission.to,
                    "text": submission.text,
                    "sender_id": submission.sender_id,
                    "segments": submission.segments,
                    "validity_period": submission.validity_seconds,
                }
                for submission in submissions
            ]
        }
        try:
            reply = _SandboxSubmitReply.model_validate_json(self._post("/submit", payload))
        except urllib.error.HTTPError as error:
            # An answer, and not a 2xx: the batch was refused (busy, throttled, down).
            logger.warning("sandbox refused the submit", extra={"status": error.code})
            return [SubmitResult(submission.reference, SubmitOutcome.TRANSIENT) for submission in submissions]
        except (OSError, ValidationError) as error:
            # Refused before sending: not taken. Timed out, cut off or garbled: maybe taken, so
            # only the same carrier may see these references again.
            outcome = SubmitOutcome.UNCERTAIN if was_sent(error) else SubmitOutcome.TRANSIENT
            logger.warning("sandbox submit failed", extra={"error": str(error), "outcome": outcome})
            return [SubmitResult(submission.reference, outcome) for submission in submissions]
        by_reference = {result.reference: result for result in reply.results}
        return [
            SubmitResult(**found.model_dump())
            if (found := by_reference.get(submission.reference))
            # Answered without it: the carrier did not take it.
            else SubmitResult(submission.reference, SubmitOutcome.TRANSIENT)
            for submission in submissions
        ]

    def parse_receipts(self, request: ReceiptRequest) -> list[CarrierReceipt]:
        try:
            parsed = _receipts.validate_json(request.body)
        except ValidationError:
            return []
        receipts = parsed if isinstance(parsed, list) else [parsed]
        return [
            CarrierReceipt(
                carrier_ref=receipt.carrier_ref,
                status=receipt.status,
                error_code=receipt.error_code,
                done_at=receipt.done_at,
                # Its ids are our references: a receipt is never for an id not known yet.
                reference=receipt.carrier_ref,
            )
            for receipt in receipts
        ]

    def parse_inbound(self, request: ReceiptRequest) -> list[CarrierInbound]:
        return sandbox_inbound(request)

    def _post(self, path: str, payload: dict[str, Any]) -> bytes:
        request = urllib.request.Request(  # noqa: S310 - the URL is our own setting, http(s) only
            self.base_url + path,
            data=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=self.timeout_seconds) as response:  # noqa: S310
            body: bytes = response.read()
            return body
