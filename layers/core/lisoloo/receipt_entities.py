"""The vocabulary of carrier receipts beyond the move one makes (``entities.Transition``): a
receipt parked until its carrier id is known, and a multi-part recipient's progress (plain
frozen values, no I/O; kept apart from ``entities``)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from lisoloo.status import SmsStatus


@dataclass(frozen=True, slots=True)
class ParkedReceipt:
    """A receipt that named a carrier id no lookup item knew yet (it outran the submit
    response); kept and applied again until ``give_up_at``."""

    carrier: str
    carrier_ref: str
    status: SmsStatus
    parked_at: datetime
    give_up_at: datetime
    error_code: str | None = None
    done_at: datetime | None = None
    part: str | None = None

    @property
    def fingerprint(self) -> str:
        """Same receipt, same item: a carrier re-sending it does not park it twice."""
        values = (self.status.value, self.error_code or "", self.part or "", self.done_at or "")
        return hashlib.sha256("|".join(map(str, values)).encode()).hexdigest()[:24]


@dataclass(frozen=True, slots=True)
class PartProgress:
    """The per-part outcomes of a multi-part recipient, after recording one part.
    ``recorded`` is False when that part had been recorded before (a re-sent receipt)."""

    delivered: int
    failed: int
    failure: SmsStatus | None
    recorded: bool
    # A personal text's own parts (its row's); None: the message's, the same for all.
    segments: int | None = None

    def complete(self, message_segments: int) -> bool:
        """Whether every part of the recipient's text has reported."""
        return self.reported >= (self.segments if self.segments is not None else message_segments)

    @property
    def reported(self) -> int:
        return self.delivered + self.failed
