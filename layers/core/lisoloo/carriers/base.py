"""The carrier interface every connector implements, and the values it speaks in."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from lisoloo.status import SmsStatus


class SubmitOutcome(StrEnum):
    ACCEPTED = "accepted"  # handed to the carrier; a receipt will follow
    REJECTED = "rejected"  # permanent: invalid sender, content, destination
    # Not taken, provably (refused connection, 5xx/429 before acceptance, throttled, no
    # credit, not sent at all): another carrier of the route may take it now.
    TRANSIENT = "transient"
    # Sent, but no answer (timed out, connection lost after the request went): the carrier may
    # have taken it, so only the same carrier, with the same reference, may be asked again.
    UNCERTAIN = "uncertain"

    @property
    def may_fail_over(self) -> bool:
        return self is SubmitOutcome.TRANSIENT


@dataclass(frozen=True, slots=True)
class Submission:
    reference: str  # ours; carriers that can echo it in receipts make lookups unnecessary
    to: str
    text: str
    sender_id: str | None
    segments: int
    # Seconds the text stays worth delivering from now (DESIGN §12); None: the carrier's default.
    validity_seconds: int | None = None

    @property
    def validity_minutes(self) -> int | None:
        """The validity in whole minutes, rounded up (Kannel's and Jasmin's unit)."""
        return None if self.validity_seconds is None else max(1, -(-self.validity_seconds // 60))


@dataclass(frozen=True, slots=True)
class SubmitResult:
    reference: str
    outcome: SubmitOutcome
    carrier_ref: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    # Set by carriers whose receipts name the recipient by their own ids instead of our
    # reference (one per part when each part has its own id and receipt): dispatch then
    # writes a lookup item from each id to the recipient.
    lookup_refs: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ReceiptRequest:
    """A receipt as it reached us over HTTP, before any carrier-specific parsing."""

    method: str
    body: str
    content_type: str = ""
    query: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CarrierReceipt:
    """One delivery report. ``reference`` is ours when the carrier echoes it (in the dlr-url
    or a callback URL); otherwise ``carrier_ref`` (the carrier's own id) names the recipient
    through a lookup item. ``part`` identifies the SMS part a per-part receipt is about."""

    carrier_ref: str
    status: SmsStatus
    error_code: str | None = None
    done_at: datetime | None = None
    reference: str | None = None
    part: str | None = None


@dataclass(frozen=True, slots=True)
class CarrierInbound:
    """One message a handset sent to one of our numbers (MO), as its carrier reported it:
    numbers as the carrier wrote them, the text already joined if it came in parts."""

    sender: str
    receiver: str
    text: str
    carrier_id: str | None = None  # the carrier's id for it: a re-delivery carries the same
    sent_at: datetime | None = None


class Carrier(Protocol):
    name: str
    # The exact plain-text body the carrier needs back to stop re-sending a receipt
    # (Jasmin: "ACK/Jasmin"); None answers our usual JSON.
    receipt_acknowledgement: str | None

    def submit(self, submissions: Sequence[Submission]) -> list[SubmitResult]:
        """One result per submission, same order. Never raises for carrier-side trouble:
        that is a TRANSIENT result (or UNCERTAIN when the request may have been taken), so
        dispatch can fail over or retry it."""
        ...

    def parse_receipts(self, request: ReceiptRequest) -> list[CarrierReceipt]:
        """Every receipt the request carries; what cannot be read is left out, never raised."""
        ...

    def parse_inbound(self, request: ReceiptRequest) -> list[CarrierInbound]:
        """Every inbound message the request carries (on ``/inbound/{carrier}``), like receipts."""
        ...
