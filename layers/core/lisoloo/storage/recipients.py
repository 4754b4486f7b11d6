"""Recipient rows: created when dispatch claims a recipient, moved forward by hand-offs,
retries, receipts and the deadline (DESIGN §3, §4), read back by dispatch, the status page and
the deadline.

One facade, :class:`Recipients`, over three modules: the reads and dispatch's writes here, the
moves that change the message's counters (``recipient_moves``) and deliver-by's second leg
(``recipient_legs``). The numbers themselves are in chunk items (``chunks``).
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import suppress
from datetime import datetime, timedelta
from typing import Any

from lisoloo.entities import (
    RECIPIENTS_PER_CHUNK,
    ChunkWork,
    DueKind,
    MessageRecord,
    NumberListing,
    RecipientKey,
    RecipientRecord,
)
from lisoloo.status import SmsStatus, Tier
from lisoloo.storage import keys
from lisoloo.storage.chunks import chunk_numbers, chunk_variables
from lisoloo.storage.due import DUE_ATTRIBUTES, due_assignment
from lisoloo.storage.message_index import number_attributes
from lisoloo.storage.recipient_legs import FallbackLegs
from lisoloo.storage.recipient_moves import RecipientMoves
from lisoloo.storage.table import ConditionFailed, Item, Table, parse_timestamp, timestamp, wire_integer, wire_string


def recipient_from_item(item: Item) -> RecipientRecord:
    # Read straight from the wire form: a status page reads a hundred of these, and the
    # generic deserializer (a Decimal per number) was most of the page's own time.
    return RecipientRecord(
        index=keys.index_of_recipient_sk(item["SK"]["S"]),
        status=SmsStatus(item["status"]["S"]),
        updated_at=parse_timestamp(item["updated_at"]["S"]),
        error_code=wire_integer(item, "error_code"),
        error_message=wire_string(item, "error_message"),
        carrier_ref=wire_string(item, "carrier_ref"),
        carrier=wire_string(item, "carrier"),
        attempts=wire_integer(item, "attempts") or 1,
        handed_off_at=_wire_timestamp(item, "handed_off_at"),
        retry_due_at=_wire_timestamp(item, "due_at") if wire_string(item, "due_kind") == DueKind.RETRY else None,
        retry_carrier=wire_string(item, "retry_carrier"),
        segments=wire_integer(item, "segments"),
        fallback_carrier=wire_string(item, "fallback_carrier"),
        fallback_at=_wire_timestamp(item, "fallback_at"),
    )


def _wire_timestamp(item: Item, name: str) -> datetime | None:
    value = wire_string(item, name)
    return parse_timestamp(value) if value is not None else None


def numbers_and_rows(items: Iterable[Item]) -> tuple[dict[int, str], dict[int, RecipientRecord]]:
    """A partition's chunk items and recipient rows, read together: numbers and rows by index."""
    numbers: dict[int, str] = {}
    rows: dict[int, RecipientRecord] = {}
    for item in items:
        sort_key = item["SK"]["S"]
        if keys.is_recipient_sk(sort_key):
            row = recipient_from_item(item)
            rows[row.index] = row
        else:
            base = keys.chunk_of_sk(sort_key) * RECIPIENTS_PER_CHUNK
            for offset, number in enumerate(chunk_numbers(item)):
                numbers[base + offset] = number
    return numbers, rows


def claimed_row(
    key: RecipientKey, carrier: str, now: datetime, listing: NumberListing, segments: int | None = None
) -> dict[str, Any]:
    """A recipient row as dispatch creates it: claimed, ``processing``, filed under its number;
    with a personal text, the parts of its own text (what its part receipts are counted to)."""
    parts = {"segments": segments} if segments is not None else {}
    return {
        **parts,
        **number_attributes(key.org_id, listing.number, key.message_id, listing.message_created_at),
        "PK": keys.message_pk(key.org_id, key.message_id),
        "SK": keys.recipient_sk(key.index),
        "status": SmsStatus.PROCESSING.value,
        "tier": int(Tier.PROCESSING),
        "carrier": carrier,
        "attempts": 1,
        "claimed_at": timestamp(now),
        "updated_at": timestamp(now),
    }


class Recipients(RecipientMoves, FallbackLegs):
    """Every write is conditional, guarded by the row's tier: a late or duplicate report cannot
    undo progress."""

    def __init__(self, table: Table) -> None:
        self.table = table

    # --- reads --------------------------------------------------------------------------------

    def get(self, key: RecipientKey) -> RecipientRecord | None:
        item = self.table.get(keys.message_pk(key.org_id, key.message_id), keys.recipient_sk(key.index))
        return recipient_from_item(item) if item else None

    def read_chunk(self, message: MessageRecord, chunk: int) -> ChunkWork:
        """What dispatch needs for one chunk of ``message``: its numbers and any rows already
        claimed, in one Query (rows sort under their chunk)."""
        pk = keys.message_pk(message.org_id, message.message_id)
        items = list(self.table.query_between(pk, keys.chunk_sk(chunk), keys.chunk_rows_high(chunk)))
        numbers, rows = numbers_and_rows(items)
        first = chunk * RECIPIENTS_PER_CHUNK
        variables = next((chunk_variables(item) for item in items if not keys.is_recipient_sk(item["SK"]["S"])), None)
        return ChunkWork(
            message=message,
            numbers=[numbers[index] for index in sorted(numbers)],
            first_index=first,
            rows=rows,
            variables=variables,
        )

    def numbers_of(self, recipients: Iterable[RecipientKey]) -> dict[RecipientKey, str]:
        """The numbers of the recipients named, from their chunk items: one BatchGetItem per
        100 chunks (a chunk holds 100 numbers)."""
        wanted = list(recipients)
        chunks = {(keys.message_pk(key.org_id, key.message_id), keys.chunk_sk(key.chunk)) for key in wanted}
        numbers: dict[tuple[str, int], str] = {}
        for item in self.table.batch_get(chunks, attributes=("numbers",)):
            base = keys.chunk_of_sk(item["SK"]["S"]) * RECIPIENTS_PER_CHUNK
            for offset, number in enumerate(chunk_numbers(item)):
                numbers[(item["PK"]["S"], base + offset)] = number
        found: dict[RecipientKey, str] = {}
        for key in wanted:
            where = (keys.message_pk(key.org_id, key.message_id), key.index)
            if where in numbers:
                found[key] = numbers[where]
        return found

    def handoffs_of(self, recipients: Iterable[RecipientKey]) -> dict[RecipientKey, tuple[str, datetime]]:
        """The carrier that took each recipient named, and when: only rows handed off (one
        BatchGetItem per 100)."""
        wanted = {
            (keys.message_pk(key.org_id, key.message_id), keys.recipient_sk(key.index)): key for key in recipients
        }
        found: dict[RecipientKey, tuple[str, datetime]] = {}
        for item in self.table.batch_get(wanted, attributes=("carrier", "handed_off_at")):
            carrier, handed_off_at = wire_string(item, "carrier"), _wire_timestamp(item, "handed_off_at")
            if carrier is not None and handed_off_at is not None:
                found[wanted[(item["PK"]["S"], item["SK"]["S"])]] = (carrier, handed_off_at)
        return found

    def read_all(self, org_id: str, message_id: str) -> tuple[list[str], dict[int, RecipientRecord]]:
        """Every number and every claimed row of a message (the deadline needs them all)."""
        items = self.table.query_between(keys.message_pk(org_id, message_id), keys.CHUNKS_LOW, keys.CHUNKS_HIGH)
        numbers, rows = numbers_and_rows(items)
        return [numbers[index] for index in sorted(numbers)], rows

    # --- dispatch -----------------------------------------------------------------------------

    def claim(
        self,
        key: RecipientKey,
        carrier: str,
        now: datetime,
        stale_after: timedelta,
        listing: NumberListing,
        *,
        segments: int | None = None,
    ) -> bool:
        """Create the recipient row in ``processing``: creation and claim in one write. A
        redelivered job can only take over a claim that was never recorded as submitted and
        is older than ``stale_after`` (longer than a dispatch run), so no two runs submit it."""
        try:
            self.table.put(
                claimed_row(key, carrier, now, listing, segments),
                "attribute_not_exists(PK) OR (#status = :processing AND attribute_not_exists(carrier_ref)"
                " AND attribute_not_exists(due_at) AND claimed_at < :stale)",
                names={"#status": "status"},
                values={":processing": SmsStatus.PROCESSING.value, ":stale": timestamp(now - stale_after)},
            )
        except ConditionFailed:
            return False
        return True

    def record_handoff(
        self,
        key: RecipientKey,
        carrier_ref: str,
        now: datetime,
        carrier: str | None = None,
        *,
        deliver_by_at: datetime | None = None,
    ) -> bool:
        """The carrier accepted the recipient: ``processing → sent`` with its reference, and
        the carrier that took it (in the same write: routing costs no write of its own). A
        receipt may have outrun this write (SMPP race), so it only applies below tier 3.
        ``deliver_by_at``: deliver-by is armed, its due item written in this same write (the
        retry's due attributes it replaces are the ones this write otherwise removes)."""
        took = ", carrier = :carrier" if carrier is not None else ""
        values: dict[str, Any] = {
            ":sent": SmsStatus.SENT.value,
            ":tier": int(Tier.HANDED_OFF),
            ":ref": carrier_ref,
            ":now": timestamp(now),
            **({":carrier": carrier} if carrier is not None else {}),
        }
        if deliver_by_at is None:
            due = f" REMOVE {DUE_ATTRIBUTES}, retry_carrier"
        else:
            armed, armed_values = due_assignment(
                keys.message_pk(key.org_id, key.message_id), deliver_by_at, DueKind.DELIVER_BY
            )
            due = f", {armed} REMOVE retry_carrier"
            values.update(armed_values)
        try:
            self.table.update(
                keys.message_pk(key.org_id, key.message_id),
                keys.recipient_sk(key.index),
                f"SET #status = :sent, #tier = :tier, carrier_ref = :ref, updated_at = :now, handed_off_at = :now{took}"
                + due,
                "attribute_exists(PK) AND #tier < :tier",
                names={"#status": "status", "#tier": "tier"},
                values=values,
            )
        except ConditionFailed:
            return False
        return True

    def schedule_retry(
        self, key: RecipientKey, attempts: int, retry_at: datetime, *, only_carrier: str | None = None
    ) -> None:
        """A transient carrier failure: the recipient stays ``processing`` (no event fires) and
        waits in the due index for its next attempt; ``only_carrier`` pins that attempt to the
        carrier whose answer was uncertain (it may hold the message already)."""
        pk = keys.message_pk(key.org_id, key.message_id)
        due, retry_values = due_assignment(pk, retry_at, DueKind.RETRY)
        pin = "SET retry_carrier = :pin, carrier = :pin," if only_carrier else "REMOVE retry_carrier SET"
        with suppress(ConditionFailed):
            self.table.update(
                pk,
                keys.recipient_sk(key.index),
                f"{pin} attempts = :attempts, {due}",
                # Only a recipient still ours: a receipt or the deadline may have finished it.
                "#status = :processing AND attribute_not_exists(carrier_ref)",
                names={"#status": "status"},
                values={
                    ":attempts": attempts,
                    **retry_values,
                    ":processing": SmsStatus.PROCESSING.value,
                    **({":pin": only_carrier} if only_carrier else {}),
                },
            )

    def reassign(self, key: RecipientKey, carrier: str, now: datetime) -> bool:
        """Fail-over: the recipient is about to go to ``carrier`` after its previous carrier
        provably did not take it. Written before the submit, so a receipt from the new carrier
        that outruns the submit reply (SMPP race) finds its carrier on the row."""
        try:
            self.table.update(
                keys.message_pk(key.org_id, key.message_id),
                keys.recipient_sk(key.index),
                "SET carrier = :carrier, updated_at = :now",
                # Only while still ours to submit: not handed off, not finished.
                "#status = :processing AND attribute_not_exists(carrier_ref)",
                names={"#status": "status"},
                values={":carrier": carrier, ":now": timestamp(now), ":processing": SmsStatus.PROCESSING.value},
            )
        except ConditionFailed:
            return False
        return True
