"""The items each storage module writes, and how it reads them back: pure builders, no AWS."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

import pytest
from botocore.exceptions import ClientError

from lisoloo.entities import (
    DueKind,
    MessageRecord,
    NewMessage,
    NewSchedule,
    NumberListing,
    RecipientKey,
    Transition,
    TransitionOutcome,
)
from lisoloo.errors import ErrorCode, StorageBusyError, StorageError
from lisoloo.organization_entities import NewAppKey, OrganizationRecord
from lisoloo.receipt_entities import ParkedReceipt
from lisoloo.status import SmsStatus
from lisoloo.storage import (
    carrier_refs,
    chunks,
    due,
    keys,
    messages,
    organizations,
    recipient_moves,
    recipients,
    schedules,
    stream,
    table,
)
from lisoloo.storage.table import Table, from_item, to_item

NOW = datetime(2026, 5, 27, 10, 15, tzinfo=UTC)
ORG = "org_0123456789abcdef"
MESSAGE = "6a1c0e5f0123456789abcdef"
KEY = RecipientKey(ORG, MESSAGE, 142)
TABLE = Table("sms", client=object())


def new_message(**changes: Any) -> NewMessage:
    values: dict[str, Any] = {
        "org_id": ORG,
        "message_id": MESSAGE,
        "text": "Your code is 4821",
        "sender_id": "LISOLOO",
        "reference": "order-1",
        "encoding": "GSM-7",
        "segments": 1,
        "total": 250,
        "created_at": NOW,
        "expires_at": NOW + timedelta(days=91),
        "due_at": NOW + timedelta(minutes=5),
    }
    return NewMessage(**{**values, **changes})


# --- messages ---------------------------------------------------------------------------------


def test_a_new_message_item_is_due_for_its_release_guard_and_reads_back() -> None:
    item = messages.message_item(new_message(), numbers_in_schedule=False)
    assert (item["PK"], item["SK"], item["kind"]) == (keys.message_pk(ORG, MESSAGE), keys.META, "message")
    assert (item["delivered"], item["failed"], item["released_at"]) == (0, 0, "2026-05-27T10:15:00.000Z")
    assert item["due_kind"] == DueKind.RELEASE and item["due_at"] == "2026-05-27T10:20:00.000Z"
    assert item["due_shard"] == keys.due_shard(item["PK"])
    record = messages.message_from_item(to_item(item))
    assert (record.total, record.released, record.started, record.handed_off_chunks) == (250, True, False, 0)
    assert (record.sender_id, record.reference, record.numbers_in_schedule) == ("LISOLOO", "order-1", False)


def test_a_scheduled_occurrence_is_not_released_and_its_numbers_are_in_its_schedule() -> None:
    at = NOW + timedelta(days=1)
    item = messages.message_item(
        new_message(scheduled_for=at, due_at=at, schedule_id="sch_0123456789abcdef", occurrence_number=1),
        numbers_in_schedule=True,
    )
    record = messages.message_from_item(to_item(item))
    assert "released_at" not in to_item(item)
    assert (record.released, record.numbers_in_schedule, record.scheduled_for) == (False, True, at)
    assert (record.schedule_id, record.occurrence_number) == ("sch_0123456789abcdef", 1)


def test_a_stream_change_of_a_message_reads_both_images_and_ignores_other_items() -> None:
    image = to_item(messages.message_item(new_message(), numbers_in_schedule=False))
    later = {**image, "delivered": {"N": "3"}, "started_at": {"S": "2026-05-27T10:15:01.000Z"}}
    change = messages.message_change({"OldImage": image, "NewImage": later})
    assert change is not None and change.old is not None and change.new is not None
    assert (change.old.delivered, change.new.delivered, change.new.started) == (0, 3, True)
    created = messages.message_change({"NewImage": image})
    assert created is not None and created.old is None
    schedule = to_item({"PK": "ORG#x#SCHED#y", "SK": "META", "kind": "schedule"})
    assert messages.message_change({"NewImage": schedule}) is None
    assert messages.message_change({"OldImage": image}) is None  # removed: nothing to tell


@pytest.mark.parametrize(
    ("new_image", "kind"),
    [
        ({"PK": "ORG#o#MSG#m", "SK": "META", "kind": "message"}, "message"),
        ({"PK": "ORG#o#INBOUND", "SK": "in_1", "kind": "inbound"}, "inbound"),
        ({"PK": "OPTOUT#t", "SK": "META", "kind": "optout"}, "optout"),
        ({"PK": "ORG#o#ACCOUNT", "SK": "META", "balance": 5}, "account"),  # no kind: told by its key
        ({"PK": "ORG#o#ACCOUNT", "SK": "LEDGER#top_up#INV-1"}, None),  # a ledger entry is not the account
        ({"PK": "ORG#o#SCHED#s", "SK": "META", "kind": "schedule"}, "schedule"),  # no handler takes it
        (None, None),  # removed: nothing left to tell
    ],
)
def test_a_stream_record_is_told_by_the_kind_of_item_it_left(
    new_image: dict[str, Any] | None, kind: str | None
) -> None:
    images = {"NewImage": to_item(new_image)} if new_image is not None else {}
    assert stream.changed_kind({"eventName": "MODIFY", "dynamodb": images}) == kind


# --- recipients --------------------------------------------------------------------------------


def test_numbers_go_a_hundred_to_a_chunk_and_read_back_in_order() -> None:
    numbers = [f"+2547{index:08d}" for index in range(250)]
    items = list(chunks.chunk_items("PK", numbers, NOW))
    assert [item["SK"] for item in items] == ["P#00000", "P#00001", "P#00002"]
    assert items[0]["expires_at"] == int(NOW.timestamp())
    read, rows = recipients.numbers_and_rows([to_item(item) for item in items])
    assert [read[index] for index in range(250)] == numbers and rows == {}
    # Chunks written as lists, before the one-string form, still read
    legacy = {"PK": {"S": "PK"}, "SK": {"S": "P#00000"}, "numbers": {"L": [{"S": "+254700000001"}]}}
    assert chunks.chunk_numbers(legacy) == ["+254700000001"]


def test_a_claimed_row_is_processing_for_its_carrier_and_reads_back() -> None:
    row = recipients.claimed_row(KEY, "sandbox", NOW, NumberListing("+254712345678", NOW))
    assert (row["PK"], row["SK"]) == (keys.message_pk(ORG, MESSAGE), keys.recipient_sk(142))
    # Filed under its number once, at creation: the per-number index entry never changes after
    assert (row["find_pk"], row["find_sk"]) == (
        f"NUM#{ORG}#+254712345678",
        f"2026-05-27T10:15:00.000Z#{MESSAGE}",
    )
    assert (row["status"], row["tier"], row["carrier"], row["attempts"]) == ("processing", 2, "sandbox", 1)
    record = recipients.recipient_from_item(to_item(row))
    assert (record.index, record.status, record.carrier, record.attempts, record.carrier_ref) == (
        142,
        SmsStatus.PROCESSING,
        "sandbox",
        1,
        None,
    )


def test_a_terminal_move_is_guarded_by_tier_and_carrier_and_leaves_the_due_index() -> None:
    move = Transition(KEY, SmsStatus.UNDELIVERED, NOW, error_code=ErrorCode.UNDELIVERED, carrier="kannel")
    update = recipient_moves.transition_item(TABLE, move)["Update"]
    # The carrier that took it, or its deliver-by fallback carrier (DESIGN §8), and no other
    assert update["ConditionExpression"] == (
        "attribute_exists(PK) AND #tier < :tier AND (#carrier = :carrier OR fallback_carrier = :carrier)"
    )
    assert update["UpdateExpression"].endswith("REMOVE due_shard, due_at, due_kind")
    assert update["ExpressionAttributeValues"][":error_code"] == {"N": "1402"}
    assert update["ExpressionAttributeValues"][":carrier"] == {"S": "kannel"}
    assert update["ReturnValuesOnConditionCheckFailure"] == "ALL_OLD"


def test_a_move_inside_handed_off_is_sideways_and_a_created_row_is_put_once() -> None:
    sideways = recipient_moves.transition_item(TABLE, Transition(KEY, SmsStatus.ENROUTE, NOW))["Update"]
    assert sideways["ConditionExpression"] == "attribute_exists(PK) AND #tier <= :tier AND #status <> :status"
    assert "REMOVE" not in sideways["UpdateExpression"]
    created = recipient_moves.transition_item(
        TABLE, Transition(KEY, SmsStatus.FAILED, NOW, error_code=ErrorCode.INVALID_NUMBER, create=True)
    )["Put"]
    assert created["ConditionExpression"] == "attribute_not_exists(PK)"
    assert from_item(created["Item"])["error_message"] == "INVALID_NUMBER"
    with pytest.raises(ValueError, match="not a state"):
        recipient_moves.transition_item(TABLE, Transition(KEY, SmsStatus.UNKNOWN, NOW))


def test_the_counter_update_counts_terminal_moves_only() -> None:
    moves = [
        Transition(RecipientKey(ORG, MESSAGE, 1), SmsStatus.DELIVERED, NOW),
        Transition(RecipientKey(ORG, MESSAGE, 2), SmsStatus.EXPIRED, NOW + timedelta(seconds=2)),
        Transition(RecipientKey(ORG, MESSAGE, 3), SmsStatus.SENT, NOW),
    ]
    update = recipient_moves.counter_item(TABLE, moves)
    assert update is not None
    values = update["Update"]["ExpressionAttributeValues"]
    assert (values[":delivered"], values[":failed"]) == ({"N": "1"}, {"N": "1"})
    assert values[":now"] == {"S": "2026-05-27T10:15:02.000Z"}
    assert update["Update"]["ConditionExpression"] == "attribute_exists(PK)"
    assert recipient_moves.counter_item(TABLE, moves[2:]) is None


def test_one_move_per_recipient_the_furthest() -> None:
    outcome = TransitionOutcome()
    sent = Transition(KEY, SmsStatus.SENT, NOW)
    delivered = Transition(KEY, SmsStatus.DELIVERED, NOW)
    late = Transition(KEY, SmsStatus.UNDELIVERED, NOW)
    other = Transition(RecipientKey(ORG, MESSAGE, 1), SmsStatus.ENROUTE, NOW)
    kept = recipient_moves.one_move_each([sent, delivered, late, other], outcome)
    assert kept == [delivered, other]
    assert outcome.superseded == [sent, late]


def test_part_progress_reads_the_row() -> None:
    progress = recipient_moves.part_progress(
        {"parts_delivered": 2, "parts_failed": 1, "part_failure": "expired"}, recorded=True
    )
    assert (progress.reported, progress.failure, progress.recorded) == (3, SmsStatus.EXPIRED, True)


# --- organizations -----------------------------------------------------------------------------


def test_an_organization_reads_back_with_its_settings() -> None:
    item = organizations.organization_item(OrganizationRecord(org_id=ORG, name="Shop", default_country="KE"), NOW)
    assert (item["PK"], item["SK"]) == (keys.org_pk(ORG), keys.META)
    values = {
        **item,
        "sender_ids": ["LISOLOO", "SHOP"],
        "previous_webhook_secret": "whsec_old",
        "previous_secret_valid_until": "2026-05-28T10:15:00.000Z",
    }
    record = organizations.organization_from_values(values)
    assert (record.name, record.sender_ids, record.previous_secret_valid_until) == (
        "Shop",
        ("LISOLOO", "SHOP"),
        NOW + timedelta(days=1),
    )


def test_an_app_key_is_a_lookup_by_hash_and_a_listing_without_the_key() -> None:
    key = NewAppKey(key_id="key_0123456789ab", key_hash="ab" * 32, org_id=ORG, hint="lsk_…Xy3Q", label="prod")
    lookup = organizations.app_key_lookup_item(key, NOW)
    listing = organizations.app_key_listing_item(key, NOW)
    assert (lookup["PK"], lookup["org_id"]) == (keys.app_key_pk("ab" * 32), ORG)
    assert (listing["PK"], listing["SK"]) == (keys.org_pk(ORG), keys.app_key_listing_sk("key_0123456789ab"))
    info = organizations.app_key_info(ORG, {**listing, "revoked_at": "2026-05-27T11:15:00.000Z"})
    assert (info.hint, info.active(NOW), info.active(NOW + timedelta(hours=2))) == ("lsk_…Xy3Q", True, False)


# --- schedules, carrier references, the due index -----------------------------------------------


def test_a_schedule_lists_its_occurrences_and_keeps_its_numbers_while_it_recurs() -> None:
    schedule = NewSchedule(
        org_id=ORG,
        schedule_id="sch_0123456789abcdef",
        text="hi",
        sender_id=None,
        reference=None,
        encoding="GSM-7",
        segments=1,
        total=2,
        recurring=None,
        created_at=NOW,
    )
    occurrences = [new_message(occurrence_number=0), new_message(message_id="6a1c0e5f0123456789abcd00")]
    item = schedules.schedule_item(schedule, occurrences, NOW + timedelta(days=90))
    assert (item["PK"], item["occurrence_ids"], item["occurrences_created"]) == (
        keys.schedule_pk(ORG, "sch_0123456789abcdef"),
        [MESSAGE, "6a1c0e5f0123456789abcd00"],
        0,
    )
    assert item["expires_at"] == int((NOW + timedelta(days=90)).timestamp())
    # A recurrence with no end keeps its numbers until it is cancelled.
    recurring = schedules.schedule_item(replace(schedule, recurring='{"cron": "0 9 * * *"}'), occurrences, NOW)
    assert recurring["expires_at"] is None
    record = schedules.schedule_from_values({**item, "cancelled_at": "2026-05-27T10:16:00.000Z"})
    assert (record.cancelled, record.occurrence_ids) == (True, (MESSAGE, "6a1c0e5f0123456789abcd00"))


def test_a_carrier_reference_points_at_one_recipient_until_its_ttl() -> None:
    item = carrier_refs.carrier_ref_item("kannel", "abc-1", KEY, NOW)
    assert (item["PK"], item["SK"], item["index"]) == ("CARRIER#kannel#abc-1", "REF", 142)


def test_a_parked_receipt_is_due_and_reads_back() -> None:
    parked = ParkedReceipt(
        carrier="kannel",
        carrier_ref="abc-1",
        status=SmsStatus.DELIVERED,
        parked_at=NOW,
        give_up_at=NOW + timedelta(minutes=10),
        done_at=NOW,
    )
    item = carrier_refs.parked_item(parked, NOW + timedelta(seconds=30), NOW + timedelta(days=7))
    assert item["SK"] == keys.parked_sk(parked.fingerprint)
    assert (item["due_kind"], item["due_at"]) == ("parked", "2026-05-27T10:15:30.000Z")
    assert carrier_refs.parked_from_values(from_item(to_item(item))) == parked


def test_a_due_index_entry_names_what_is_due() -> None:
    retry = due.due_item(
        to_item({"PK": keys.message_pk(ORG, MESSAGE), "SK": keys.recipient_sk(142), "due_kind": "retry", "due_at": "x"})
    )
    assert (retry.kind, retry.recipient) == (DueKind.RETRY, KEY)
    release = due.due_item(
        to_item({"PK": keys.message_pk(ORG, MESSAGE), "SK": keys.META, "due_kind": "release", "due_at": "x"})
    )
    assert (release.org_id, release.message_id, release.index) == (ORG, MESSAGE, None)
    parked = due.due_item(
        to_item({"PK": "CARRIER#kannel#abc-1", "SK": "PARKED#f", "due_kind": "parked", "due_at": "x"})
    )
    assert (parked.org_id, parked.index) == ("", None)
    with pytest.raises(ValueError, match="names no recipient"):
        _ = parked.recipient


# --- the table: what an AWS error means -----------------------------------------------------------


def client_error(code: str, **response: Any) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}, **response}, "Call")


def test_a_failed_condition_is_an_answer_carrying_the_old_item() -> None:
    answer = table.translated(client_error("ConditionalCheckFailedException", Item={"x": {"S": "1"}}), "Call")
    assert isinstance(answer, table.ConditionFailed) and answer.item == {"x": {"S": "1"}}


def test_a_cancelled_transaction_names_its_failed_conditions() -> None:
    reasons = [{"Code": "None"}, {"Code": "ConditionalCheckFailed", "Item": {}}]
    answer = table.translated(client_error("TransactionCanceledException", CancellationReasons=reasons), "Call")
    assert isinstance(answer, table.TransactionCancelled)
    assert (answer.failed_condition(0), answer.failed_condition(1), answer.failed_condition(2)) == (False, True, False)


@pytest.mark.parametrize("code", ["ValidationException", "ResourceNotFoundException", "ThrottlingException"])
def test_anything_else_is_a_storage_error_naming_the_code(code: str) -> None:
    error = table.translated(client_error(code), "PutItem")
    assert type(error) is StorageError and code in str(error)


def test_a_transaction_conflict_is_tried_again_then_given_up_as_busy() -> None:
    class Conflicting:
        calls = 0

        def transact_write_items(self, **_: Any) -> None:
            Conflicting.calls += 1
            raise client_error("TransactionCanceledException", CancellationReasons=[{"Code": "TransactionConflict"}])

    with mock.patch.object(table.time, "sleep") as slept, pytest.raises(StorageBusyError):
        Table("sms", client=Conflicting()).transact([{}])
    assert Conflicting.calls == table.MAX_ATTEMPTS
    assert slept.call_count == table.MAX_ATTEMPTS - 1


def test_unprocessed_batch_items_are_written_again() -> None:
    class Partial:
        def __init__(self) -> None:
            self.sizes: list[int] = []

        def batch_write_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
            requests = RequestItems["sms"]
            self.sizes.append(len(requests))
            return {"UnprocessedItems": {"sms": requests[1:]}} if len(self.sizes) == 1 else {}

    client = Partial()
    with mock.patch.object(table.time, "sleep"):
        Table("sms", client=client).batch_put({"PK": f"p{index}", "SK": "s"} for index in range(30))
    assert client.sizes == [25, 24, 5]


def test_a_message_record_is_plain_data() -> None:
    # What use cases get: no wire form left in it.
    record = messages.message_from_item(to_item(messages.message_item(new_message(), numbers_in_schedule=False)))
    assert isinstance(record, MessageRecord) and record.created_at == NOW
