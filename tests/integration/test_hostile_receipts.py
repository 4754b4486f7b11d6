"""Receipts a hostile or broken carrier sends (issue 14): floods of unknown references, a poison
receipt among valid ones, bodies that are not text, and receipt-apply running out of time.
Whatever arrives is answered 2xx and counted; the valid receipts among it are applied, soon.
"""

from __future__ import annotations

import base64
import json
import random
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from lisoloo.entities import RecipientKey
from lisoloo.identifiers import new_message_id
from lisoloo.models import QueuedReceipt, ReceiptJob
from lisoloo.settings import get_settings
from lisoloo.status import SmsStatus
from tests.conftest import lambda_context, load_event
from tests.integration.conftest import Harness, Merchant, load_function

FLOOD = 2_000


@pytest.fixture(autouse=True)
def sandbox_token(harness: Harness) -> str:
    """Only this test's items, and the sandbox carrier's token."""
    from lisoloo_admin.provisioning import register_carrier

    harness.wipe_table()
    harness.carrier_token = register_carrier(harness.repository(), "sandbox")
    return harness.carrier_token


def send_and_dispatch(harness: Harness, count: int = 1) -> tuple[Merchant, str]:
    merchant = harness.new_merchant()
    code, body = harness.send(merchant, {"to": [f"+2547120{1000 + i:05d}" for i in range(count)], "message": "Hi"})
    assert code == 200, body
    harness.dispatch_queued()
    return merchant, body["data"]["message_id"]


def post_receipts(token: str, body: str | bytes, *, base64_encoded: bool = False) -> dict[str, Any]:
    """One POST to /receipts/sandbox as API Gateway hands it over."""
    event = load_event("receipts-sandbox")
    event["headers"]["x-carrier-token"] = token
    event["multiValueHeaders"]["x-carrier-token"] = [token]
    if base64_encoded:
        assert isinstance(body, bytes)
        event["body"], event["isBase64Encoded"] = base64.b64encode(body).decode(), True
    else:
        event["body"] = body
    response: dict[str, Any] = load_function("receipts").lambda_handler(event, lambda_context())
    return response


def receipts_body(reports: Sequence[tuple[str, str]]) -> str:
    return json.dumps([{"carrier_ref": ref, "status": status} for ref, status in reports])


def unknown_references(merchant: Merchant, count: int) -> list[str]:
    """References of the right shape naming messages that do not exist."""
    return [RecipientKey(merchant.org_id, new_message_id(), i % 10_000).reference for i in range(count)]


@contextmanager
def dynamodb_requests() -> Iterator[Counter[str]]:
    """Every DynamoDB request the functions' client makes meanwhile, by operation."""
    from lisoloo.dependencies import repository

    counted: Counter[str] = Counter()

    def count(event_name: str, **_: Any) -> None:
        counted[event_name.rsplit(".", 1)[1]] += 1

    events = repository().client.meta.events
    events.register("before-call.dynamodb", count)
    try:
        yield counted
    finally:
        events.unregister("before-call.dynamodb", count)


def delivered(harness: Harness, merchant: Merchant, message_id: str) -> int:
    code, body = harness.status(merchant, message_id)
    assert code == 200, body
    return int(body["data"]["delivered"])


def test_a_flood_of_unknown_references_costs_a_share_of_a_read_each_and_the_real_receipt_is_applied(
    harness: Harness, sandbox_token: str
) -> None:
    # Given a message handed to the carrier, and one POST carrying its receipt among a flood of
    # references to messages that do not exist (and to an index past the message's end)
    merchant, message_id = send_and_dispatch(harness)
    real = RecipientKey(merchant.org_id, message_id, 0).reference
    past_end = RecipientKey(merchant.org_id, message_id, 1).reference
    flood = [*unknown_references(merchant, FLOOD), past_end]
    random.Random(14).shuffle(flood)
    reports = [(ref, "delivered") for ref in flood[: FLOOD // 2]] + [(real, "delivered")]
    reports += [(ref, "delivered") for ref in flood[FLOOD // 2 :]]
    response = post_receipts(sandbox_token, receipts_body(reports))
    assert (response["statusCode"], json.loads(response["body"]).get("data")) == (200, {"received": FLOOD + 2}), (
        response
    )

    # When receipt-apply takes the jobs
    with dynamodb_requests() as requests:
        summary = harness.apply_queued_receipts()

    # Then the real receipt is applied in one transaction; the unknown ones cost a BatchGetItem
    # per 100 messages named and nothing else
    assert (summary.applied, summary.unknown) == (1, FLOOD + 1)
    assert delivered(harness, merchant, message_id) == 1
    assert requests["TransactWriteItems"] == 1
    # (plus what the one real final costs the delivery analytics, whatever the flood: its message
    # and number read, and one counter write per day, country and sender id group)
    analytics = 2 + 3
    assert sum(requests.values()) <= FLOOD / 100 + 5 + analytics


def test_a_poison_receipt_does_not_keep_the_valid_ones_of_its_post_from_being_applied(
    harness: Harness, sandbox_token: str
) -> None:
    # Given one POST with a valid receipt and receipts whose references cannot be ours: an index
    # of 5,000 digits (int() refuses it), one with a leading zero, one past 9,999
    merchant, message_id = send_and_dispatch(harness, count=2)
    base = f"{merchant.org_id}.{message_id}"
    reports = [(f"{base}.{'9' * 5_000}", "delivered"), (f"{base}.1", "delivered")]
    reports += [(f"{base}.01", "undelivered"), (f"{base}.00000", "undelivered"), (f"{base}.10000", "undelivered")]

    # When it is posted and applied
    response = post_receipts(sandbox_token, receipts_body(reports))
    summary = harness.apply_queued_receipts()

    # Then it is answered 2xx, the valid receipt is applied once, and nothing else moved
    assert response["statusCode"] == 200
    assert summary.applied == 1
    code, body = harness.status(merchant, message_id)
    assert code == 200
    assert [row["status"] for row in body["data"]["recipients"]] == ["sent", "delivered"]
    assert harness.apply_queued_receipts().received == 0  # no job left to fail again


def test_a_message_whose_writes_fail_does_not_hold_back_another_in_the_same_job(
    harness: Harness, sandbox_token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given one POST (one job) with receipts for two messages, one of which cannot be written
    merchant, good_id = send_and_dispatch(harness)
    other, bad_id = send_and_dispatch(harness)
    from lisoloo.storage.recipients import Recipients

    real = Recipients.apply_transitions

    def failing(self: Recipients, transitions: Any, **options: Any) -> Any:
        if any(transition.key.message_id == bad_id for transition in transitions):
            raise RuntimeError("storage outage for one message")
        return real(self, transitions, **options)

    good, bad = RecipientKey(merchant.org_id, good_id, 0), RecipientKey(other.org_id, bad_id, 0)
    assert (
        post_receipts(sandbox_token, receipts_body([(bad.reference, "delivered"), (good.reference, "delivered")]))[
            "statusCode"
        ]
        == 200
    )

    # When receipt-apply takes the job during the outage
    with monkeypatch.context() as patch:
        patch.setattr(Recipients, "apply_transitions", failing)
        first = harness.apply_queued_receipts()

    # Then the good receipt is applied at once; the job is tried again and settles the other
    assert (first.applied, delivered(harness, merchant, good_id), delivered(harness, other, bad_id)) == (1, 1, 0)
    again = harness.apply_queued_receipts()
    assert (again.applied, delivered(harness, other, bad_id)) == (1, 1)


@pytest.mark.parametrize(
    ("body", "base64_encoded"),
    [
        pytest.param("\ufffd\ufffd{\ufffd", False, id="not-utf8-as-api-gateway-passes-it"),
        pytest.param(b"\xff\xfe\x00{", True, id="not-utf8-base64"),
        pytest.param(random.Random(3).randbytes(1_000_000), True, id="a-megabyte-of-random-bytes"),
        pytest.param(random.Random(3).randbytes(1_000_000).decode("utf-8", "replace"), False, id="random-as-text"),
    ],
)
def test_a_body_that_is_not_text_is_answered_2xx_counted_and_changes_nothing(
    harness: Harness, sandbox_token: str, monkeypatch: pytest.MonkeyPatch, body: str | bytes, base64_encoded: bool
) -> None:
    # Given the metrics the receipts function records
    from lisoloo.observability import metrics

    recorded: Counter[str] = Counter()
    add_metric = metrics.add_metric

    def spy(name: str, unit: Any, value: float, **options: Any) -> None:
        recorded[name] += int(value)
        add_metric(name=name, unit=unit, value=value, **options)

    monkeypatch.setattr(metrics, "add_metric", spy)

    # When a carrier posts bytes that are not a receipt, not even text
    response = post_receipts(sandbox_token, body, base64_encoded=base64_encoded)

    # Then it hears 2xx (anything else it would resend forever), counted as unreadable, nothing queued
    assert (response["statusCode"], json.loads(response["body"])["data"]) == (200, {"received": 0})
    assert recorded["UnreadableReceipts"] == 1
    assert harness.apply_queued_receipts().received == 0


def queued_jobs(merchant: Merchant, message_ids: Sequence[str]) -> list[Any]:
    from lisoloo.receipts import QueuedJob

    now = datetime.now(UTC)
    return [
        QueuedJob(
            job_id=f"job-{position}",
            receives=1,
            job=ReceiptJob(
                carrier="sandbox",
                received_at=now,
                receipts=[
                    QueuedReceipt(
                        carrier_ref=RecipientKey(merchant.org_id, message_id, 0).reference,
                        status=SmsStatus.DELIVERED,
                        reference=RecipientKey(merchant.org_id, message_id, 0).reference,
                    )
                ],
            ),
        )
        for position, message_id in enumerate(message_ids)
    ]


def test_receipt_apply_stops_before_its_deadline_and_reports_only_what_it_did_not_reach(harness: Harness) -> None:
    from lisoloo.receipts import TIME_RESERVE_SECONDS, apply_receipt_jobs

    # Given three jobs for three messages, in one round, and an invocation whose time runs out
    # after the reads and the first message's transaction
    merchant = harness.new_merchant()
    message_ids = []
    for _ in range(3):
        code, body = harness.send(merchant, {"to": ["+254712341000"], "message": "Hi"})
        assert code == 200, body
        message_ids.append(body["data"]["message_id"])
    harness.dispatch_queued()
    clock = iter([60.0] * 4)

    def seconds_left() -> float:
        return next(clock, TIME_RESERVE_SECONDS - 0.1)

    # When they are applied
    outcome = apply_receipt_jobs(
        harness.repository(), queued_jobs(merchant, message_ids), datetime.now(UTC), get_settings(), seconds_left
    )

    # Then what was reached is applied, nothing is reported failed, and only the jobs not reached
    # are left for the next batch
    assert outcome.failed == frozenset()
    applied = [delivered(harness, merchant, message_id) for message_id in message_ids]
    assert outcome.summary.applied == sum(applied) >= 1
    assert outcome.unfinished == {f"job-{i}" for i, count in enumerate(applied) if count == 0} != frozenset()


def test_jobs_the_time_ran_out_on_are_handed_out_again_at_once_and_applied_next_time(
    harness: Harness, sandbox_token: str
) -> None:
    from local.lambda_runtime import FakeLambdaContext
    from local.sqs_poller import sqs_record

    # Given a receipt queued, and receipt-apply invoked with it with less time left than it keeps
    merchant, message_id = send_and_dispatch(harness)
    reference = RecipientKey(merchant.org_id, message_id, 0).reference
    assert post_receipts(sandbox_token, receipts_body([(reference, "delivered")]))["statusCode"] == 200
    sqs, queue_url = boto3.client("sqs"), harness.receipts_queue_url
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    messages = sqs.receive_message(
        QueueUrl=queue_url, VisibilityTimeout=360, AttributeNames=["All"], MessageAttributeNames=["All"]
    )["Messages"]
    event = {"Records": [sqs_record(message, arn, "us-east-1") for message in messages]}
    context = FakeLambdaContext.starting_now("receipt-apply", seconds=5)

    # When it runs
    with pytest.raises(BatchProcessingError, match="All records failed"):
        load_function("receipt_apply").lambda_handler(event, context)

    # Then the job is reported failed but not tried, and visible again at once, not in 6 minutes
    assert delivered(harness, merchant, message_id) == 0
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    assert (attributes["ApproximateNumberOfMessages"], attributes["ApproximateNumberOfMessagesNotVisible"]) == (
        "1",
        "0",
    )
    # ...and the next invocation, with time, applies it
    assert harness.apply_queued_receipts().applied == 1
    assert delivered(harness, merchant, message_id) == 1


def test_a_post_over_the_limit_queues_the_first_receipts_and_answers_2xx_with_their_count(
    harness: Harness, sandbox_token: str
) -> None:
    from lisoloo.receipts import MAX_RECEIPTS_PER_REQUEST

    # Given one POST with more receipts than one request may carry, each with the longest id
    # a job takes (its jobs are as large as jobs get)
    merchant, message_id = send_and_dispatch(harness)
    real = RecipientKey(merchant.org_id, message_id, 0).reference
    reports = [(real, "delivered")] + [(f"{i:0128d}", "delivered") for i in range(MAX_RECEIPTS_PER_REQUEST)]

    # When it is posted
    response = post_receipts(sandbox_token, receipts_body(reports))

    # Then it is answered 2xx with the count queued (a carrier resends anything else forever)
    assert (response["statusCode"], json.loads(response["body"])["data"]) == (
        200,
        {"received": MAX_RECEIPTS_PER_REQUEST},
    )
    summary = harness.apply_queued_receipts()
    assert (summary.received, summary.applied) == (MAX_RECEIPTS_PER_REQUEST, 1)
