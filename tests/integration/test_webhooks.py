"""Webhooks on moto: the table's real stream records → fan-out → signed deliveries to a receiver."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from standardwebhooks import Webhook

from lisoloo.entities import RecipientKey
from tests.conftest import lambda_context, load_event
from tests.integration.conftest import Harness, Merchant, load_function
from tests.webhook_receiver import WebhookReceiver, webhook_receiver


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with webhook_receiver() as running:
        yield running


def configure(harness: Harness, merchant: Merchant, url: str | None) -> tuple[int, Any]:
    code, body, _ = harness.api(
        "webhook_settings",
        "webhook-put",
        merchant,
        body={"webhook_url": url},
    )
    return code, body


# What each stream's shards held when last read: (sequence number read up to, its records).
# The stream only grows, and re-reading it from TRIM_HORIZON made every read slower than the last.
_stream_reads: dict[tuple[str, str], tuple[str | None, list[dict[str, Any]]]] = {}


def stream_records(harness: Harness, message_id: str) -> list[dict[str, Any]]:
    """Every record the table's stream holds for this message, in Lambda's event shape."""
    streams = boto3.client("dynamodbstreams")
    arn = boto3.client("dynamodb").describe_table(TableName=harness.table_name)["Table"]["LatestStreamArn"]
    records: list[dict[str, Any]] = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        last, seen = _stream_reads.get((arn, shard["ShardId"]), (None, []))
        position: dict[str, str] = (
            {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": last}
            if last
            else {"ShardIteratorType": "TRIM_HORIZON"}
        )
        iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"], **position)["ShardIterator"]
        while iterator:
            response = streams.get_records(ShardIterator=iterator, Limit=1000)
            seen.extend(response["Records"])
            if not response["Records"]:
                break
            iterator = response.get("NextShardIterator")
        if seen:
            _stream_reads[(arn, shard["ShardId"])] = (seen[-1]["dynamodb"]["SequenceNumber"], seen)
        records.extend(seen)
    # Copies: the records read are kept for the next call, and are changed below.
    ours = [copy.deepcopy(record) for record in records if message_id in json.dumps(record["dynamodb"]["Keys"])]
    for record in ours:
        record["eventSourceARN"] = arn
        for image in ("NewImage", "OldImage", "Keys"):
            if image in record["dynamodb"]:
                record["dynamodb"][image] = record["dynamodb"][image]
        record["dynamodb"]["ApproximateCreationDateTime"] = 1779876900
    return ours


def fan_out(harness: Harness, message_id: str) -> None:
    response = load_function("webhooks").lambda_handler(
        {"Records": stream_records(harness, message_id)}, lambda_context()
    )
    assert response == {"batchItemFailures": []}


def deliver_queued(harness: Harness) -> list[dict[str, Any]]:
    """Runs the delivery function over what waits on the webhook queue, one batch per job."""
    sqs = boto3.client("sqs")
    url = harness.stack.physical_id("WebhookDeliveriesQueue")
    failures: list[dict[str, Any]] = []
    template = load_event("dispatch-job")["Records"][0]
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"]).get("Messages", [])
        if not messages:
            return failures
        for message in messages:
            record = {
                **template,
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": {**template["attributes"], **message["Attributes"]},
            }
            try:
                load_function("webhook_delivery").lambda_handler({"Records": [record]}, lambda_context())
            except BatchProcessingError:
                failures.append(record)
                continue
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def drain_webhook_queue(harness: Harness) -> None:
    sqs = boto3.client("sqs")
    url = harness.stack.physical_id("WebhookDeliveriesQueue")
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages"):
        for message in messages:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def test_every_transition_reaches_both_targets_signed_and_in_order(harness: Harness, receiver: WebhookReceiver) -> None:
    drain_webhook_queue(harness)
    # Given a merchant whose webhook URL is set (the reply shows its secret once)
    merchant = harness.new_merchant()
    code, settings = configure(harness, merchant, receiver.url("/org"))
    assert code == 200
    secret = settings["data"]["secret"]
    assert secret.startswith("whsec_")
    assert configure(harness, merchant, receiver.url("/org"))[1]["data"]["secret"] is None  # shown once
    # When it sends with a callback URL too, and the message is delivered
    _, body = harness.send(
        merchant, {"to": ["+254712345678"], "message": "hooks", "callback_url": receiver.url("/callback")}
    )
    message_id = body["data"]["message_id"]
    harness.dispatch_queued()
    harness.receipt(RecipientKey(merchant.org_id, message_id, 0).reference, "delivered")
    fan_out(harness, message_id)
    assert deliver_queued(harness) == []
    # Then each target got queued, processing, sent, delivered, signed, in sequence
    for path in ("/org", "/callback"):
        webhooks = receiver.events(path)
        assert [webhook.event["type"] for webhook in webhooks] == [
            "sms.queued",
            "sms.processing",
            "sms.sent",
            "sms.delivered",
        ]
        assert [webhook.event["sequence"] for webhook in webhooks] == [1, 2, 3, 4]
        for webhook in webhooks:
            Webhook(secret).verify(webhook.body, webhook.headers)
            assert webhook.event["data"]["message_id"] == message_id
    # And replaying the same stream records yields the same event ids, never new events
    before = {webhook.headers["webhook-id"] for webhook in receiver.received}
    fan_out(harness, message_id)
    deliver_queued(harness)
    assert {webhook.headers["webhook-id"] for webhook in receiver.received} == before


def test_all_invalid_numbers_give_queued_then_failed(harness: Harness, receiver: WebhookReceiver) -> None:
    drain_webhook_queue(harness)
    merchant = harness.new_merchant()
    configure(harness, merchant, receiver.url("/org"))
    _, body = harness.send(merchant, {"to": ["+254000000000"], "message": "x"})
    harness.dispatch_queued()
    fan_out(harness, body["data"]["message_id"])
    deliver_queued(harness)
    assert [webhook.event["type"] for webhook in receiver.events("/org")] == ["sms.queued", "sms.failed"]


def first_delivery_to(
    harness: Harness, receiver: WebhookReceiver, path: str, answer: int
) -> tuple[Merchant, list[dict[str, Any]]]:
    """A new merchant whose endpoint at ``path`` answers ``answer`` once sends one text; its first
    event is fanned out and delivered once. The merchant, and the delivery jobs that failed."""
    drain_webhook_queue(harness)
    merchant = harness.new_merchant()
    configure(harness, merchant, receiver.url(path))
    receiver.answers[path] = [answer]
    _, body = harness.send(merchant, {"to": ["+254712345678"], "message": "x"})
    fan_out(harness, body["data"]["message_id"])
    return merchant, deliver_queued(harness)


def test_a_failing_endpoint_is_retried_with_the_same_webhook_id(harness: Harness, receiver: WebhookReceiver) -> None:
    # When the first attempt answers 500, the job fails and is hidden for its backoff
    _, failures = first_delivery_to(harness, receiver, "/flaky", 500)
    assert len(failures) == 1
    # When it comes back (here: made visible at once) the endpoint answers 200
    sqs = boto3.client("sqs")
    queue = harness.stack.physical_id("WebhookDeliveriesQueue")
    visible = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages", [])
    assert failures[0]["messageId"] not in [message["MessageId"] for message in visible]  # hidden for its backoff
    sqs.change_message_visibility(QueueUrl=queue, ReceiptHandle=failures[0]["receiptHandle"], VisibilityTimeout=0)
    assert deliver_queued(harness) == []
    attempts = receiver.events("/flaky")
    assert [attempt.event["type"] for attempt in attempts] == ["sms.queued", "sms.queued"]
    assert attempts[0].headers["webhook-id"] == attempts[1].headers["webhook-id"]


def test_redirects_are_not_followed(harness: Harness, receiver: WebhookReceiver) -> None:
    _, failures = first_delivery_to(harness, receiver, "/moved", 302)
    assert len(failures) == 1
    assert [webhook.path for webhook in receiver.received] == ["/moved"]


@pytest.mark.parametrize(
    "url",
    [
        "https://10.0.0.1/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::ffff:169.254.169.254]/",
        "http://hooks.example.com/",
        "https://192.168.0.10/",
    ],
)
def test_unsafe_urls_are_422_at_configuration_and_at_send(harness: Harness, url: str) -> None:
    merchant = harness.new_merchant()
    code, body = configure(harness, merchant, url)
    assert code == 422
    assert isinstance(body["detail"], str)
    code, body = harness.send(merchant, {"to": ["+254712345678"], "message": "x", "callback_url": url})
    assert code == 422


def test_rotation_returns_a_new_secret_and_both_sign_for_a_day(harness: Harness, receiver: WebhookReceiver) -> None:
    drain_webhook_queue(harness)
    merchant = harness.new_merchant()
    old = configure(harness, merchant, receiver.url("/rotated"))[1]["data"]["secret"]
    code, body, _ = harness.api("webhook_settings", "webhook-rotate", merchant)
    assert code == 200
    new = body["data"]["secret"]
    assert new != old
    _, sent = harness.send(merchant, {"to": ["+254712345678"], "message": "x"})
    fan_out(harness, sent["data"]["message_id"])
    deliver_queued(harness)
    (webhook,) = receiver.events("/rotated")
    Webhook(old).verify(webhook.body, webhook.headers)
    Webhook(new).verify(webhook.body, webhook.headers)
    code, shown, _ = harness.api("webhook_settings", "webhook-get", merchant)
    assert shown["data"] == {"webhook_url": receiver.url("/rotated"), "secret_configured": True, "secret": None}
