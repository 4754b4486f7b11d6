"""Carrier connectors: how recipients are submitted and how receipts are read, per carrier."""

from lisoloo.carriers.base import (
    Carrier,
    CarrierInbound,
    CarrierReceipt,
    ReceiptRequest,
    Submission,
    SubmitOutcome,
    SubmitResult,
)
from lisoloo.carriers.registry import carrier_named

__all__ = [
    "Carrier",
    "CarrierInbound",
    "CarrierReceipt",
    "ReceiptRequest",
    "Submission",
    "SubmitOutcome",
    "SubmitResult",
    "carrier_named",
]
