"""Schedules (DESIGN §2): the schedule item, its numbers (stored once, in its own partition,
until an occurrence is released), and the occurrences it creates and releases.

Every occurrence is its own message item (``messages.message_item``). Explicit dates are
all created up front; a recurrence keeps one future occurrence, the next one created by the
release of the current one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from lisoloo.entities import Audience, MessageContent, MessageRecord, NewMessage, NewSchedule, ScheduleRecord
from lisoloo.errors import InsufficientBalanceError, ScheduleNotFoundError
from lisoloo.storage import keys
from lisoloo.storage.chunks import chunk_audience, chunk_items, chunk_numbers
from lisoloo.storage.messages import content_fields, message_item
from lisoloo.storage.recipient_moves import FAILED_PREFIX
from lisoloo.storage.table import (
    ConditionFailed,
    Table,
    TransactionCancelled,
    epoch_seconds,
    from_item,
    parse_timestamp,
    timestamp,
)


def schedule_item(schedule: NewSchedule, occurrences: Sequence[NewMessage], expires_at: datetime) -> dict[str, Any]:
    return {
        "PK": keys.schedule_pk(schedule.org_id, schedule.schedule_id),
        "SK": keys.META,
        "kind": "schedule",
        **MessageContent.of(schedule).fields(),
        "schedule_id": schedule.schedule_id,
        "recurring": schedule.recurring,
        "occurrences_created": sum(1 for message in occurrences if message.occurrence_number),
        "occurrence_ids": [message.message_id for message in occurrences],
        "created_at": timestamp(schedule.created_at),
        # A recurrence with no end keeps its numbers until it is cancelled.
        "expires_at": None if schedule.recurring else epoch_seconds(expires_at),
    }


def schedule_from_values(values: dict[str, Any]) -> ScheduleRecord:
    return ScheduleRecord(
        **content_fields(values),
        schedule_id=values["schedule_id"],
        recurring=values.get("recurring"),
        created_at=parse_timestamp(values["created_at"]),
        occurrences_created=values.get("occurrences_created", 0),
        occurrence_ids=tuple(values.get("occurrence_ids", ())),
        cancelled="cancelled_at" in values,
    )


class Schedules:
    def __init__(self, table: Table) -> None:
        self.table = table

    def create(
        self,
        schedule: NewSchedule,
        numbers: Sequence[str] | Audience,
        occurrences: Sequence[NewMessage],
        expires_at: datetime,
    ) -> None:
        """The numbers once, in the schedule's partition; then the occurrences; the schedule
        item last, listing them, so cancelling can always find every occurrence it may remove."""
        pk = keys.schedule_pk(schedule.org_id, schedule.schedule_id)
        self.table.batch_put(chunk_items(pk, numbers, expires_at))
        # Ids are random; these conditions only guard against ever replacing a live item.
        for message in occurrences:
            self.table.put(message_item(message, numbers_in_schedule=True), "attribute_not_exists(PK)")
        self.table.put(schedule_item(schedule, occurrences, expires_at), "attribute_not_exists(PK)")

    def get(self, org_id: str, schedule_id: str) -> ScheduleRecord | None:
        item = self.table.get(keys.schedule_pk(org_id, schedule_id), keys.META)
        return schedule_from_values(from_item(item)) if item else None

    def release(
        self,
        message: MessageRecord,
        following: NewMessage | None,
        now: datetime,
        numbers_expire_at: datetime,
        with_items: Sequence[dict[str, Any]] = (),
        refused_code: int | None = None,
    ) -> None:
        """Turn a due occurrence into a live message: give it its own copy of the numbers,
        create the recurrence's ``following`` occurrence, mark it released.

        Every step is safe to repeat, because a sweep that dies here gets the same item again,
        and only an occurrence not yet marked released is released again: so the following
        occurrence is created before the mark. ``with_items`` (its reservation) go in one
        transaction with the mark: InsufficientBalanceError when the account's condition fails.
        ``refused_code``: released as failed under that code instead."""
        if message.numbers_in_schedule and message.schedule_id:
            schedule_pk = keys.schedule_pk(message.org_id, message.schedule_id)
            items = self.table.query_between(schedule_pk, keys.CHUNKS_LOW, keys.CHUNKS_HIGH)
            # Its own chunks (with any personal values), so it no longer depends on its schedule.
            pk = keys.message_pk(message.org_id, message.message_id)
            self.table.batch_put(chunk_items(pk, chunk_audience(items), numbers_expire_at))
        if following is not None:
            self._create_following(following)
        pk = keys.message_pk(message.org_id, message.message_id)
        refused: dict[str, Any] = {}
        if refused_code is not None:
            # It cannot go (the balance cannot cover it): released as failed, every recipient
            # counted under the code, so it ends ``failed`` with its event, never submitted.
            refused = {
                "update": ", failed = :total, #code = :total",
                "names": {"#code": f"{FAILED_PREFIX}{refused_code}"},
            }
        mark = self.table.update_item(
            pk,
            keys.META,
            f"SET released_at = :now, updated_at = :now{refused.get('update', '')} REMOVE numbers_in_schedule",
            # Released once; and never resurrects an occurrence a cancellation removed.
            "attribute_exists(PK) AND attribute_not_exists(released_at)",
            names=refused.get("names"),
            values={":now": timestamp(now), **({":total": message.total} if refused else {})},
        )
        try:
            # With its reservation, when it costs something: both or neither.
            self.table.transact([mark, *with_items])
        except TransactionCancelled as error:
            if error.failed_condition(0):
                return  # released before (a sweep that died after the mark), or cancelled
            if with_items and error.failed_condition(len(with_items)):
                raise InsufficientBalanceError() from None
            raise

    def numbers(self, message: MessageRecord) -> list[str]:
        """An occurrence's numbers, from wherever they are (the schedule's chunks before release)."""
        if message.numbers_in_schedule and message.schedule_id:
            pk = keys.schedule_pk(message.org_id, message.schedule_id)
        else:
            pk = keys.message_pk(message.org_id, message.message_id)
        return [
            number
            for item in self.table.query_between(pk, keys.CHUNKS_LOW, keys.CHUNKS_HIGH)
            for number in chunk_numbers(item)
        ]

    def _create_following(self, message: NewMessage) -> bool:
        """The next occurrence of a recurrence and the schedule's count, in one transaction:
        only the first release of the current occurrence creates it. False when it exists
        already, or the schedule was cancelled meanwhile."""
        created = message.occurrence_number or 0
        try:
            self.table.transact(
                [
                    self.table.put_item(message_item(message, numbers_in_schedule=True), "attribute_not_exists(PK)"),
                    self.table.update_item(
                        keys.schedule_pk(message.org_id, message.schedule_id or ""),
                        keys.META,
                        "SET occurrences_created = :created, occurrence_ids = list_append(occurrence_ids, :id)",
                        # Still at the previous count, and not cancelled meanwhile.
                        "occurrences_created = :previous AND attribute_not_exists(cancelled_at)",
                        values={":created": created, ":previous": created - 1, ":id": [message.message_id]},
                    ),
                ]
            )
        except TransactionCancelled:
            return False
        return True

    def mark_cancelled(self, org_id: str, schedule_id: str, now: datetime) -> None:
        try:
            self.table.update(
                keys.schedule_pk(org_id, schedule_id),
                keys.META,
                "SET cancelled_at = if_not_exists(cancelled_at, :now)",
                "attribute_exists(PK)",
                values={":now": timestamp(now)},
            )
        except ConditionFailed:
            raise ScheduleNotFoundError() from None

    def delete_unreleased_occurrence(self, org_id: str, message_id: str) -> bool:
        try:
            self.table.delete(
                keys.message_pk(org_id, message_id),
                keys.META,
                # Released occurrences carry on untouched.
                "attribute_exists(PK) AND attribute_not_exists(released_at)",
            )
        except ConditionFailed:
            return False
        return True
