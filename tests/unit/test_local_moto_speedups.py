"""local/moto_speedups.py changes how moto gets its answers, never the answers: each test here
drives moto with a speed-up installed and asserts what DynamoDB or SQS would answer."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from local import moto_speedups

REGION = "us-east-1"


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    moto_speedups.query_within_partition()
    moto_speedups.attribute_values_as_they_are()
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        client.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
            AttributeDefinitions=[
                {"AttributeName": "PK", "AttributeType": "S"},
                {"AttributeName": "SK", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        yield client


@pytest.fixture
def sqs() -> Iterator[Any]:
    moto_speedups.sqs_reads_queue_once()
    with mock_aws():
        yield boto3.client("sqs", region_name=REGION)


def _sort_keys(response: dict[str, Any]) -> list[str]:
    return [item["SK"]["S"] for item in response["Items"]]


def test_a_between_query_returns_the_range_in_order_page_by_page(dynamodb: Any) -> None:
    for pk in ("A", "B"):
        # Both bounds are keys too: BETWEEN includes them.
        for sk in ("META", "P#00000", "P#00000#R#00001", "P#00000#R#00000", "P#00000#~", "P#00001", "Q", "ALPHA"):
            dynamodb.put_item(TableName="t", Item={"PK": {"S": pk}, "SK": {"S": sk}, "v": {"S": pk + sk}})
    query = {
        "TableName": "t",
        "KeyConditionExpression": "PK = :pk AND SK BETWEEN :low AND :high",
        "ExpressionAttributeValues": {":pk": {"S": "A"}, ":low": {"S": "META"}, ":high": {"S": "P#00000#~"}},
    }

    everything = dynamodb.query(**query)
    paged: list[str] = []
    page = dynamodb.query(**query, Limit=2)
    while True:
        paged += _sort_keys(page)
        if "LastEvaluatedKey" not in page:
            break
        page = dynamodb.query(**query, Limit=2, ExclusiveStartKey=page["LastEvaluatedKey"])
    backwards = dynamodb.query(**query, ScanIndexForward=False)

    assert _sort_keys(everything) == ["META", "P#00000", "P#00000#R#00000", "P#00000#R#00001", "P#00000#~"]
    assert everything["Count"] == everything["ScannedCount"] == 5
    assert {item["v"]["S"] for item in everything["Items"]} == {"A" + sk for sk in _sort_keys(everything)}
    assert paged == _sort_keys(everything)
    assert _sort_keys(backwards) == list(reversed(_sort_keys(everything)))


def test_a_begins_with_query_returns_only_the_prefix(dynamodb: Any) -> None:
    for sk in ("P#1", "P#1#R#2", "P#2", "P", "Q#1"):
        dynamodb.put_item(TableName="t", Item={"PK": {"S": "A"}, "SK": {"S": sk}})

    response = dynamodb.query(
        TableName="t",
        KeyConditionExpression="PK = :pk AND begins_with(SK, :prefix)",
        ExpressionAttributeValues={":pk": {"S": "A"}, ":prefix": {"S": "P#1"}},
    )

    assert _sort_keys(response) == ["P#1", "P#1#R#2"]


def test_every_attribute_type_comes_back_as_it_was_written(dynamodb: Any) -> None:
    item = {
        "PK": {"S": "A"},
        "SK": {"S": "1"},
        "empty": {"S": ""},
        "text": {"S": "ünïcode"},
        "number": {"N": "1.5"},
        "binary": {"B": b"\x00\x01"},
        "yes": {"BOOL": True},
        "no": {"BOOL": False},
        "nothing": {"NULL": True},
        "strings": {"SS": ["a", "b"]},
        "numbers": {"NS": ["1", "2"]},
        "binaries": {"BS": [b"x"]},
        "list": {"L": [{"S": "x"}, {"N": "2"}, {"M": {"k": {"B": b"y"}}}]},
        "map": {"M": {"a": {"S": "b"}, "c": {"L": []}}},
    }
    dynamodb.put_item(TableName="t", Item=item)

    got = dynamodb.get_item(TableName="t", Key={"PK": {"S": "A"}, "SK": {"S": "1"}})["Item"]
    queried = dynamodb.query(
        TableName="t", KeyConditionExpression="PK = :pk", ExpressionAttributeValues={":pk": {"S": "A"}}
    )["Items"]

    for returned in (got, queried[0]):
        assert {name: value for name, value in returned.items() if name not in ("strings", "numbers")} == {
            name: value for name, value in item.items() if name not in ("strings", "numbers")
        }
        assert sorted(returned["strings"]["SS"]) == ["a", "b"]
        assert sorted(returned["numbers"]["NS"]) == ["1", "2"]


def test_a_fifo_queue_with_content_based_deduplication_still_drops_a_repeat(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="q.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"})[
        "QueueUrl"
    ]

    sqs.send_message(QueueUrl=url, MessageBody="same", MessageGroupId="g")
    sqs.send_message(QueueUrl=url, MessageBody="same", MessageGroupId="g")
    sqs.send_message(QueueUrl=url, MessageBody="other", MessageGroupId="g")

    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "2"


def test_received_messages_are_hidden_counted_and_deleted_by_any_of_their_handles(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(n), "MessageBody": str(n)} for n in range(5)])

    first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2, VisibilityTimeout=0)["Messages"]
    again = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30)["Messages"]
    counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]

    assert len(again) == 5  # the first two were visible again at once
    assert (counts["ApproximateNumberOfMessages"], counts["ApproximateNumberOfMessagesNotVisible"]) == ("0", "5")
    # A handle from an earlier receive still deletes its message, once; deleting again is fine.
    sqs.delete_message(QueueUrl=url, ReceiptHandle=first[0]["ReceiptHandle"])
    sqs.delete_message(QueueUrl=url, ReceiptHandle=first[0]["ReceiptHandle"])
    for message in again:
        if message["MessageId"] != first[0]["MessageId"]:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert (counts["ApproximateNumberOfMessages"], counts["ApproximateNumberOfMessagesNotVisible"]) == ("0", "0")
    with pytest.raises(ClientError) as refused:
        sqs.delete_message(QueueUrl=url, ReceiptHandle="not-a-handle")
    assert refused.value.response["Error"]["Code"] == "ReceiptHandleIsInvalid"


def test_a_delayed_message_stays_out_of_sight_until_its_delay_ends(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=60)
    sqs.send_message(QueueUrl=url, MessageBody="now")

    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]

    assert [message["Body"] for message in received] == ["now"]


def test_many_threads_receive_from_one_queue_without_errors_or_duplicates(sqs: Any) -> None:
    # moto's own SQS raised "Set changed size during iteration" when receives overlapped: each
    # receive walks the queue's in-flight messages while another adds to them.
    import sys
    import threading

    url = sqs.create_queue(QueueName="busy", Attributes={"VisibilityTimeout": "600"})["QueueUrl"]
    for start in range(0, 3_000, 10):
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(n), "MessageBody": str(start + n)} for n in range(10)])
    received: list[str] = []
    errors: list[BaseException] = []
    guard = threading.Lock()

    def receive() -> None:
        try:
            while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
                with guard:
                    received.extend(message["Body"] for message in messages)
        except BaseException as error:  # any failure is what the test is about
            errors.append(error)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # threads take turns often: overlaps that happen under load, now
    try:
        threads = [threading.Thread(target=receive) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert errors == []
    assert sorted(received, key=int) == [str(n) for n in range(3_000)]


def test_a_waiting_receive_does_not_hold_up_a_send(sqs: Any) -> None:
    import threading
    import time

    url = sqs.create_queue(QueueName="waiting")["QueueUrl"]
    got: list[Any] = []
    waiter = threading.Thread(
        target=lambda: got.append(sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5).get("Messages", []))
    )
    waiter.start()
    time.sleep(0.2)
    started = time.monotonic()
    sqs.send_message(QueueUrl=url, MessageBody="hello")
    assert time.monotonic() - started < 1.0  # not behind the receive's 5 s wait
    waiter.join()
    assert [message["Body"] for message in got[0]] == ["hello"]
