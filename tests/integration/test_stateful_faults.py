"""Faults on every write path, on moto: throttling that clears, transaction conflicts, writes that
keep failing, a carrier that errs, stalls or answers slowly (over HTTP to a loopback fake),
webhook endpoints that fail until the dead-letter queue, and the replay from there.

What must hold: retries absorb what clears (nothing lost, nothing done twice); what does not
clear fails loudly and only where it happened (an SQS consumer reports just that record, an API
answers 5xx only for the outage, never 4xx-worthy input); dead-letter queues receive only jobs
that used up their receives, each with everything needed to replay it; a replay finishes the
work once.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from botocore.retries.standard import ExponentialBackoff

from lisoloo import dependencies
from lisoloo.carriers.sandbox import SandboxCarrier
from lisoloo.entities import RecipientKey
from lisoloo.settings import get_settings
from lisoloo.sweeping import Sweeper
from tests.conftest import lambda_context, load_event
from tests.integration.conftest import Harness, Merchant, load_function
from tests.reliability.faults import (
    CallFaults,
    WireFaults,
    client_error,
    mentioning,
    throttled,
    transaction_conflict,
)
from tests.reliability.loopback import Answer, LoopbackServer, loopback_server

NUMBER, NUMBER_2 = "+254712345678", "+254712345679"
WRITES = ("PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem")


@pytest.fixture
def wire(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> Iterator[WireFaults]:
    # The SDK's own backoff (standard mode: up to 2^n seconds) is the SDK's business; shortened
    # here so the retries, which are what is tested, take milliseconds.
    monkeypatch.setattr(ExponentialBackoff, "delay_amount", lambda self, context: 0.01)
    faults = _wire_faults()
    faults.clear()
    yield faults
    faults.clear()


_WIRE: dict[int, WireFaults] = {}
_CALLS: dict[int, CallFaults] = {}


def _wire_faults() -> WireFaults:
    client = dependencies.repository().client
    if id(client) not in _WIRE:
        _WIRE[id(client)] = WireFaults(client)
    faults = _WIRE[id(client)]
    faults.seen.clear()
    faults.answered.clear()
    return faults


@pytest.fixture
def calls(harness: Harness) -> Iterator[CallFaults]:
    client = dependencies.repository().client
    if id(client) not in _CALLS:
        _CALLS[id(client)] = CallFaults(client)
    faults = _CALLS[id(client)]
    faults.disarm()
    yield faults
    faults.disarm()


def reference(merchant: Merchant, message_id: str, index: int = 0) -> str:
    return RecipientKey(merchant.org_id, message_id, index).reference


def status_of(harness: Harness, merchant: Merchant, message_id: str) -> dict[str, Any]:
    code, body = harness.status(merchant, message_id)
    assert code == 200, body
    data: dict[str, Any] = body["data"]
    return data


def throttle_every_write_twice(wire: WireFaults) -> None:
    for operation in WRITES:
        wire.fail(operation, 2, lambda params: throttled())


# --- throttling that clears: the SDK's retries absorb it -----------------------------------------


def test_throttled_writes_on_send_dispatch_and_receipts_are_retried_and_done_once(
    harness: Harness, wire: WireFaults
) -> None:
    merchant = harness.new_merchant()
    throttle_every_write_twice(wire)
    code, body = harness.send(merchant, {"to": [NUMBER, NUMBER_2], "message": "busy table"})
    assert code == 200, body
    message_id = body["data"]["message_id"]
    throttle_every_write_twice(wire)
    assert harness.dispatch_queued() == {"batchItemFailures": []}
    throttle_every_write_twice(wire)
    assert harness.receipt(reference(merchant, message_id, 0), "delivered") == (
        200,
        {"status_code": 200, "data": {"received": 1, "applied": 1}},
    )
    # Every write path was throttled and retried...
    assert {operation for operation in WRITES if wire.answered[operation]} >= {
        "PutItem",
        "UpdateItem",
        "TransactWriteItems",
        "BatchWriteItem",
    }
    # ...and did its work exactly once
    data = status_of(harness, merchant, message_id)
    assert (data["delivered"], data["failed"], data["pending"], data["status"]) == (1, 0, 1, "sent")
    assert sorted(s.to for s in harness.carrier.submissions) == [NUMBER, NUMBER_2]


def test_throttled_writes_in_the_sweep_are_retried(harness: Harness, wire: WireFaults) -> None:
    harness.wipe_table()
    harness.carrier_token = _register(harness)
    merchant = harness.new_merchant()
    at = datetime.now(UTC) + timedelta(hours=1)
    _, body = harness.send(merchant, {"to": [NUMBER], "message": "x", "scheduled_dates": [at.isoformat()]})
    throttle_every_write_twice(wire)
    summary = sweeper(harness).sweep(at + timedelta(seconds=1), lambda: 900.0)
    assert summary.released == 1
    assert wire.answered["UpdateItem"] >= 1
    assert status_of(harness, merchant, body["data"]["message_id"])["status"] == "pending"
    assert len(harness.queued_jobs()) == 1


# --- transaction conflicts: storage retries them with backoff ------------------------------------


def test_a_receipt_whose_transaction_conflicts_is_retried_and_counted_once(harness: Harness, wire: WireFaults) -> None:
    merchant = harness.new_merchant()
    _, body = harness.send(merchant, {"to": [NUMBER], "message": "x"})
    message_id = body["data"]["message_id"]
    harness.dispatch_queued()
    wire.fail("TransactWriteItems", 3, lambda params: transaction_conflict(len(params["TransactItems"])))
    code, reply = harness.receipt(reference(merchant, message_id), "delivered")
    assert (code, reply["data"]["applied"]) == (200, 1)
    assert (wire.answered["TransactWriteItems"], wire.seen["TransactWriteItems"]) == (3, 4)
    data = status_of(harness, merchant, message_id)
    assert (data["status"], data["delivered"], data["pending"]) == ("delivered", 1, 0)


def test_a_deadline_whose_transaction_conflicts_is_retried(harness: Harness, wire: WireFaults) -> None:
    harness.wipe_table()
    harness.carrier_token = _register(harness)
    merchant = harness.new_merchant()
    _, body = harness.send(merchant, {"to": [NUMBER, "+254712340004"], "message": "x"})
    harness.dispatch_queued()
    wire.fail("TransactWriteItems", 2, lambda params: transaction_conflict(len(params["TransactItems"])))
    summary = sweeper(harness).sweep(datetime.now(UTC) + timedelta(hours=25), lambda: 900.0)
    assert summary.timed_out == 2
    data = status_of(harness, merchant, body["data"]["message_id"])
    assert (data["status"], data["failed"], data["pending"], data["error_code"]) == ("failed", 2, 0, 1503)


def test_a_dispatch_whose_transitions_conflict_is_retried_and_counted_once(harness: Harness, wire: WireFaults) -> None:
    merchant = harness.new_merchant()
    # Rejected at submit and an invalid number: dispatch's own transitions (a transaction each)
    _, body = harness.send(merchant, {"to": [NUMBER, "+254712340002", "+254000000000"], "message": "x"})
    wire.fail("TransactWriteItems", 2, lambda params: transaction_conflict(len(params["TransactItems"])))
    assert harness.dispatch_queued() == {"batchItemFailures": []}
    assert wire.answered["TransactWriteItems"] == 2
    data = status_of(harness, merchant, body["data"]["message_id"])
    assert (data["failed"], data["pending"], data["total_recipients"]) == (2, 1, 3)
    assert [s.to for s in harness.carrier.submissions] == [NUMBER, "+254712340002"]


@pytest.mark.parametrize("action", ["issue", "revoke", "rotate"])
def test_key_changes_whose_transaction_conflicts_are_retried_not_misreported(
    harness: Harness, wire: WireFaults, action: str
) -> None:
    """A revocation that silently lost a conflict would leave a key working that the operator was
    told is revoked (lisoloo-admin prints what ``revoke_app_key`` returns); an issue that lost one
    would say the organization does not exist."""
    from lisoloo_admin.provisioning import issue_key
    from tests.integration.test_stateful_isolation import authorize, effect

    repository = dependencies.repository()  # the functions' client, which the wire faults answer
    merchant = harness.new_merchant()
    first = issue_key(repository, merchant.org_id)
    now = datetime.now(UTC)
    wire.fail("TransactWriteItems", 1, lambda params: transaction_conflict(len(params["TransactItems"])))
    if action == "issue":
        assert effect(authorize(issue_key(repository, merchant.org_id).app_key)) == "Allow"
    else:
        # rotate: the old key keeps a grace period, then stops; revoke: it stops at once
        at = now + timedelta(hours=1) if action == "rotate" else now - timedelta(seconds=1)
        revoked = repository.organizations.revoke_app_key(merchant.org_id, first.key_id, at)
        assert revoked is not None and revoked.revoked_at is not None
        assert abs(revoked.revoked_at - at) < timedelta(seconds=1)
        assert effect(authorize(first.app_key)) == ("Allow" if action == "rotate" else "Deny")
    assert wire.answered["TransactWriteItems"] == 1


def test_a_recurrence_survives_a_conflict_when_its_next_occurrence_is_created(
    harness: Harness, wire: WireFaults
) -> None:
    harness.wipe_table()
    harness.carrier_token = _register(harness)
    merchant = harness.new_merchant()
    _, body = harness.send(
        merchant,
        {"to": [NUMBER], "message": "weekly", "recurring_schedule": {"cron": "0 9 * * MON", "max_occurrences": 3}},
    )
    first_at = datetime.fromisoformat(body["data"]["occurrences"][0]["scheduled_for"])
    wire.fail("TransactWriteItems", 1, lambda params: transaction_conflict(len(params["TransactItems"])))
    assert sweeper(harness).sweep(first_at + timedelta(seconds=1), lambda: 900.0).released == 1
    # The conflict was transient: the recurrence must still have its next occurrence.
    schedule = harness.repository().schedules.get(merchant.org_id, body["data"]["schedule_id"])
    assert schedule is not None and len(schedule.occurrence_ids) == 2


def test_a_recurrence_survives_a_sweep_that_dies_after_releasing_an_occurrence(
    harness: Harness, calls: CallFaults
) -> None:
    harness.wipe_table()
    harness.carrier_token = _register(harness)
    merchant = harness.new_merchant()
    _, body = harness.send(
        merchant,
        {"to": [NUMBER], "message": "weekly", "recurring_schedule": {"cron": "0 9 * * MON", "max_occurrences": 3}},
    )
    first_at = datetime.fromisoformat(body["data"]["occurrences"][0]["scheduled_for"])
    # Given a sweep that dies right after marking the occurrence released (before anything else)
    released = {"done": False}

    def after_release(params: dict[str, Any]) -> bool:
        if released["done"]:
            return True
        released["done"] = "released_at" in json.dumps(params, default=str)
        return False

    calls.arm(0, where=after_release)
    with pytest.raises(Exception, match="injected"):
        sweeper(harness).sweep(first_at + timedelta(seconds=1), lambda: 900.0)
    calls.disarm()
    # When the next sweeps run after the lease ran out
    sweeper(harness).sweep(first_at + timedelta(minutes=5), lambda: 900.0)
    sweeper(harness).sweep(first_at + timedelta(minutes=15), lambda: 900.0)
    # Then the occurrence went out once and the recurrence carries on
    jobs = harness.queued_jobs()
    assert len({json.loads(job["Body"])["message_id"] for job in jobs}) == 1
    schedule = harness.repository().schedules.get(merchant.org_id, body["data"]["schedule_id"])
    assert schedule is not None and len(schedule.occurrence_ids) == 2


# --- writes that keep failing ---------------------------------------------------------------------


def test_a_dispatch_job_whose_writes_keep_failing_fails_alone_then_dead_letters_with_its_context(
    harness: Harness, calls: CallFaults
) -> None:
    merchant = harness.new_merchant()
    _, bad = harness.send(merchant, {"to": [NUMBER], "message": "unlucky"})
    _, good = harness.send(merchant, {"to": [NUMBER_2], "message": "lucky"})
    bad_id, good_id = bad["data"]["message_id"], good["data"]["message_id"]
    # Given every write for one message failing, as when its partition is throttled for good
    calls.arm(0, where=mentioning(bad_id), error=client_error("ProvisionedThroughputExceededException"))
    # When SQS feeds the queue to dispatch (Lambda's event source mapping), receive after receive
    sqs = boto3.client("sqs")
    queue, dead_letters = harness.queue_url, harness.stack.physical_id("DispatchDeadLetterQueue")
    for _ in range(8):
        messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages", [])
        if not messages:
            break
        failed = _dispatch_records(messages)
        assert {m["MessageId"] for m in messages if _job(m)["message_id"] == bad_id} <= failed
        for message in messages:
            if message["MessageId"] not in failed:
                sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    calls.disarm()
    # Then the other message went out, once
    assert status_of(harness, merchant, good_id)["status"] == "sent"
    assert [s.to for s in harness.carrier.submissions] == [NUMBER_2]
    # And only the failing job sits in the dead-letter queue, with what a replay needs
    dead = sqs.receive_message(
        QueueUrl=dead_letters, MaxNumberOfMessages=10, AttributeNames=["All"], VisibilityTimeout=0
    )["Messages"]
    assert [_job(message) for message in dead] == [{"org_id": merchant.org_id, "message_id": bad_id, "chunk": 0}]
    assert int(dead[0]["Attributes"]["ApproximateReceiveCount"]) >= 1
    # When the operator looks, then replays it (docs/reliability.md: `lisoloo-admin replay-dlq`)
    looked = replay_dlq(harness, "dispatch", "--dry-run")
    assert [m["body"] for m in looked["messages"]] == [{"org_id": merchant.org_id, "message_id": bad_id, "chunk": 0}]
    assert looked["messages"][0]["receives"] >= 1 and looked["to"] == queue
    assert replay_dlq(harness, "dispatch")["count"] == 1
    assert replay_dlq(harness, "dispatch")["count"] == 0  # nothing left to move
    assert harness.dispatch_queued() == {"batchItemFailures": []}
    # Then the message goes out once, like any other
    assert status_of(harness, merchant, bad_id)["status"] == "sent"
    assert sorted(s.to for s in harness.carrier.submissions) == [NUMBER, NUMBER_2]


def test_a_receipt_whose_writes_keep_failing_stays_queued_and_is_applied_once_they_recover(
    harness: Harness, calls: CallFaults
) -> None:
    merchant = harness.new_merchant()
    _, body = harness.send(merchant, {"to": [NUMBER], "message": "x"})
    message_id = body["data"]["message_id"]
    harness.dispatch_queued()
    calls.arm(0, operations={"TransactWriteItems"}, error=client_error("ThrottlingException"))
    code, reply = harness.receipt(reference(merchant, message_id), "delivered")
    calls.disarm()
    # The carrier has its 2xx: the receipt is queued, not applied, and not lost...
    assert (code, reply["data"]["received"], reply["data"]["applied"]) == (200, 1, 0)
    assert status_of(harness, merchant, message_id)["delivered"] == 0
    # ...receipt-apply reported the job failed, so SQS gives it again: applied once
    assert harness.apply_queued_receipts().applied == 1
    assert harness.apply_queued_receipts().applied == 0
    assert harness.receipt(reference(merchant, message_id), "delivered")[1]["data"]["applied"] == 0
    assert status_of(harness, merchant, message_id)["delivered"] == 1


def test_a_receipt_job_that_keeps_failing_dead_letters_with_its_context_and_replays_once(
    harness: Harness, calls: CallFaults
) -> None:
    merchant = harness.new_merchant()
    _, bad = harness.send(merchant, {"to": [NUMBER], "message": "unlucky"})
    _, good = harness.send(merchant, {"to": [NUMBER_2], "message": "lucky"})
    bad_id, good_id = bad["data"]["message_id"], good["data"]["message_id"]
    harness.dispatch_queued()
    sqs = boto3.client("sqs")
    _drain(sqs, harness.stack.physical_id("ReceiptsDeadLetterQueue"))
    # Given every write for one message failing for good (its receipts cannot be applied)
    calls.arm(0, where=mentioning(bad_id), error=client_error("ProvisionedThroughputExceededException"))
    assert harness.receipt(reference(merchant, bad_id), "delivered")[0] == 200
    assert harness.receipt(reference(merchant, good_id), "delivered")[1]["data"]["applied"] == 1
    # When SQS hands the job to receipt-apply again and again, past the redrive policy
    for _ in range(8):
        harness.apply_queued_receipts()
    calls.disarm()
    # Then it sits in the dead-letter queue with what a replay needs, and nothing else does
    looked = replay_dlq(harness, "receipts", "--dry-run")
    assert [m["body"]["carrier"] for m in looked["messages"]] == ["sandbox"]
    assert [r["carrier_ref"] for r in looked["messages"][0]["body"]["receipts"]] == [reference(merchant, bad_id)]
    assert status_of(harness, merchant, bad_id)["delivered"] == 0
    # When it is replayed: applied once, like any other
    assert replay_dlq(harness, "receipts")["count"] == 1
    assert harness.apply_queued_receipts().applied == 1
    assert harness.apply_queued_receipts().applied == 0
    assert [status_of(harness, merchant, m)["delivered"] for m in (bad_id, good_id)] == [1, 1]


@pytest.mark.parametrize(
    ("operation", "function", "event"),
    [
        ("BatchWriteItem", "send", "send-single"),
        ("PutItem", "send", "send-single"),
        ("UpdateItem", "webhook_settings", "webhook-put"),
        ("UpdateItem", "webhook_settings", "webhook-rotate"),
    ],
)
def test_apis_whose_writes_keep_failing_answer_5xx_and_leave_nothing_half_done(
    harness: Harness, calls: CallFaults, operation: str, function: str, event: str
) -> None:
    merchant = harness.new_merchant()
    body = {"webhook_url": "https://127.0.0.1:9/h"} if event == "webhook-put" else None
    if event == "send-single":
        body = {"to": [NUMBER], "message": "x"}
    if event == "webhook-rotate":
        harness.api("webhook_settings", "webhook-put", merchant, body={"webhook_url": "https://127.0.0.1:9/h"})
    calls.arm(0, operations={operation}, error=client_error("ProvisionedThroughputExceededException"))
    code, reply, _ = harness.api(function, event, merchant, body=body)
    calls.disarm()
    assert code >= 500, reply
    assert set(reply) == {"detail"}
    assert harness.queued_jobs() == []  # no dispatch job for a message that was never stored


def test_a_send_whose_dispatch_jobs_cannot_be_queued_is_still_sent_once(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The queue is down after the message was stored: the reply must not invite a second send
    of what the sweep's release guard will send anyway."""
    harness.wipe_table()
    harness.carrier_token = _register(harness)
    merchant = harness.new_merchant()
    sqs_faults = CallFaults(dependencies.dispatch_queue().client, service="sqs")
    sqs_faults.arm(0, operations={"SendMessageBatch"}, error=client_error("AWS.SimpleQueueService.ServiceUnavailable"))
    body = {"to": [NUMBER], "message": "exactly once"}
    try:
        first = harness.api("send", "send-single", merchant, body=body, headers={"Idempotency-Key": "order-9"})
    finally:
        sqs_faults.disarm()
    # The merchant retries with the same key, as told to
    again = harness.api("send", "send-single", merchant, body=body, headers={"Idempotency-Key": "order-9"})
    # Then, whatever the replies, one message exists and the number gets one SMS
    sweeper(harness).sweep(datetime.now(UTC) + timedelta(minutes=6), lambda: 900.0)
    harness.dispatch_queued()
    assert again[0] == 200
    assert first[0] in (200, 503), first
    assert [s.to for s in harness.carrier.submissions] == [NUMBER]


# --- the carrier over HTTP: 5xx, timeouts, slow answers, garbage ----------------------------------


@pytest.fixture
def carrier_server() -> Iterator[LoopbackServer]:
    with loopback_server() as server:
        yield server


def sandbox_reply(request: dict[str, Any]) -> Answer:
    messages = json.loads(request["body"])["messages"]
    results = [{"reference": m["reference"], "outcome": "accepted", "carrier_ref": m["reference"]} for m in messages]
    return Answer(200, json.dumps({"results": results}).encode())


@pytest.mark.parametrize(
    "trouble",
    [
        pytest.param(Answer(503, b'{"error": "busy"}'), id="503"),
        pytest.param(Answer(500, b"<html>oops</html>"), id="500-html"),
        pytest.param(Answer(200, b'{"results": "garbled"'), id="garbled-200"),
        pytest.param(Answer(200, b"{}", delay=2.0), id="timeout"),
        pytest.param(Answer(302, b"", headers={"Location": "http://169.254.169.254/"}), id="redirect"),
        pytest.param(Answer(200, b'{"results": []}'), id="answer-without-our-references"),
        pytest.param(Answer(0, b""), id="connection-dropped"),
    ],
)
def test_carrier_trouble_is_a_silent_retry_then_delivery_once(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, carrier_server: LoopbackServer, trouble: Answer
) -> None:
    harness.wipe_table()
    harness.carrier_token = _register(harness)
    connector = SandboxCarrier(carrier_server.url, timeout_seconds=0.5)
    monkeypatch.setattr(load_function("dispatch"), "carrier_connector", lambda name: connector)
    merchant = harness.new_merchant()
    _, body = harness.send(merchant, {"to": [NUMBER], "message": "x"})
    message_id = body["data"]["message_id"]
    # Given the carrier in trouble on the first attempt
    carrier_server.script("/submit", [trouble])
    started = datetime.now(UTC)
    assert harness.dispatch_queued() == {"batchItemFailures": []}
    # Then the recipient waits for a retry, invisibly (still processing, no failure)
    data = status_of(harness, merchant, message_id)
    assert (data["status"], data["recipients"][0]["status"], data["failed"]) == ("processing", "processing", 0)
    # When the retry comes due and the carrier is well again
    carrier_server.script("/submit", [sandbox_reply])
    summary = Sweeper(
        repository=dependencies.repository(),
        queue=dependencies.dispatch_queue(),
        carrier_for=lambda name: connector,
        settings=get_settings(),
        receipts_waiting=dependencies.receipts_queue().holds_jobs,
    ).sweep(started + timedelta(hours=1, minutes=1), lambda: 900.0)
    assert summary.retried == 1
    # Then it is handed off, and the carrier saw it once per attempt
    assert status_of(harness, merchant, message_id)["recipients"][0]["status"] == "sent"
    submitted = [json.loads(r["body"])["messages"][0]["reference"] for r in carrier_server.requests("/submit")]
    assert submitted == [reference(merchant, message_id)] * 2


def test_a_slow_carrier_within_the_timeout_is_simply_slow(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, carrier_server: LoopbackServer
) -> None:
    connector = SandboxCarrier(carrier_server.url, timeout_seconds=2.0)
    monkeypatch.setattr(load_function("dispatch"), "carrier_connector", lambda name: connector)
    merchant = harness.new_merchant()
    _, body = harness.send(merchant, {"to": [NUMBER], "message": "x"})
    carrier_server.script("/submit", [lambda request: Answer(**{**vars(sandbox_reply(request)), "delay": 0.3})])
    assert harness.dispatch_queued() == {"batchItemFailures": []}
    assert status_of(harness, merchant, body["data"]["message_id"])["status"] == "sent"
    assert len(carrier_server.requests("/submit")) == 1


# --- webhooks: failing endpoints until the dead-letter queue, then the replay ---------------------


def test_a_webhook_endpoint_that_keeps_failing_ends_in_the_dead_letter_queue_and_replays_once(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lisoloo.webhooks import delivering
    from lisoloo.webhooks.delivery import post_event

    monkeypatch.setattr(delivering, "post_event", lambda target, headers, body: post_event(target, headers, body, 0.3))
    sqs = boto3.client("sqs")
    queue = harness.stack.physical_id("WebhookDeliveriesQueue")
    dead_letters = harness.stack.physical_id("WebhookDeliveriesDeadLetterQueue")
    _drain(sqs, queue)
    _drain(sqs, dead_letters)
    max_receives = json.loads(
        sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["RedrivePolicy"])["Attributes"]["RedrivePolicy"]
    )["maxReceiveCount"]
    with loopback_server() as endpoint:
        merchant = harness.new_merchant()
        harness.api("webhook_settings", "webhook-put", merchant, body={"webhook_url": endpoint.url + "/hook"})
        troubles = [Answer(500), Answer(200, delay=1.0), Answer(302, headers={"Location": "http://10.0.0.1/"})]
        endpoint.script("/hook", troubles + [Answer(503)] * 20)
        _, body = harness.send(merchant, {"to": [NUMBER], "message": "x"})
        fan_out(harness, body["data"]["message_id"])
        # When the delivery function takes the job again each time SQS hands it back
        attempts = 0
        while attempts < int(max_receives) + 2:
            messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, AttributeNames=["All"]).get(
                "Messages", []
            )
            if not messages:
                break
            attempts += 1
            for message in messages:
                response = _deliver(message)
                assert response == {"batchItemFailures": [{"itemIdentifier": message["MessageId"]}]}
                # The function hid it for its backoff; time passes.
                sqs.change_message_visibility(
                    QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                )
        # Then after its last receive the job sits in the dead-letter queue, with all a replay needs
        dead = sqs.receive_message(QueueUrl=dead_letters, MaxNumberOfMessages=10)["Messages"]
        assert len(dead) == 1
        job = json.loads(dead[0]["Body"])
        assert set(job) == {"org_id", "message_id", "event_id", "event_type", "url", "body"}
        assert (job["event_type"], job["url"]) == ("sms.queued", endpoint.url + "/hook")
        tries = endpoint.requests("/hook")
        assert len(tries) == int(max_receives)
        assert {request["headers"]["webhook-id"] for request in tries} == {job["event_id"]}
        # When the endpoint is healthy and the dead-letter queue is redriven
        endpoint.script("/hook", [])
        sqs.change_message_visibility(
            QueueUrl=dead_letters, ReceiptHandle=dead[0]["ReceiptHandle"], VisibilityTimeout=0
        )
        replayed = replay_dlq(harness, "webhook-deliveries")
        assert [m["body"]["event_id"] for m in replayed["messages"]] == [job["event_id"]]
        (message,) = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
        assert _deliver(message) == {"batchItemFailures": []}
        # Then it arrives once more, under the same webhook-id, with the same bytes
        last = endpoint.requests("/hook")[-1]
        assert (last["headers"]["webhook-id"], last["body"]) == (job["event_id"], job["body"])


def test_a_slow_webhook_endpoint_within_the_timeout_gets_each_event_once(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lisoloo.webhooks import delivering
    from lisoloo.webhooks.delivery import post_event

    monkeypatch.setattr(delivering, "post_event", lambda target, headers, body: post_event(target, headers, body, 2.0))
    sqs = boto3.client("sqs")
    queue = harness.stack.physical_id("WebhookDeliveriesQueue")
    _drain(sqs, queue)
    with loopback_server() as endpoint:
        merchant = harness.new_merchant()
        harness.api("webhook_settings", "webhook-put", merchant, body={"webhook_url": endpoint.url + "/hook"})
        endpoint.default = Answer(204, delay=0.4)
        _, body = harness.send(merchant, {"to": [NUMBER], "message": "x"})
        fan_out(harness, body["data"]["message_id"])
        (message,) = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
        assert _deliver(message) == {"batchItemFailures": []}
        assert len(endpoint.requests("/hook")) == 1
        assert json.loads(endpoint.requests("/hook")[0]["body"])["type"] == "sms.queued"


def test_a_fan_out_that_cannot_queue_deliveries_reports_the_record_for_retry(harness: Harness) -> None:
    merchant = harness.new_merchant()
    harness.api("webhook_settings", "webhook-put", merchant, body={"webhook_url": "http://127.0.0.1:9/hook"})
    _, body = harness.send(merchant, {"to": [NUMBER], "message": "x"})
    faults = CallFaults(dependencies.webhook_queue().client, service="sqs")
    faults.arm(0, operations={"SendMessageBatch"}, error=client_error("ServiceUnavailable"))
    try:
        records = stream_records(harness, body["data"]["message_id"])
        try:
            response = load_function("webhooks").lambda_handler({"Records": records}, lambda_context())
        except BatchProcessingError:
            response = {"batchItemFailures": [{"itemIdentifier": r["dynamodb"]["SequenceNumber"]} for r in records]}
    finally:
        faults.disarm()
    # Only the message item's record had deliveries to queue: it alone comes back, for a retry.
    message_records = [r for r in records if r["dynamodb"].get("NewImage", {}).get("kind") == {"S": "message"}]
    assert len(message_records) == 1
    assert response["batchItemFailures"] == [{"itemIdentifier": message_records[0]["dynamodb"]["SequenceNumber"]}]


# --- helpers ------------------------------------------------------------------------------------


def _register(harness: Harness) -> str:
    from lisoloo_admin.provisioning import register_carrier

    return register_carrier(harness.repository(), "sandbox")


def sweeper(harness: Harness) -> Sweeper:
    return Sweeper(
        repository=dependencies.repository(),
        queue=dependencies.dispatch_queue(),
        carrier_for=lambda name: harness.carrier,
        settings=get_settings(),
        receipts_waiting=dependencies.receipts_queue().holds_jobs,
    )


def _job(message: dict[str, Any]) -> dict[str, Any]:
    job: dict[str, Any] = json.loads(message["Body"])
    return job


def _dispatch_records(messages: list[dict[str, Any]]) -> set[str]:
    template = load_event("dispatch-job")["Records"][0]
    records = [{**template, "messageId": m["MessageId"], "body": m["Body"]} for m in messages]
    try:
        response = load_function("dispatch").lambda_handler({"Records": records}, lambda_context())
    except BatchProcessingError:
        return {m["MessageId"] for m in messages}
    return {failure["itemIdentifier"] for failure in response["batchItemFailures"]}


def _deliver(message: dict[str, Any]) -> dict[str, Any]:
    template = load_event("dispatch-job")["Records"][0]
    record = {
        **template,
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": {**template["attributes"], **message.get("Attributes", {})},
    }
    try:
        response: dict[str, Any] = load_function("webhook_delivery").lambda_handler(
            {"Records": [record]}, lambda_context()
        )
    except BatchProcessingError:
        return {"batchItemFailures": [{"itemIdentifier": message["MessageId"]}]}
    return response


def replay_dlq(harness: Harness, queue: str, *options: str) -> dict[str, Any]:
    """The documented replay command, as the operator runs it against the stack."""
    from lisoloo_admin.cli import run

    result: dict[str, Any] = run(["--stack", harness.stack.stack_name, "replay-dlq", queue, *options], environ={})
    return result


def _drain(sqs: Any, url: str) -> None:
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages"):
        for message in messages:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def stream_records(harness: Harness, message_id: str) -> list[dict[str, Any]]:
    from tests.integration.test_webhooks import stream_records as records_of

    return records_of(harness, message_id)


def fan_out(harness: Harness, message_id: str) -> None:
    response = load_function("webhooks").lambda_handler(
        {"Records": stream_records(harness, message_id)}, lambda_context()
    )
    assert response == {"batchItemFailures": []}


def test_receipts_queued_across_the_deadline_win_even_when_receipt_apply_keeps_failing_a_while(
    harness: Harness, calls: CallFaults
) -> None:
    # Given a 3-recipient message handed off, whose receipts we acknowledged before the deadline
    # while receipt-apply could not write (throttled past its retries): they sit queued
    merchant = harness.new_merchant()
    _, body = harness.send(merchant, {"to": [NUMBER, NUMBER_2, "+254712340004"], "message": "x"})
    message_id = body["data"]["message_id"]
    harness.dispatch_queued()
    throttled = {"operations": {"TransactWriteItems"}, "error": client_error("ThrottlingException")}
    with calls.armed(0, **throttled):
        for index, status in ((0, "delivered"), (1, "undelivered")):
            assert harness.receipt(reference(merchant, message_id, index), status)[0] == 200
    # When the deadline passes, and passes again after receipt-apply failed once more
    deadline = datetime.now(UTC) + timedelta(hours=24, minutes=1)
    assert sweeper(harness).sweep(deadline, lambda: 900.0).timed_out == 0
    with calls.armed(0, **throttled):
        assert harness.apply_queued_receipts().applied == 0
    assert sweeper(harness).sweep(deadline + timedelta(minutes=10), lambda: 900.0).timed_out == 0
    assert status_of(harness, merchant, message_id)["status"] == "sent"
    # Then once the writes recover, the queued receipts decide their recipients, and only the
    # one we never heard about fails with 1503, once
    assert harness.apply_queued_receipts().applied == 2
    for minutes in (11, 12):
        sweeper(harness).sweep(deadline + timedelta(minutes=minutes), lambda: 900.0)
    data = status_of(harness, merchant, message_id)
    assert [(r["status"], r["error_code"]) for r in data["recipients"]] == [
        ("delivered", None),
        ("undelivered", 1402),
        ("failed", 1503),
    ]
    assert (data["delivered"], data["failed"], data["pending"]) == (1, 2, 0)
