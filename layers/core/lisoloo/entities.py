"""The domain's vocabulary: what storage hands use cases and use cases hand storage.

Plain frozen values with no I/O and no knowledge of the table (``storage`` reads and writes
them; only ``storage.keys`` knows how they are addressed). A message's recipients are split
into chunks of ``RECIPIENTS_PER_CHUNK``: one dispatch job each, and the unit a status page
reads.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from lisoloo.errors import ErrorCode
from lisoloo.identifiers import is_message_id, is_organization_id
from lisoloo.status import MessageProgress, SmsStatus, aggregate_status, is_handed_off, message_error_code

RECIPIENTS_PER_CHUNK = 100
# A recipient index as a reference writes it: ASCII digits (str.isdigit() also admits "²"), no
# sign, no leading zero, at most four (a send has at most 10,000 recipients: 0..9,999). Only that
# form is ours: "01" never names recipient 1, and a 5,000-digit "index" never reaches int().
_INDEX = re.compile(r"0|[1-9][0-9]{0,3}")
# "org_" and 16 hex, 24 hex, four digits, two dots: anything longer is not one of ours.
MAX_REFERENCE_LENGTH = 50


def chunk_count(total: int) -> int:
    return -(-total // RECIPIENTS_PER_CHUNK)


class DueKind(StrEnum):
    """Why an item sits in the sparse ``due`` index: what the sweep must do when it is due."""

    RELEASE = "release"  # a message to hand to dispatch (scheduled, or whose jobs may be lost)
    DEADLINE = "deadline"  # a dispatched message that may still wait for receipts
    RETRY = "retry"  # a recipient whose submission failed transiently
    PARKED = "parked"  # a receipt whose carrier id was not known yet, to apply again
    # a recipient handed off with deliver-by armed: at its time, once more through the next carrier
    DELIVER_BY = "deliver_by"


@dataclass(frozen=True, slots=True)
class RecipientKey:
    """Where a recipient lives. Its ``reference`` is what we hand a carrier, so a receipt
    that echoes it finds the row with no lookup item."""

    org_id: str
    message_id: str
    index: int

    @property
    def chunk(self) -> int:
        return self.index // RECIPIENTS_PER_CHUNK

    @property
    def reference(self) -> str:
        return f"{self.org_id}.{self.message_id}.{self.index}"

    @classmethod
    def from_reference(cls, reference: str) -> RecipientKey | None:
        """The recipient a reference of ours names; None for anything else (whatever a carrier
        echoes back: this never raises). Exactly the form ``reference`` writes is accepted."""
        if len(reference) > MAX_REFERENCE_LENGTH:
            return None
        parts = reference.split(".")
        if len(parts) != 3:
            return None
        org_id, message_id, index = parts
        if not (is_organization_id(org_id) and is_message_id(message_id) and _INDEX.fullmatch(index)):
            return None
        return cls(org_id, message_id, int(index))


@dataclass(frozen=True, slots=True)
class Audience:
    """A send's recipients as stored at send: their numbers and, for a personal text (DESIGN
    §12), each one's ``{{name}}`` values (None: one text for all, nothing extra stored)."""

    numbers: Sequence[str]
    variables: Sequence[Mapping[str, str]] | None = None

    def __len__(self) -> int:
        return len(self.numbers)


@dataclass(frozen=True, slots=True)
class MessageContent:
    """What a send says, from whom, to how many: a message's, and a schedule's, which each of
    its occurrences copies."""

    org_id: str
    text: str
    sender_id: str | None
    reference: str | None
    encoding: str
    segments: int
    total: int
    callback_url: str | None = None
    # Seconds from release the text is worth sending (DESIGN §12); None: no limit of its own.
    validity_period: int | None = None
    # Seconds after a recipient's hand-off with no ``delivered`` before it goes once more
    # through the next carrier of its route (DESIGN §8, one-time codes); None: never.
    deliver_within: int | None = None

    @classmethod
    def of(cls, source: NewMessage | NewSchedule | MessageRecord) -> MessageContent:
        return cls(**{name: getattr(source, name) for name in CONTENT_FIELDS})

    def fields(self) -> dict[str, Any]:
        """As keyword arguments of NewMessage, NewSchedule or MessageRecord."""
        return {name: getattr(self, name) for name in CONTENT_FIELDS}


CONTENT_FIELDS = (
    "org_id",
    "text",
    "sender_id",
    "reference",
    "encoding",
    "segments",
    "total",
    "callback_url",
    "validity_period",
    "deliver_within",
)


@dataclass(frozen=True, slots=True)
class NewMessage:
    org_id: str
    message_id: str
    text: str
    sender_id: str | None
    reference: str | None
    encoding: str
    segments: int
    total: int
    created_at: datetime
    expires_at: datetime
    # When the sweep looks at it first: the scheduled time, or a guard in case its jobs are lost.
    due_at: datetime
    callback_url: str | None = None
    scheduled_for: datetime | None = None
    schedule_id: str | None = None
    # 1, 2, ... for the occurrences of a recurrence; 0 for an explicit scheduled date.
    occurrence_number: int | None = None
    validity_period: int | None = None
    deliver_within: int | None = None


@dataclass(frozen=True, slots=True)
class NewSchedule:
    org_id: str
    schedule_id: str
    text: str
    sender_id: str | None
    reference: str | None
    encoding: str
    segments: int
    total: int
    recurring: str | None  # the recurrence as JSON (models.RecurringSchedule), or None
    created_at: datetime
    callback_url: str | None = None
    validity_period: int | None = None
    deliver_within: int | None = None


@dataclass(frozen=True, slots=True)
class ScheduleRecord(NewSchedule):
    occurrences_created: int = 0
    occurrence_ids: tuple[str, ...] = ()
    cancelled: bool = False


@dataclass(frozen=True, slots=True)
class MessageRecord:
    org_id: str
    message_id: str
    text: str
    sender_id: str | None
    reference: str | None
    encoding: str
    segments: int
    total: int
    delivered: int
    failed: int
    started: bool
    handed_off_chunks: int
    created_at: datetime
    updated_at: datetime
    released: bool = True
    # When dispatch first claimed a recipient: the receipt deadline counts from here.
    started_at: datetime | None = None
    scheduled_for: datetime | None = None
    schedule_id: str | None = None
    # Until release, a scheduled occurrence's numbers live once in its schedule's partition.
    numbers_in_schedule: bool = False
    occurrence_number: int | None = None
    # Stored by messages written before ``failures`` existed (a 1503 timeout): read as a fallback.
    error_code: int | None = None
    callback_url: str | None = None
    # Failed recipients by error code (kept with the counters, in the same transactions).
    failures: Mapping[int, int] = field(default_factory=dict)
    validity_period: int | None = None
    deliver_within: int | None = None
    # What the message was charged (DESIGN §10), once it is final and settled; None before.
    cost_charged: Decimal | None = None

    @property
    def valid_until(self) -> datetime | None:
        """When its text stops being worth sending (DESIGN §12): ``validity_period`` after its
        release (its scheduled time, or its creation); None without one."""
        if self.validity_period is None:
            return None
        return (self.scheduled_for or self.created_at) + timedelta(seconds=self.validity_period)

    @property
    def failure_code(self) -> int | None:
        """The message's own error code (``message_error_code``), for the status and webhooks."""
        counted = message_error_code(self.progress, self.failures)
        if counted is None and not self.failures and aggregate_status(self.progress) is SmsStatus.FAILED:
            return self.error_code
        return counted

    @property
    def progress(self) -> MessageProgress:
        return MessageProgress(
            total=self.total,
            delivered=self.delivered,
            failed=self.failed,
            released=self.released,
            started=self.started,
            chunks=chunk_count(self.total),
            handed_off_chunks=self.handed_off_chunks,
        )


@dataclass(frozen=True, slots=True)
class MessageSize:
    """What applying receipts needs of a message: its recipients (every index below ``total``)
    and the parts each text went as."""

    total: int
    segments: int
    # Its recipients may have two carriers (deliver-by): their receipts follow ``deliver_by``.
    deliver_within: int | None = None


@dataclass(frozen=True, slots=True)
class MessageChange:
    """A message item before and after one write, as the table's stream reports it (None:
    created, or removed)."""

    old: MessageRecord | None
    new: MessageRecord | None


@dataclass(frozen=True, slots=True)
class RecipientRecord:
    """A recipient that dispatch has claimed (unclaimed ones exist only as a number in a chunk)."""

    index: int
    status: SmsStatus
    updated_at: datetime
    error_code: int | None = None
    error_message: str | None = None
    carrier_ref: str | None = None
    carrier: str | None = None
    attempts: int = 1
    # When the carrier accepted it (the last attempt's time), and when its next attempt is due.
    handed_off_at: datetime | None = None
    retry_due_at: datetime | None = None
    # Set when the last attempt's outcome was uncertain: the next may go to this carrier only.
    retry_carrier: str | None = None
    # A personal text's own parts (DESIGN §12); None: the message's.
    segments: int | None = None
    # Deliver-by's second carrier (DESIGN §8), when the recipient went once more through it.
    fallback_carrier: str | None = None
    fallback_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class StatusPage:
    """Recipients ``start .. start+len(numbers)-1`` of a message: their numbers, and the rows
    of those dispatch has claimed."""

    message: MessageRecord
    start: int
    numbers: list[str]
    rows: dict[int, RecipientRecord]
    next_index: int | None


@dataclass(frozen=True, slots=True)
class ChunkWork:
    """What dispatch needs for one job: the message, the chunk's numbers and any rows already claimed."""

    message: MessageRecord
    numbers: list[str]
    first_index: int
    rows: dict[int, RecipientRecord]
    # A personal text's values per recipient, in number order (DESIGN §12); None: one text.
    variables: Sequence[Mapping[str, str]] | None = None

    @property
    def indexes(self) -> range:
        return range(self.first_index, self.first_index + len(self.numbers))

    def number_of(self, index: int) -> str:
        return self.numbers[index - self.first_index]

    def variables_of(self, index: int) -> Mapping[str, str] | None:
        return self.variables[index - self.first_index] if self.variables is not None else None

    def past_us(self) -> set[int]:
        """Recipients no longer waiting on us: handed to a carrier, or final."""
        return {index for index, row in self.rows.items() if is_handed_off(row.status)}

    def handed_off(self, also_past_us: set[int]) -> bool:
        """Whether none of the chunk's recipients still waits on us, counting ``also_past_us``
        (recorded since the rows were read)."""
        done = self.past_us() | also_past_us
        return bool(self.numbers) and all(index in done for index in self.indexes)


@dataclass(frozen=True, slots=True)
class Transition:
    """Move one recipient to ``status``. ``carrier`` (for receipts) guards that the row was
    submitted through that carrier; ``create`` makes the row if dispatch never claimed it."""

    key: RecipientKey
    status: SmsStatus
    at: datetime
    error_code: ErrorCode | None = None
    carrier: str | None = None
    create: bool = False
    # With ``create``: the number and its message's creation, so the new row is found by number.
    listed_as: NumberListing | None = None
    # For a carrier's receipt: when it reached our endpoint (queued since), for route quality.
    received_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class NumberListing:
    """What files a recipient row in the per-number index (``storage.message_index``)."""

    number: str
    message_created_at: datetime


@dataclass(slots=True)
class TransitionOutcome:
    applied: list[Transition] = field(default_factory=list)
    # The row was already at or past that state: a duplicate or late receipt, ignored.
    superseded: list[Transition] = field(default_factory=list)
    # No such row (or message): an unknown reference.
    missing: list[Transition] = field(default_factory=list)
    # Not tried: the caller ran out of time first (``apply_transitions``' ``keep_going``).
    deferred: list[Transition] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class DueItem:
    """An entry of the due index: what is due, for whom, and the due time as stored (the
    value a lease is conditioned on). ``pk``/``sk`` address the item for leasing; what they
    name is read from them by storage: the message (release, deadline) or the recipient
    (retry); a parked receipt names neither."""

    pk: str
    sk: str
    kind: DueKind
    due_at: str
    org_id: str = ""
    message_id: str = ""
    index: int | None = None

    @property
    def due_time(self) -> datetime:
        return datetime.fromisoformat(self.due_at)

    @property
    def recipient(self) -> RecipientKey:
        if self.index is None:
            raise ValueError(f"a {self.kind} item names no recipient")
        return RecipientKey(self.org_id, self.message_id, self.index)
