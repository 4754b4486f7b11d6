"""Personal texts through the real handlers (DESIGN §12): per-recipient values stored with the
numbers, rendered at dispatch, kept through idempotency and schedules, and multi-part receipts
counted against each recipient's own text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from lisoloo.entities import NumberListing, RecipientKey
from lisoloo.models import MAX_VARS, MAX_VARS_JSON_BYTES
from lisoloo.status import SmsStatus
from lisoloo.storage import keys
from tests.integration.conftest import Harness, Merchant

PEOPLE = [
    {"to": "+254712345678", "vars": {"name": "Amina", "code": "4821"}},
    {"to": "+254733000001", "vars": {"name": "Baraka", "code": "1193"}},
    {"to": "+254722000020", "vars": {"name": "Zoë", "code": "7702", "unused": "x"}},
]
TEMPLATE = "Hi {{name}}, your code is {{ code }}"


def largest_vars(seed: int) -> dict[str, str]:
    """Ten values whose compact JSON is as close to the byte budget as two-byte characters get."""
    values = {f"v{i}": "é" * 10 for i in range(MAX_VARS)}
    size = len(_json(values).encode())
    pad = (MAX_VARS_JSON_BYTES - size) // 2 // MAX_VARS
    return {name: f"{seed:04d}" + "é" * (10 + pad - 2) for name in values}


def _json(values: dict[str, str]) -> str:
    from lisoloo.templating import vars_json

    return vars_json(values)


def chunk_item(harness: Harness, merchant: Merchant, message_id: str) -> dict[str, Any]:
    client = boto3.client("dynamodb")
    item: dict[str, Any] = client.get_item(
        TableName=harness.table_name,
        Key={"PK": {"S": keys.message_pk(merchant.org_id, message_id)}, "SK": {"S": keys.chunk_sk(0)}},
    )["Item"]
    return item


def item_size(item: dict[str, Any]) -> int:
    """DynamoDB's item size: attribute names plus values, strings and numbers in UTF-8 bytes."""
    return sum(len(name.encode()) + len(next(iter(value.values())).encode()) for name, value in item.items())


def test_three_recipients_get_three_texts(harness: Harness) -> None:
    # Given a template and three recipients with their own values, mixed with a plain number
    merchant = harness.new_merchant()
    code, body = harness.send(merchant, {"to": PEOPLE, "message": TEMPLATE})
    # Then the reply counts each recipient's text: Zoë's needs UCS-2
    assert code == 200, body
    data = body["data"]
    assert (data["total_recipients"], data["encoding"], data["segments"], data["segments_total"]) == (
        3,
        "UCS-2",
        1,
        3,
    )
    # When dispatch submits them
    assert harness.dispatch_queued() == {"batchItemFailures": []}
    # Then the carrier got each one's own text
    texts = {
        submission.to: submission.text
        for submission in harness.carrier.submissions
        if data["message_id"] in submission.reference
    }
    assert texts == {
        "+254712345678": "Hi Amina, your code is 4821",
        "+254733000001": "Hi Baraka, your code is 1193",
        "+254722000020": "Hi Zoë, your code is 7702",
    }
    # And only the values the text uses were stored
    assert '"unused"' not in chunk_item(harness, merchant, data["message_id"])["vars"]["S"]


def test_a_missing_value_is_422_naming_the_recipient(harness: Harness) -> None:
    merchant = harness.new_merchant()
    to = [PEOPLE[0], "+254733000001"]
    code, body = harness.send(merchant, {"to": to, "message": TEMPLATE})
    assert code == 422
    assert body["detail"] == [
        {"loc": ["body", "to", 1, "vars"], "msg": "no value for {{name}}, {{code}}", "type": "missing_var"}
    ]
    assert harness.queued_jobs() == []


def test_a_stray_brace_is_422_and_stores_nothing(harness: Harness) -> None:
    merchant = harness.new_merchant()
    code, body = harness.send(merchant, {"to": ["+254712345678"], "message": "Hi {{name}"})
    assert code == 422
    assert body["detail"][0]["loc"] == ["body", "message"]
    assert harness.queued_jobs() == []


def test_one_hundred_recipients_with_the_largest_values_fit_one_chunk_item(harness: Harness) -> None:
    # Given 100 recipients, each with ten values at the byte budget
    merchant = harness.new_merchant()
    to = [{"to": f"+2547120{index:05d}", "vars": largest_vars(index)} for index in range(100)]
    message = "".join(f"{{{{v{i}}}}}" for i in range(MAX_VARS))
    code, body = harness.send(merchant, {"to": to, "message": message})
    # Then it is stored, in one chunk item well under DynamoDB's 400 KB
    assert code == 200, body
    size = item_size(chunk_item(harness, merchant, body["data"]["message_id"]))
    assert 100 * (MAX_VARS_JSON_BYTES - 100) < size < 400 * 1024
    # And dispatch renders every recipient's own text from it
    assert harness.dispatch_queued() == {"batchItemFailures": []}
    assert len({submission.text for submission in harness.carrier.submissions}) == 100


def test_an_idempotency_key_covers_the_values(harness: Harness) -> None:
    # Given a personal send under an Idempotency-Key
    merchant = harness.new_merchant()
    headers = {"Idempotency-Key": "personal-1"}
    body = {"to": PEOPLE, "message": TEMPLATE}
    first = harness.api("send", "send-single", merchant, body=body, headers=headers)
    # When it is repeated, Then the first reply comes back and one job was queued
    again = harness.api("send", "send-single", merchant, body=body, headers=headers)
    assert first[0] == again[0] == 200 and first[1] == again[1]
    assert len(harness.queued_jobs()) == 1
    # When the same key comes with other values, Then it is refused
    changed = [{**PEOPLE[0], "vars": {"name": "Other", "code": "0000"}}, *PEOPLE[1:]]
    code, refused, _ = harness.api("send", "send-single", merchant, body={**body, "to": changed}, headers=headers)
    assert code == 422 and "different request body" in refused["detail"]


def test_a_scheduled_personal_send_keeps_its_values_through_release(harness: Harness) -> None:
    # Given a personal send scheduled an hour ahead
    merchant = harness.new_merchant()
    at = (datetime.now(UTC) + timedelta(hours=1)).replace(microsecond=0)
    code, body = harness.send(merchant, {"to": PEOPLE, "message": TEMPLATE, "scheduled_dates": [at.isoformat()]})
    assert code == 200, body
    assert body["data"]["segments_total"] == 3
    # When the sweep releases it and dispatch runs
    sweeper = harness.sweeper()
    assert sweeper.sweep(at + timedelta(seconds=30), lambda: 60.0).released == 1
    assert harness.dispatch_queued() == {"batchItemFailures": []}
    # Then each recipient got its own text
    mine = [
        submission for submission in harness.carrier.submissions if body["data"]["message_id"] in submission.reference
    ]
    assert sorted(submission.text for submission in mine) == [
        "Hi Amina, your code is 4821",
        "Hi Baraka, your code is 1193",
        "Hi Zoë, your code is 7702",
    ]


@pytest.mark.parametrize(("own_parts", "receipts_to_finish"), [(1, 1), (2, 2)])
def test_part_receipts_count_against_the_recipients_own_text(
    harness: Harness, own_parts: int, receipts_to_finish: int
) -> None:
    # Given a recipient row claimed with its own text's parts (the message's largest is 3)
    repository = harness.repository()
    merchant = harness.new_merchant()
    key = RecipientKey(merchant.org_id, "0" * 24, 0)
    now = datetime.now(UTC)
    listing = NumberListing("+254712345678", now)
    assert repository.recipients.claim(key, "http", now, timedelta(seconds=60), listing, segments=own_parts)
    # When its parts report one by one
    progress = None
    for part in range(receipts_to_finish):
        progress = repository.recipients.record_part_outcome(key, "http", f"part-{part}", SmsStatus.DELIVERED)
        assert progress is not None
        # Then it is complete exactly when its own parts have all reported, not the message's 3
        assert progress.complete(3) == (part + 1 == own_parts)
    assert progress is not None and progress.segments == own_parts
