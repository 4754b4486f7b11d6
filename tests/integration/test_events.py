"""The event log on moto: events logged once, read after a cursor (also under concurrent writers),
redelivered under the same webhook-id; delivery attempts as the delivery function recorded them."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from lisoloo.entities import RecipientKey
from lisoloo.storage.events import EventLog
from tests.integration.conftest import Harness, Merchant
from tests.integration.test_webhooks import (
    configure,
    deliver_queued,
    drain_webhook_queue,
    fan_out,
    first_delivery_to,
)
from tests.webhook_receiver import WebhookReceiver, webhook_receiver


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with webhook_receiver() as running:
        yield running


def events_page(harness: Harness, merchant: Merchant, **query: str) -> tuple[int, Any]:
    code, body, _ = harness.api("events", "messages-list", merchant, path="/api/v1/lisoloo/sms-api/events", query=query)
    return code, body


def redeliver(harness: Harness, merchant: Merchant, event_id: str) -> tuple[int, Any, str]:
    path = f"/api/v1/lisoloo/sms-api/events/{event_id}/redeliver"
    return harness.api(
        "events", "send-single", merchant, path=path, path_parameters={"event_id": event_id}, raw_body=""
    )


def deliveries(harness: Harness, merchant: Merchant, **query: str) -> tuple[int, Any]:
    code, body, _ = harness.api(
        "events", "messages-list", merchant, path="/api/v1/lisoloo/sms-api/webhook/deliveries", query=query
    )
    return code, body


def message_events(harness: Harness, merchant: Merchant, message_id: str, **query: str) -> tuple[int, Any, str]:
    path = f"/api/v1/lisoloo/sms-api/messages/{message_id}/events"
    return harness.api(
        "events", "messages-list", merchant, path=path, path_parameters={"message_id": message_id}, query=query
    )


def delivered_message(harness: Harness, merchant: Merchant, callback_url: str | None = None) -> str:
    fields = {"callback_url": callback_url} if callback_url else {}
    _, body = harness.send(merchant, {"to": ["+254712345678"], "message": "log me", **fields})
    message_id: str = body["data"]["message_id"]
    harness.dispatch_queued()
    harness.receipt(RecipientKey(merchant.org_id, message_id, 0).reference, "delivered")
    fan_out(harness, message_id)
    return message_id


def test_events_are_logged_once_and_read_after_a_cursor(harness: Harness, receiver: WebhookReceiver) -> None:
    drain_webhook_queue(harness)
    # Given a delivered message whose stream records were fanned out twice (a redelivered batch)
    merchant = harness.new_merchant()
    configure(harness, merchant, receiver.url("/org"))
    message_id = delivered_message(harness, merchant)
    fan_out(harness, message_id)
    # When the merchant reads its log from the start
    code, body = events_page(harness, merchant)
    assert code == 200, body
    page = body["data"]
    # Then each event is there once, in order, with the body its webhooks carry
    assert [event["type"] for event in page["events"]] == ["sms.queued", "sms.processing", "sms.sent", "sms.delivered"]
    assert [event["position"] for event in page["events"]] == ["1", "2", "3", "4"]
    assert page["events"][3]["body"]["data"]["message_id"] == message_id
    assert (page["after"], page["has_more"]) == ("4", False)
    # And after a cursor only what follows it; with nothing new, the same cursor to poll with
    assert [event["position"] for event in events_page(harness, merchant, after="2")[1]["data"]["events"]] == ["3", "4"]
    assert events_page(harness, merchant, after="4")[1]["data"] == {"events": [], "after": "4", "has_more": False}
    # And pages of two walk the log with has_more, and a type filter keeps only its type
    first = events_page(harness, merchant, limit="2")[1]["data"]
    assert (len(first["events"]), first["after"], first["has_more"]) == (2, "2", True)
    only = events_page(harness, merchant, type="sms.delivered")[1]["data"]["events"]
    assert [event["type"] for event in only] == ["sms.delivered"]
    # And delivered webhooks carry the logged event ids as webhook-id
    deliver_queued(harness)
    assert {webhook.headers["webhook-id"] for webhook in receiver.events("/org")} == {
        event["event_id"] for event in page["events"]
    }


def test_a_message_timeline_lists_its_own_events_only(harness: Harness, receiver: WebhookReceiver) -> None:
    drain_webhook_queue(harness)
    # Given two delivered messages of one merchant, their stream records fanned out twice
    merchant = harness.new_merchant()
    configure(harness, merchant, receiver.url("/org"))
    first, second = delivered_message(harness, merchant), delivered_message(harness, merchant)
    fan_out(harness, first)
    # When the merchant asks for the first message's events
    code, body, _ = message_events(harness, merchant, first)
    assert code == 200, body
    timeline = body["data"]
    # Then it gets that message's events once each, oldest first, as GET /events has them
    assert [event["type"] for event in timeline["events"]] == [
        "sms.queued",
        "sms.processing",
        "sms.sent",
        "sms.delivered",
    ]
    assert {event["message_id"] for event in timeline["events"]} == {first}
    logged = [event for event in events_page(harness, merchant)[1]["data"]["events"] if event["message_id"] == first]
    assert timeline == {"events": logged, "has_older": False}
    # And with a limit, the latest ones and word that older ones exist
    latest = message_events(harness, merchant, second, limit="2")[1]["data"]
    assert ([event["type"] for event in latest["events"]], latest["has_older"]) == (["sms.sent", "sms.delivered"], True)


def test_another_tenants_unknown_and_malformed_message_timelines_answer_identical_404s(
    harness: Harness, receiver: WebhookReceiver
) -> None:
    drain_webhook_queue(harness)
    owner, stranger = harness.new_merchant(), harness.new_merchant()
    configure(harness, owner, receiver.url("/org"))
    message_id = delivered_message(harness, owner)
    answers = {
        (code, raw)
        for code, _, raw in [
            message_events(harness, stranger, message_id),
            message_events(harness, owner, "0" * 24),
            message_events(harness, owner, "not-a-message"),
        ]
    }
    assert answers == {(404, '{"detail":"Message not found"}')}
    assert message_events(harness, owner, message_id)[0] == 200


def test_a_redelivery_sends_the_same_bytes_under_the_same_webhook_id_to_todays_targets(
    harness: Harness, receiver: WebhookReceiver
) -> None:
    drain_webhook_queue(harness)
    # Given a message whose events went to the organization's first URL
    merchant = harness.new_merchant()
    configure(harness, merchant, receiver.url("/old"))
    delivered_message(harness, merchant)
    deliver_queued(harness)
    delivered = receiver.events("/old")[-1]
    # When the webhook URL changes and the merchant redelivers the last event
    configure(harness, merchant, receiver.url("/new"))
    code, body, _ = redeliver(harness, merchant, delivered.headers["webhook-id"])
    assert (code, body) == (
        202,
        {"status_code": 202, "data": {"event_id": delivered.headers["webhook-id"], "targets": 1}},
    )
    assert deliver_queued(harness) == []
    # Then today's target gets it, byte for byte, under the same webhook-id
    (again,) = receiver.events("/new")
    assert (again.body, again.headers["webhook-id"]) == (delivered.body, delivered.headers["webhook-id"])


def test_unknown_malformed_and_other_tenant_event_ids_answer_identical_404s(
    harness: Harness, receiver: WebhookReceiver
) -> None:
    drain_webhook_queue(harness)
    owner, stranger = harness.new_merchant(), harness.new_merchant()
    configure(harness, owner, receiver.url("/org"))
    message_id = delivered_message(harness, owner)
    event_id = f"evt_{message_id}_delivered"
    answers = {
        (code, raw)
        for code, _, raw in [
            redeliver(harness, stranger, event_id),
            redeliver(harness, owner, f"evt_{'0' * 24}_delivered"),
            redeliver(harness, owner, "not-an-event"),
            redeliver(harness, owner, event_id.upper()),
        ]
    }
    assert answers == {(404, '{"detail":"Event not found"}')}
    assert redeliver(harness, owner, event_id)[0] == 202
    drain_webhook_queue(harness)


def test_attempts_show_target_status_duration_attempt_and_next_try(harness: Harness, receiver: WebhookReceiver) -> None:
    # Given an endpoint that answers 500 once, then 200
    merchant, failures = first_delivery_to(harness, receiver, "/flaky", 500)
    assert len(failures) == 1
    # When the merchant lists its failed deliveries
    code, page = deliveries(harness, merchant, status="failed")
    assert code == 200, page
    (failed,) = page["data"]["deliveries"]
    # Then the attempt says where, what came back, how long it took, and when the next try is
    assert (failed["type"], failed["target"], failed["http_status"], failed["attempt"]) == (
        "sms.queued",
        receiver.url("/flaky"),
        500,
        1,
    )
    assert failed["duration_ms"] >= 0 and failed["next_try_at"] > failed["attempted_at"]
    # And once a later attempt succeeds, it is listed too, but not among the failed ones
    queue = harness.stack.physical_id("WebhookDeliveriesQueue")
    boto3.client("sqs").change_message_visibility(
        QueueUrl=queue, ReceiptHandle=failures[0]["receiptHandle"], VisibilityTimeout=0
    )
    assert deliver_queued(harness) == []
    every = deliveries(harness, merchant)[1]["data"]["deliveries"]
    assert [(attempt["http_status"], attempt["attempt"], attempt["next_try_at"]) for attempt in every] == [
        (200, 2, None),
        (500, 1, failed["next_try_at"]),
    ]
    assert len(deliveries(harness, merchant, status="failed")[1]["data"]["deliveries"]) == 1
    # And pages of one walk every attempt once
    seen, cursor = [], None
    while True:
        page = deliveries(harness, merchant, limit="1", **({"cursor": cursor} if cursor else {}))[1]["data"]
        seen.extend((attempt["attempted_at"], attempt["attempt"]) for attempt in page["deliveries"])
        cursor = page["cursor"]
        if cursor is None:
            break
    assert len(seen) == len(every)


def test_a_reader_never_skips_an_event_that_concurrent_writers_log_later(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given writers that stall between reading the latest position and writing theirs, so their
    # writes interleave every way, and a reader polling the log as they go
    org_id = harness.new_merchant().org_id
    log = harness.repository().events
    reading = EventLog._latest

    def slow_latest(self: EventLog, org: str) -> int:
        latest = reading(self, org)
        time.sleep(0.002)
        return latest

    monkeypatch.setattr(EventLog, "_latest", slow_latest)
    writers, each = 4, 12
    done = threading.Event()
    seen: list[int] = []

    def write(writer: int) -> None:
        for index in range(each):
            event_id = f"evt_{writer:012d}{index:012d}_queued"
            log.record([(org_id, event_id, "sms.queued", f"{writer:024d}", "{}")], datetime.now(UTC))

    def read() -> None:
        after = 0
        while True:
            finished = done.is_set()
            events, _ = log.after(org_id, after, 100)
            seen.extend(event.position for event in events)
            after = max([after, *(event.position for event in events)])
            if finished and not events:
                return

    threads = [threading.Thread(target=write, args=(writer,)) for writer in range(writers)]
    reader = threading.Thread(target=read)
    reader.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done.set()
    reader.join(timeout=60)
    # Then the reader saw every event exactly once, in order: no position ever appeared behind
    # one it had already passed
    assert seen == list(range(1, writers * each + 1))
