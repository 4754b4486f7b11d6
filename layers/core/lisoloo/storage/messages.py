"""Messages: the message item (totals, counters, progress flags) and its chunks of numbers.

The message item carries what the aggregate status is derived from (``status.aggregate_status``):
``delivered``/``failed`` move only with recipient rows, in one transaction (``recipients``);
``started_at`` and ``handed_off_chunks`` are written by dispatch; ``released_at`` is set at
creation for an immediate send and at release for a scheduled occurrence.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from contextlib import suppress
from datetime import datetime
from decimal import Decimal
from typing import Any

from lisoloo.entities import (
    CONTENT_FIELDS,
    RECIPIENTS_PER_CHUNK,
    Audience,
    DueKind,
    MessageChange,
    MessageContent,
    MessageRecord,
    MessageSize,
    NewMessage,
    StatusPage,
)
from lisoloo.errors import InsufficientBalanceError, MessageNotFoundError
from lisoloo.storage import keys
from lisoloo.storage.chunks import chunk_items
from lisoloo.storage.due import due_assignment, due_values
from lisoloo.storage.message_index import listing_attributes
from lisoloo.storage.recipient_moves import FAILED_PREFIX
from lisoloo.storage.recipients import numbers_and_rows
from lisoloo.storage.table import (
    ConditionFailed,
    Item,
    Table,
    TransactionCancelled,
    epoch_seconds,
    from_item,
    parse_timestamp,
    timestamp,
    wire_integer,
)

MESSAGE_KIND = "message"


def message_item(message: NewMessage, *, numbers_in_schedule: bool) -> dict[str, Any]:
    pk = keys.message_pk(message.org_id, message.message_id)
    return {
        "PK": pk,
        "SK": keys.META,
        # What the stream's filter (template.yaml) and ``message_change`` tell message items by.
        "kind": MESSAGE_KIND,
        **MessageContent.of(message).fields(),
        "message_id": message.message_id,
        "delivered": 0,
        "failed": 0,
        "created_at": timestamp(message.created_at),
        "updated_at": timestamp(message.created_at),
        "released_at": None if message.scheduled_for else timestamp(message.created_at),
        "scheduled_for": timestamp(message.scheduled_for) if message.scheduled_for else None,
        "schedule_id": message.schedule_id,
        "occurrence_number": message.occurrence_number,
        "numbers_in_schedule": numbers_in_schedule or None,
        "expires_at": epoch_seconds(message.expires_at),
        **due_values(pk, message.due_at, DueKind.RELEASE),
        # Written once, here: the listing and reference index entries never change after.
        **listing_attributes(message.org_id, message.message_id, message.created_at, message.reference),
    }


def message_from_item(item: Item) -> MessageRecord:
    values = from_item(item)
    return MessageRecord(
        **content_fields(values),
        message_id=values["message_id"],
        delivered=values.get("delivered", 0),
        failed=values.get("failed", 0),
        started="started_at" in values,
        started_at=parse_timestamp(values["started_at"]) if "started_at" in values else None,
        handed_off_chunks=len(values.get("handed_off_chunks", ())),
        created_at=parse_timestamp(values["created_at"]),
        updated_at=parse_timestamp(values["updated_at"]),
        released="released_at" in values,
        scheduled_for=parse_timestamp(values["scheduled_for"]) if "scheduled_for" in values else None,
        schedule_id=values.get("schedule_id"),
        numbers_in_schedule=bool(values.get("numbers_in_schedule")),
        occurrence_number=values.get("occurrence_number"),
        error_code=values.get("error_code"),
        failures={
            int(name.removeprefix(FAILED_PREFIX)): count
            for name, count in values.items()
            if name.startswith(FAILED_PREFIX) and name.removeprefix(FAILED_PREFIX).isdigit()
        },
        # From the wire form: ``from_item`` makes numbers integers, and an amount is not one.
        cost_charged=Decimal(item["cost_charged"]["N"]) if "cost_charged" in item else None,
    )


def content_fields(values: dict[str, Any]) -> dict[str, Any]:
    """A message's or a schedule's content, read back (absent optional ones are None)."""
    return {name: values.get(name) for name in CONTENT_FIELDS}


def _is_message(image: Item | None) -> bool:
    return image is not None and image.get("kind", {}).get("S") == MESSAGE_KIND


def message_change(stream_images: Mapping[str, Any]) -> MessageChange | None:
    """A stream record's ``dynamodb`` part (``OldImage``/``NewImage`` in the wire form) as a
    change of a message; None for any other item (the template's filter passes only message
    items; this keeps it true anywhere)."""
    old_image, new_image = stream_images.get("OldImage"), stream_images.get("NewImage")
    if not _is_message(new_image) or (old_image is not None and not _is_message(old_image)):
        return None
    return MessageChange(
        old=message_from_item(old_image) if old_image else None,
        new=message_from_item(new_image) if new_image else None,
    )


class Messages:
    def __init__(self, table: Table) -> None:
        self.table = table

    def create(
        self,
        message: NewMessage,
        numbers: Sequence[str] | Audience,
        *,
        estimate: Decimal | None = None,
        with_items: Sequence[dict[str, Any]] = (),
    ) -> None:
        """Chunks first, the message last: until the message item exists nothing can see or
        dispatch the chunks, so a crash in between leaves only unreachable rows for TTL.
        ``with_items`` (a reservation: ledger entry, then account) go in one transaction with
        the message: both happen or neither; InsufficientBalanceError when the account's
        condition fails."""
        pk = keys.message_pk(message.org_id, message.message_id)
        self.table.batch_put(chunk_items(pk, numbers, message.expires_at))
        item = message_item(message, numbers_in_schedule=False)
        if estimate:
            item["cost_estimate"] = estimate
        # Ids are random; this only guards against ever replacing a live item.
        if not with_items:
            self.table.put(item, "attribute_not_exists(PK)")
            return
        try:
            self.table.transact([self.table.put_item(item, "attribute_not_exists(PK)"), *with_items])
        except TransactionCancelled as error:
            if error.failed_condition(len(with_items)):  # the account's: another send took the balance
                raise InsufficientBalanceError() from None
            raise

    def get(self, org_id: str, message_id: str) -> MessageRecord | None:
        item = self.table.get(keys.message_pk(org_id, message_id), keys.META)
        return message_from_item(item) if item else None

    def get_many(self, org_id: str, message_ids: Iterable[str]) -> dict[str, MessageRecord]:
        """Of the organization's messages named, those that exist: one BatchGetItem per 100."""
        wanted = ((keys.message_pk(org_id, message_id), keys.META) for message_id in message_ids)
        records = (message_from_item(item) for item in self.table.batch_get(wanted, attributes=None))
        return {record.message_id: record for record in records}

    def sizes(self, messages: Iterable[tuple[str, str]]) -> dict[tuple[str, str], MessageSize]:
        """Of the messages named (org_id, message_id), those that exist, with their sizes: one
        BatchGetItem per 100. Strongly consistent, so a message is never taken for gone."""
        found: dict[tuple[str, str], MessageSize] = {}
        wanted = ((keys.message_pk(org_id, message_id), keys.META) for org_id, message_id in messages)
        for item in self.table.batch_get(wanted, attributes=("total", "segments", "deliver_within"), consistent=True):
            found[keys.message_of_pk(item["PK"]["S"])] = MessageSize(
                total=int(item["total"]["N"]),
                segments=int(item["segments"]["N"]),
                deliver_within=wire_integer(item, "deliver_within"),
            )
        return found

    def read_status_page(self, org_id: str, message_id: str, start: int, limit: int) -> StatusPage | None:
        """The message and recipients ``start .. start+limit-1``. The first page is one Query
        (META sorts just before the first chunk); later pages a GetItem and a Query."""
        pk = keys.message_pk(org_id, message_id)
        first_chunk = start // RECIPIENTS_PER_CHUNK
        upper = keys.chunk_rows_high((start + limit - 1) // RECIPIENTS_PER_CHUNK)
        if start == 0:
            items = list(self.table.query_between(pk, keys.META, upper))
            if not items or items[0]["SK"]["S"] != keys.META:
                return None
            message = message_from_item(items[0])
            items = items[1:]
        else:
            found = self.get(org_id, message_id)
            if found is None:
                return None
            message = found
            items = list(self.table.query_between(pk, keys.chunk_sk(first_chunk), upper))
        if message.numbers_in_schedule and message.schedule_id:
            # Not released yet: its numbers are still only in the schedule's partition.
            schedule_pk = keys.schedule_pk(org_id, message.schedule_id)
            items += list(self.table.query_between(schedule_pk, keys.chunk_sk(first_chunk), upper))
        numbers, rows = numbers_and_rows(items)
        end = min(start + limit, message.total)
        return StatusPage(
            message=message,
            start=start,
            numbers=[numbers[index] for index in range(start, end)],
            rows=rows,
            next_index=end if end < message.total else None,
        )

    def mark_started(self, org_id: str, message_id: str, now: datetime, deadline: datetime) -> None:
        """The first claim turns the message ``processing`` and starts its receipt deadline;
        written once, so later chunks produce no stream record."""
        self._come_due(
            org_id,
            message_id,
            deadline,
            "attribute_exists(PK) AND attribute_not_exists(started_at)",
            also="started_at = :now, updated_at = :now",
            values={":now": timestamp(now)},
        )

    def await_settlement(self, org_id: str, message_id: str, at: datetime) -> None:
        """A final message holding a reservation comes due at ``at``, as a deadline: should its
        settlement not happen before (it takes the message out of the index), the sweep settles
        it then. No updated_at: nothing a merchant sees changes."""
        # Not settled yet (a redelivered record comes after it), and never a stub for a message
        # TTL removed.
        self._come_due(org_id, message_id, at, "attribute_exists(PK) AND attribute_not_exists(cost_charged)")

    def _come_due(
        self,
        org_id: str,
        message_id: str,
        at: datetime,
        condition: str,
        *,
        also: str = "",
        values: Mapping[str, Any] | None = None,
    ) -> None:
        """The message item in the due index at ``at`` as a deadline (the sweep then looks at
        it), with ``also`` set in the same write; nothing when ``condition`` fails."""
        pk = keys.message_pk(org_id, message_id)
        due, due_values = due_assignment(pk, at, DueKind.DEADLINE)
        sets = f"{also}, {due}" if also else due
        with suppress(ConditionFailed):
            self.table.update(pk, keys.META, f"SET {sets}", condition, values={**(values or {}), **due_values})

    def mark_chunk_handed_off(self, org_id: str, message_id: str, chunk: int, now: datetime) -> None:
        """Adding to a set is idempotent, so a redelivered job cannot count a chunk twice."""
        try:
            self.table.update(
                keys.message_pk(org_id, message_id),
                keys.META,
                "ADD handed_off_chunks :chunk SET updated_at = :now",
                # Never resurrects a message that is gone (cancelled, or expired).
                "attribute_exists(PK)",
                values={":chunk": {chunk}, ":now": timestamp(now)},
            )
        except ConditionFailed:
            raise MessageNotFoundError() from None
