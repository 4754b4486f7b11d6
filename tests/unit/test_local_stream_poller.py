"""The DynamoDB Streams poller: Lambda's records and checkpointing, on an in-process moto table."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local.infrastructure import FunctionSpec
from local.lambda_runtime import LocalFunction
from local.moto_server import moto_environment
from local.stream_poller import StreamEventSource, StreamPoller, stream_record


@pytest.fixture
def table() -> Iterator[tuple[Any, str]]:
    with moto_environment(), mock_aws():
        dynamodb = boto3.client("dynamodb")
        description = dynamodb.create_table(
            TableName="items",
            KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )["TableDescription"]
        yield dynamodb, description["LatestStreamArn"]


class Recorder:
    def __init__(self, answer: Any = None, raises: bool = False) -> None:
        self.batches: list[list[dict[str, Any]]] = []
        self.answer = answer
        self.raises = raises

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        self.batches.append(event["Records"])
        if self.raises:
            raise RuntimeError("consumer failed")
        return self.answer(event["Records"]) if callable(self.answer) else self.answer


def _poller(stream_arn: str, recorder: Recorder, **source: Any) -> StreamPoller:
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
    poller = StreamPoller(
        StreamEventSource(stream_arn=stream_arn, **source), LocalFunction(spec, recorder), retry_delay=0
    )
    poller.refresh_shards(first=True)
    return poller


def _put(dynamodb: Any, key: str, **attributes: str) -> None:
    item = {"PK": {"S": key}, **{name: {"S": value} for name, value in attributes.items()}}
    dynamodb.put_item(TableName="items", Item=item)


def test_records_have_lambdas_shape_and_latest_skips_older_writes(table: tuple[Any, str]) -> None:
    # Given a write before the poller starts at LATEST, then an insert and an update after
    dynamodb, stream_arn = table
    _put(dynamodb, "old")
    recorder = Recorder()
    poller = _poller(stream_arn, recorder, reports_failures=True)
    _put(dynamodb, "a", status="pending")
    _put(dynamodb, "a", status="sent")

    # When the poller reads the stream
    poller.poll_once()

    # Then the function saw the two new records, in order, in Lambda's DynamoDB shape
    inserted, modified = recorder.batches[0]
    assert [inserted["eventName"], modified["eventName"]] == ["INSERT", "MODIFY"]
    assert inserted["eventSource"] == "aws:dynamodb"
    assert inserted["eventSourceARN"] == stream_arn
    assert inserted["awsRegion"] == "us-east-1"
    assert inserted["dynamodb"]["Keys"] == {"PK": {"S": "a"}}
    assert inserted["dynamodb"]["NewImage"]["status"] == {"S": "pending"}
    assert "OldImage" not in inserted["dynamodb"]
    assert modified["dynamodb"]["OldImage"]["status"] == {"S": "pending"}
    assert modified["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert isinstance(inserted["dynamodb"]["ApproximateCreationDateTime"], int)
    assert int(modified["dynamodb"]["SequenceNumber"]) > int(inserted["dynamodb"]["SequenceNumber"])


def test_partial_failure_retries_from_the_first_failed_record(table: tuple[Any, str]) -> None:
    # Given three writes and a consumer that fails the second once
    dynamodb, stream_arn = table
    failed_once: list[str] = []

    def fail_b_once(records: list[dict[str, Any]]) -> dict[str, Any]:
        failures = [
            {"itemIdentifier": r["dynamodb"]["SequenceNumber"]}
            for r in records
            if r["dynamodb"]["Keys"]["PK"]["S"] == "b" and not failed_once
        ]
        failed_once.extend(f["itemIdentifier"] for f in failures)
        return {"batchItemFailures": failures}

    recorder = Recorder(answer=fail_b_once)
    poller = _poller(stream_arn, recorder, reports_failures=True)
    for key in ("a", "b", "c"):
        _put(dynamodb, key)

    # When the poller runs twice
    poller.poll_once()
    poller.poll_once()

    # Then the retry started at b (a was checkpointed) and kept the order
    keys = [[r["dynamodb"]["Keys"]["PK"]["S"] for r in batch] for batch in recorder.batches]
    assert keys == [["a", "b", "c"], ["b", "c"]]


def test_maximum_retry_attempts_drops_the_batch(table: tuple[Any, str]) -> None:
    # Given a consumer that always fails, with one retry allowed
    dynamodb, stream_arn = table
    recorder = Recorder(raises=True)
    poller = _poller(stream_arn, recorder, maximum_retry_attempts=1)
    _put(dynamodb, "a")

    # When the poller runs more often than that
    for _ in range(4):
        poller.poll_once()

    # Then it invoked the first time plus one retry, then moved on
    assert len(recorder.batches) == 2


def test_filtered_records_are_skipped(table: tuple[Any, str]) -> None:
    dynamodb, stream_arn = table
    recorder = Recorder()
    poller = _poller(stream_arn, recorder, filters=[{"eventName": ["MODIFY"]}])
    _put(dynamodb, "a", status="1")
    _put(dynamodb, "a", status="2")
    poller.poll_once()
    assert [[r["eventName"] for r in batch] for batch in recorder.batches] == [["MODIFY"]]


def test_binary_and_datetime_values_become_json() -> None:
    record = {
        "eventID": "e",
        "eventName": "INSERT",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": {
            "ApproximateCreationDateTime": datetime(2026, 1, 1, tzinfo=UTC),
            "Keys": {"PK": {"B": b"\x01"}},
            "SequenceNumber": "1",
            "SizeBytes": 1,
            "StreamViewType": "KEYS_ONLY",
        },
    }
    converted = stream_record(record, "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/x")
    assert converted["dynamodb"]["Keys"] == {"PK": {"B": "AQ=="}}
    assert converted["dynamodb"]["ApproximateCreationDateTime"] == 1767225600


def test_bisect_isolates_a_poison_record_and_gives_it_to_the_on_failure_queue(table: tuple[Any, str]) -> None:
    # Given a consumer that crashes on any batch holding "poison", bisecting on, no retries,
    # and an on-failure queue
    dynamodb, stream_arn = table
    sqs = boto3.client("sqs")
    failures_url = sqs.create_queue(QueueName="stream-failures")["QueueUrl"]

    def crash_on_poison(records: list[dict[str, Any]]) -> None:
        if any(r["dynamodb"]["Keys"]["PK"]["S"] == "poison" for r in records):
            raise ValueError("cannot handle poison")

    recorder = Recorder(answer=crash_on_poison)
    poller = _poller(
        stream_arn,
        recorder,
        bisect_on_error=True,
        maximum_retry_attempts=0,
        on_failure_queue_url=failures_url,
        reports_failures=True,
    )
    for key in ("a", "poison", "c"):
        _put(dynamodb, key)

    # When the poller works through the shard
    for _ in range(6):
        poller.poll_once()

    # Then the batch was halved until the poison record stood alone, which was given up
    keys = [[r["dynamodb"]["Keys"]["PK"]["S"] for r in batch] for batch in recorder.batches]
    assert keys == [["a", "poison", "c"], ["a"], ["poison", "c"], ["poison"], ["c"]]
    (message,) = sqs.receive_message(QueueUrl=failures_url)["Messages"]
    failure = json.loads(message["Body"])
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert failure["responseContext"]["functionError"] == "Unhandled"
    info = failure["DDBStreamBatchInfo"]
    assert info["batchSize"] == 1
    assert (
        info["startSequenceNumber"] == info["endSequenceNumber"] == recorder.batches[3][0]["dynamodb"]["SequenceNumber"]
    )
    assert info["streamArn"] == stream_arn


def _keys(batches: list[list[dict[str, Any]]]) -> list[list[str]]:
    return [[r["dynamodb"]["Keys"]["PK"]["S"] for r in batch] for batch in batches]


def test_drain_fills_batches_from_as_many_reads_as_the_filter_needs(table: tuple[Any, str]) -> None:
    # Given five items each inserted then changed, and a consumer of changes only, two a batch
    dynamodb, stream_arn = table
    recorder = Recorder()
    poller = _poller(stream_arn, recorder, batch_size=2, filters=[{"eventName": ["MODIFY"]}])
    for key in "abcde":
        _put(dynamodb, key, status="1")
        _put(dynamodb, key, status="2")

    # When the stream is drained (each read of two records holds one change)
    outcomes = poller.drain()

    # Then the batches were full but for the last, and the stream is caught up
    assert _keys(recorder.batches) == [["a", "b"], ["c", "d"], ["e"]]
    assert [outcome.progressed and not outcome.failed for outcome in outcomes] == [True, True, True]
    assert poller.drain() == []


def test_drain_stops_at_a_reported_failure_and_the_next_drain_retries_from_it(table: tuple[Any, str]) -> None:
    # Given three writes and a consumer that reports "b" failed the first time
    dynamodb, stream_arn = table
    failed_once: list[str] = []

    def fail_b_once(records: list[dict[str, Any]]) -> dict[str, Any]:
        failures = [
            {"itemIdentifier": r["dynamodb"]["SequenceNumber"]}
            for r in records
            if r["dynamodb"]["Keys"]["PK"]["S"] == "b" and not failed_once
        ]
        failed_once.extend(f["itemIdentifier"] for f in failures)
        return {"batchItemFailures": failures}

    recorder = Recorder(answer=fail_b_once)
    poller = _poller(stream_arn, recorder, reports_failures=True)
    for key in "abc":
        _put(dynamodb, key)

    # When the stream is drained twice
    (first,) = poller.drain()
    (second,) = poller.drain()

    # Then the first drain checkpointed "a" and stopped; the second retried from "b", in order
    assert first.failed == frozenset(failed_once) and first.progressed
    assert not second.failed
    assert _keys(recorder.batches) == [["a", "b", "c"], ["b", "c"]]


def test_skip_to_latest_leaves_earlier_writes_undelivered(table: tuple[Any, str]) -> None:
    dynamodb, stream_arn = table
    recorder = Recorder()
    poller = _poller(stream_arn, recorder, starting_position="TRIM_HORIZON")
    _put(dynamodb, "set-up")
    poller.skip_to_latest()
    _put(dynamodb, "measured")
    poller.drain()
    assert _keys(recorder.batches) == [["measured"]]
