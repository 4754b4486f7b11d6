"""Carrier delivery receipts: authenticate the carrier, read its receipts, move recipients.

Carriers retry anything but a 2xx, so whatever we cannot use (unknown reference, unreadable
body, a state we do not know) is answered 200, counted in a metric, and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from aws_lambda_powertools.metrics import MetricUnit

from lisoloo.carriers import Carrier, ReceiptRequest
from lisoloo.credentials import secret_matches
from lisoloo.errors import CarrierNotFoundError, InvalidCarrierTokenError, error_for_status
from lisoloo.observability import logger, metrics
from lisoloo.storage import RecipientKey, SmsRepository, Transition


@dataclass(frozen=True, slots=True)
class ReceiptSummary:
    received: int
    applied: int
    ignored: int


def authenticate_carrier(repository: SmsRepository, carrier_name: str, token: str | None) -> None:
    record = repository.find_carrier(carrier_name)
    if record is None:
        raise CarrierNotFoundError()
    if not token or not secret_matches(token, record.token_hash):
        raise InvalidCarrierTokenError()


def apply_receipts(
    repository: SmsRepository, carrier: Carrier, request: ReceiptRequest, now: datetime
) -> ReceiptSummary:
    receipts = carrier.parse_receipts(request)
    if not receipts:
        metrics.add_metric(name="UnreadableReceipts", unit=MetricUnit.Count, value=1)
        logger.warning("unreadable receipt", extra={"carrier": carrier.name, "body": request.body[:500]})
        return ReceiptSummary(received=0, applied=0, ignored=0)
    transitions: list[Transition] = []
    unusable = 0
    for receipt in receipts:
        key = RecipientKey.from_reference(receipt.carrier_ref)
        if key is None or receipt.status.tier is None:
            unusable += 1
            continue
        transitions.append(
            Transition(key, receipt.status, now, error_code=error_for_status(receipt.status), carrier=carrier.name)
        )
    outcome = repository.apply_transitions(transitions)
    unknown = unusable + len(outcome.missing)
    if unknown:
        metrics.add_metric(name="UnknownReceiptReferences", unit=MetricUnit.Count, value=unknown)
        logger.warning("receipts for unknown references", extra={"carrier": carrier.name, "count": unknown})
    if outcome.superseded:
        metrics.add_metric(name="SupersededReceipts", unit=MetricUnit.Count, value=len(outcome.superseded))
    metrics.add_metric(name="AppliedReceipts", unit=MetricUnit.Count, value=len(outcome.applied))
    return ReceiptSummary(
        received=len(receipts),
        applied=len(outcome.applied),
        ignored=len(receipts) - len(outcome.applied),
    )
