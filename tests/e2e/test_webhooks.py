"""Webhooks on the running local stack: configured, signed, retried, dead-lettered, safe."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import requests
from standardwebhooks import Webhook

from tests.e2e.conftest import LocalStack
from tests.webhook_receiver import ReceivedWebhook, WebhookReceiver, webhook_receiver

pytestmark = pytest.mark.e2e


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with webhook_receiver() as running:
        yield running


def put_webhook(stack: LocalStack, url: str | None, key: str | None = None) -> requests.Response:
    return requests.put(
        f"{stack.base_url}/webhook",
        json={"webhook_url": url},
        headers={"app-key": key or stack.second_app_key},
        timeout=10,
    )


def send(stack: LocalStack, body: dict[str, Any]) -> str:
    reply = requests.post(f"{stack.base_url}/send", json=body, headers={"app-key": stack.second_app_key}, timeout=10)
    assert reply.status_code == 200, reply.text
    message_id: str = reply.json()["data"]["message_id"]
    return message_id


def arrived(receiver: WebhookReceiver, path: str, count: int, seconds: float = 20) -> list[ReceivedWebhook]:
    deadline = time.monotonic() + seconds
    while len(receiver.events(path)) < count and time.monotonic() < deadline:
        time.sleep(0.2)
    return receiver.events(path)


def for_message(webhooks: list[ReceivedWebhook], message_id: str) -> list[str]:
    return [webhook.event["type"] for webhook in webhooks if webhook.event["data"]["message_id"] == message_id]


def test_a_delivered_message_reaches_both_targets_in_order_and_signed(
    local_stack: LocalStack, receiver: WebhookReceiver
) -> None:
    secret = put_webhook(local_stack, receiver.url("/org-a")).json()["data"]["secret"]
    message_id = send(
        local_stack, {"to": ["+254712345678"], "message": "hooked", "callback_url": receiver.url("/callback-a")}
    )
    for path in ("/org-a", "/callback-a"):
        webhooks = arrived(receiver, path, 4)
        assert for_message(webhooks, message_id) == ["sms.queued", "sms.processing", "sms.sent", "sms.delivered"]
        for webhook in webhooks:
            Webhook(secret).verify(webhook.body, webhook.headers)
    put_webhook(local_stack, None)


def test_a_failing_number_ends_with_sms_failed_and_nothing_after(
    local_stack: LocalStack, receiver: WebhookReceiver
) -> None:
    put_webhook(local_stack, None)
    message_id = send(
        local_stack, {"to": ["+254712340004"], "message": "silence", "callback_url": receiver.url("/timeout")}
    )
    webhooks = arrived(receiver, "/timeout", 4, seconds=30)
    assert for_message(webhooks, message_id) == ["sms.queued", "sms.processing", "sms.sent", "sms.failed"]
    assert webhooks[-1].event["data"]["error_code"] == 1503
    time.sleep(2)
    assert len(receiver.events("/timeout")) == 4


def test_an_endpoint_down_then_up_gets_the_event_with_the_same_id(
    local_stack: LocalStack, receiver: WebhookReceiver
) -> None:
    receiver.answers["/flaky"] = [500, 503]
    message_id = send(local_stack, {"to": ["+254712340002"], "message": "x", "callback_url": receiver.url("/flaky")})
    deadline = time.monotonic() + 30
    while "sms.failed" not in for_message(receiver.events("/flaky"), message_id) and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(3)  # let the retried ones land
    webhooks = receiver.events("/flaky")
    ids = [webhook.headers["webhook-id"] for webhook in webhooks]
    # Two answers failed, so exactly two deliveries repeat an id, with the same bytes
    assert len(ids) == len(set(ids)) + 2
    for event_id in set(ids):
        assert len({webhook.body for webhook in webhooks if webhook.headers["webhook-id"] == event_id}) == 1
    assert sorted(set(for_message(webhooks, message_id))) == ["sms.failed", "sms.processing", "sms.queued"]


def test_an_endpoint_that_always_fails_ends_in_the_dead_letter_queue(
    local_stack: LocalStack, receiver: WebhookReceiver
) -> None:
    receiver.answers["/down"] = [500] * 100
    message_id = send(local_stack, {"to": ["+254712340002"], "message": "x", "callback_url": receiver.url("/down")})
    sqs = boto3.client(
        "sqs",
        endpoint_url=local_stack.moto_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    (dead_letters,) = [url for url in sqs.list_queues()["QueueUrls"] if "WebhookDeliveriesDeadLetter" in url]
    deadline = time.monotonic() + 40
    found: list[dict[str, Any]] = []
    while time.monotonic() < deadline and not found:
        messages = sqs.receive_message(QueueUrl=dead_letters, MaxNumberOfMessages=10, VisibilityTimeout=0)
        found = [
            json.loads(message["Body"])
            for message in messages.get("Messages", [])
            if json.loads(message["Body"])["message_id"] == message_id
        ]
        time.sleep(0.5)
    assert found, "no job reached the dead-letter queue"
    # It holds everything a replay needs
    assert {"org_id", "message_id", "event_id", "event_type", "url", "body"} <= set(found[0])


def test_redirects_are_not_followed(local_stack: LocalStack, receiver: WebhookReceiver) -> None:
    receiver.answers["/moved"] = [302] * 10
    send(local_stack, {"to": ["+254712340002"], "message": "x", "callback_url": receiver.url("/moved")})
    arrived(receiver, "/moved", 2)
    assert {webhook.path for webhook in receiver.received} == {"/moved"}


@pytest.mark.parametrize(
    "url",
    [
        "https://10.1.2.3/hooks",
        "https://192.168.1.20/hooks",
        "https://169.254.169.254/latest/meta-data/",
        "https://[fd00:ec2::254]/",
        "https://[::ffff:10.0.0.1]/",
        "https://0xa9fea9fe/",
        "ftp://hooks.example.com/",
    ],
)
def test_unsafe_webhook_urls_are_422(local_stack: LocalStack, url: str) -> None:
    response = put_webhook(local_stack, url)
    assert response.status_code == 422
    assert isinstance(response.json()["detail"], str)
