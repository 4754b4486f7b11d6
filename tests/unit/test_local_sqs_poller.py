"""The SQS poller: Lambda's records, and Lambda's deletes, on an in-process moto queue."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local.infrastructure import FunctionSpec
from local.lambda_runtime import LocalFunction
from local.moto_server import moto_environment
from local.sqs_poller import SqsEventSource, SqsPoller, sqs_record


@pytest.fixture
def sqs() -> Iterator[Any]:
    with moto_environment(), mock_aws():
        yield boto3.client("sqs")


class Recorder:
    """A stand-in consumer: remembers each batch and answers what the test says."""

    def __init__(self, answer: Any = None, raises: bool = False) -> None:
        self.batches: list[list[dict[str, Any]]] = []
        self.answer = answer
        self.raises = raises

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        self.batches.append(event["Records"])
        if self.raises:
            raise RuntimeError("consumer failed")
        return self.answer(event["Records"]) if callable(self.answer) else self.answer


def _poller(
    sqs: Any, queue_url: str, handler: Recorder, session: boto3.Session | None = None, **source: Any
) -> SqsPoller:
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    spec = FunctionSpec(
        logical_id="Consumer",
        name="Consumer",
        arn="arn:aws:lambda:us-east-1:123456789012:function:Consumer",
        code_dir=Path("."),
        handler="app.lambda_handler",
        timeout_seconds=30,
        memory_mb=128,
        environment={},
        events=(),
    )
    return SqsPoller(
        SqsEventSource(queue_url=queue_url, queue_arn=arn, **source), LocalFunction(spec, handler), session
    )


def _visible(sqs: Any, queue_url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def test_records_have_lambdas_shape(sqs: Any) -> None:
    # Given a message with a string attribute on a queue
    url = sqs.create_queue(QueueName="jobs")["QueueUrl"]
    sqs.send_message(
        QueueUrl=url,
        MessageBody='{"job": 1}',
        MessageAttributes={"kind": {"DataType": "String", "StringValue": "x"}},
    )
    recorder = Recorder()

    # When the poller delivers it
    _poller(sqs, url, recorder).poll_once()

    # Then the function saw exactly one record in Lambda's SQS shape
    (record,) = recorder.batches[0]
    assert record["body"] == '{"job": 1}'
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == "arn:aws:sqs:us-east-1:123456789012:jobs"
    assert record["awsRegion"] == "us-east-1"
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert {"SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp"} <= set(record["attributes"])
    assert record["messageAttributes"]["kind"] == {
        "stringValue": "x",
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "String",
    }
    assert len(record["md5OfBody"]) == 32
    assert record["messageId"] and record["receiptHandle"]


def test_binary_attributes_are_base64() -> None:
    message = {
        "MessageId": "m",
        "ReceiptHandle": "h",
        "Body": "b",
        "MD5OfBody": "0" * 32,
        "Attributes": {},
        "MessageAttributes": {"raw": {"DataType": "Binary", "BinaryValue": b"\x00\x01"}},
    }
    record = sqs_record(message, "arn:aws:sqs:us-east-1:123456789012:q", "us-east-1")
    assert record["messageAttributes"]["raw"]["binaryValue"] == "AAE="


def test_only_reported_failures_stay_on_the_queue(sqs: Any) -> None:
    # Given three messages and a consumer that reports the second one failed
    url = sqs.create_queue(QueueName="jobs", Attributes={"VisibilityTimeout": "0"})["QueueUrl"]
    for number in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=str(number))

    def report_second(records: list[dict[str, Any]]) -> dict[str, Any]:
        return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in records if r["body"] == "1"]}

    recorder = Recorder(answer=report_second)
    poller = _poller(sqs, url, recorder, batch_size=10, reports_failures=True)

    # When the poller processes the batch
    poller.poll_once()

    # Then only the failed message is left, and it comes back on the next poll
    assert _visible(sqs, url) == 1
    poller.poll_once()
    assert [record["body"] for record in recorder.batches[1]] == ["1"]
    assert recorder.batches[1][0]["attributes"]["ApproximateReceiveCount"] == "2"


def test_a_failing_function_deletes_nothing_and_moto_redrives(sqs: Any) -> None:
    # Given a queue redriving to a dead-letter queue after 2 receives, and a consumer that always fails
    dead = sqs.create_queue(QueueName="jobs-dlq")["QueueUrl"]
    dead_arn = sqs.get_queue_attributes(QueueUrl=dead, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    url = sqs.create_queue(
        QueueName="jobs",
        Attributes={
            "VisibilityTimeout": "0",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dead_arn, "maxReceiveCount": 2}),
        },
    )["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="poison")
    recorder = Recorder(raises=True)
    poller = _poller(sqs, url, recorder, reports_failures=True)

    # When the poller keeps trying
    poller.poll_once()
    assert _visible(sqs, url) == 1
    for _ in range(3):
        poller.poll_once()

    # Then it was tried twice, then moved to the dead-letter queue, never deleted
    assert len(recorder.batches) == 2
    assert _visible(sqs, url) == 0
    assert _visible(sqs, dead) == 1


def test_without_report_batch_item_failures_the_answer_is_ignored(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="jobs")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="x")
    recorder = Recorder(answer=lambda records: {"batchItemFailures": [{"itemIdentifier": records[0]["messageId"]}]})
    _poller(sqs, url, recorder, reports_failures=False).poll_once()
    assert _visible(sqs, url) == 0


def test_filtered_out_messages_are_deleted_unprocessed(sqs: Any) -> None:
    # Given a filter on the JSON body
    url = sqs.create_queue(QueueName="jobs")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody='{"kind": "keep"}')
    sqs.send_message(QueueUrl=url, MessageBody='{"kind": "drop"}')
    recorder = Recorder()
    poller = _poller(sqs, url, recorder, filters=[{"body": {"kind": ["keep"]}}])

    # When both are polled
    while _visible(sqs, url):
        poller.poll_once()

    # Then only the matching one reached the function, and neither is left
    assert [record["body"] for batch in recorder.batches for record in batch] == ['{"kind": "keep"}']


def test_a_batch_size_over_ten_gathers_messages_for_the_batching_window(sqs: Any) -> None:
    # Given 250 messages and an event source of BatchSize 100 with a batching window
    url = sqs.create_queue(QueueName="receipts")["QueueUrl"]
    for start in range(0, 250, 10):
        entries = [{"Id": str(n), "MessageBody": str(start + n)} for n in range(10)]
        sqs.send_message_batch(QueueUrl=url, Entries=entries)
    recorder = Recorder(answer={"batchItemFailures": []})
    poller = _poller(sqs, url, recorder, batch_size=100, batching_window_seconds=0.2, reports_failures=True)

    # When the poller polls three times
    received = [poller.poll_once() for _ in range(3)]

    # Then the function got full batches of 100, then the 50 left once the window closed
    assert received == [100, 100, 50]
    assert [len(batch) for batch in recorder.batches] == [100, 100, 50]
    assert sorted(int(record["body"]) for batch in recorder.batches for record in batch) == list(range(250))
    assert _visible(sqs, url) == 0


def test_drain_deletes_what_succeeded_and_leaves_reported_failures_for_later(sqs: Any) -> None:
    # Given seven messages, batches of 5, and a consumer that reports "3" failed
    url = sqs.create_queue(QueueName="jobs")["QueueUrl"]
    for number in range(7):
        sqs.send_message(QueueUrl=url, MessageBody=str(number))

    def report_three(records: list[dict[str, Any]]) -> dict[str, Any]:
        return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in records if r["body"] == "3"]}

    recorder = Recorder(answer=report_three)
    poller = _poller(sqs, url, recorder, batch_size=5, reports_failures=True)

    # When the queue is drained
    outcomes = poller.drain()

    # Then every message was delivered once, in full batches then the rest
    assert [len(batch) for batch in recorder.batches] == [5, 2]
    assert [[r["body"] for r in outcome.records] for outcome in outcomes] == [["0", "1", "2", "3", "4"], ["5", "6"]]
    # And only "3" is left, in flight until the visibility timeout (the drain did not retry it)
    (failed,) = [record for outcome in outcomes for record in outcome.records if record["messageId"] in outcome.failed]
    assert failed["body"] == "3"
    assert [outcome.function for outcome in outcomes] == ["Consumer", "Consumer"]
    assert _visible(sqs, url) == 1
    assert poller.drain() == []


def test_drain_fills_each_batch_until_a_receive_comes_back_empty(sqs: Any) -> None:
    # Given seven messages and batches of 5, with ReceiveMessage counted
    url = sqs.create_queue(QueueName="jobs")["QueueUrl"]
    for number in range(7):
        sqs.send_message(QueueUrl=url, MessageBody=str(number))
    receives: list[int] = []
    session = boto3.Session()
    session.events.register(
        "before-parameter-build.sqs.ReceiveMessage", lambda params, **_: receives.append(params["MaxNumberOfMessages"])
    )
    poller = _poller(sqs, url, Recorder(), session, batch_size=5)

    # When the queue is drained
    poller.drain()

    # Then the partial batch asked once more before it was delivered, and the drain once at the end:
    # the pattern `make bench` counts (Lambda, with no batching window, would not ask the third time)
    assert receives == [5, 5, 3, 5]


def test_workers_run_batches_side_by_side_up_to_the_functions_environments(sqs: Any) -> None:
    # Given six messages, a consumer that takes a while per batch, and three polling workers
    import threading
    import time

    from local.lambda_runtime import _Environment

    url = sqs.create_queue(QueueName="wide")["QueueUrl"]
    for number in range(6):
        sqs.send_message(QueueUrl=url, MessageBody=str(number))
    running, most, seen = 0, 0, []
    guard = threading.Lock()

    def handler(event: dict[str, Any], context: Any) -> None:
        nonlocal running, most
        with guard:
            running += 1
            most = max(most, running)
            seen.extend(record["body"] for record in event["Records"])
        time.sleep(0.3)
        with guard:
            running -= 1

    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    spec = FunctionSpec(
        "Wide", "Wide", "arn:aws:lambda:us-east-1:123456789012:function:Wide", Path("."), "app.h", 30, 128, {}, ()
    )
    function = LocalFunction(spec, handler, concurrency=3, cold_start=lambda number: _Environment(handler, None))
    poller = SqsPoller(SqsEventSource(queue_url=url, queue_arn=arn, batch_size=2), function, workers=3)

    # When they poll for a while
    poller.start()
    deadline = time.monotonic() + 10
    while len(seen) < 6 and time.monotonic() < deadline:
        time.sleep(0.05)
    poller.stop()

    # Then batches overlapped, three at most, and every message was delivered
    assert sorted(seen) == [str(number) for number in range(6)]
    assert most > 1
    assert function.environments <= 3
