"""The in-process runner: functions by logical id, loaded on first use, and their SQS sources
drained round after round, on in-process moto."""

from __future__ import annotations

import dataclasses
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local.infrastructure import DeployedStack, EventSpec, FunctionSpec
from local.moto_server import moto_environment
from local.runner import InProcessRunner

# Relays every body to the "second" queue with a "!" (its URL from the environment, as a
# function's settings would be); the other function remembers what it got and fails "bad!".
_RELAY = """
import os, boto3
def lambda_handler(event, context):
    sqs = boto3.client("sqs")
    for record in event["Records"]:
        sqs.send_message(QueueUrl=os.environ["RUNNER_TEST_SECOND_URL"], MessageBody=record["body"] + "!")
"""
_BROKEN = """
def lambda_handler(event, context):
    raise RuntimeError("always")
"""
_SINK = """
SEEN = []
def lambda_handler(event, context):
    SEEN.extend(record["body"] for record in event["Records"])
    return {"batchItemFailures": [
        {"itemIdentifier": record["messageId"]} for record in event["Records"] if record["body"] == "bad!"
    ]}
"""


def _function(logical_id: str, code_dir: Path, queue: str) -> FunctionSpec:
    properties = {
        "Queue": {"Fn::GetAtt": [queue, "Arn"]},
        "BatchSize": 2,
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
    }
    return FunctionSpec(
        logical_id=logical_id,
        name=f"stack-{logical_id}",
        arn=f"arn:aws:lambda:us-east-1:123456789012:function:stack-{logical_id}",
        code_dir=code_dir,
        handler="app.lambda_handler",
        timeout_seconds=10,
        memory_mb=128,
        environment={},
        events=(EventSpec(name="Jobs", type="SQS", properties=properties),),
    )


@pytest.fixture
def stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DeployedStack]:
    with moto_environment(), mock_aws():
        sqs = boto3.client("sqs")
        urls = {name: sqs.create_queue(QueueName=name)["QueueUrl"] for name in ("first", "second")}
        monkeypatch.setenv("RUNNER_TEST_SECOND_URL", urls["second"])
        dynamodb = boto3.client("dynamodb")
        dynamodb.create_table(
            TableName="watched",
            KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
        )
        for folder, code in (("relay", _RELAY), ("sink", _SINK), ("broken", _BROKEN)):
            (tmp_path / folder).mkdir()
            (tmp_path / folder / "app.py").write_text(code)
        # The sink first, in the template's order: its work only arrives in the second round.
        functions = {
            "SinkFunction": _function("SinkFunction", tmp_path / "sink", "SecondQueue"),
            "RelayFunction": _function("RelayFunction", tmp_path / "relay", "FirstQueue"),
            # Retries without end (MaximumRetryAttempts -1, the default) on the table's stream.
            "BrokenFunction": dataclasses.replace(
                _function("BrokenFunction", tmp_path / "broken", "SecondQueue"),
                events=(
                    EventSpec(
                        name="Changes",
                        type="DynamoDB",
                        properties={"Stream": {"Fn::GetAtt": ["Table", "StreamArn"]}, "StartingPosition": "LATEST"},
                    ),
                ),
            ),
        }
        yield DeployedStack(
            stack_name="runner-test",
            region="us-east-1",
            account_id="123456789012",
            parameters={},
            template={},
            physical_ids={"FirstQueue": urls["first"], "SecondQueue": urls["second"], "Table": "watched"},
            resource_types={
                "FirstQueue": "AWS::SQS::Queue",
                "SecondQueue": "AWS::SQS::Queue",
                "Table": "AWS::DynamoDB::Table",
            },
            functions=functions,
            _session=boto3.Session(),
        )
    for logical_id in functions:
        sys.modules.pop(f"lisoloo_local_{logical_id}_app", None)


def _send(stack: DeployedStack, *bodies: str) -> None:
    for body in bodies:
        boto3.client("sqs").send_message(QueueUrl=stack.physical_id("FirstQueue"), MessageBody=body)


def test_functions_are_named_by_code_folder_and_imported_on_first_use(stack: DeployedStack) -> None:
    runner = InProcessRunner(stack)
    assert runner.logical_id("sink") == "SinkFunction"
    assert "lisoloo_local_SinkFunction_app" not in sys.modules
    assert runner.module("SinkFunction").SEEN == []
    assert runner.module("SinkFunction") is sys.modules["lisoloo_local_SinkFunction_app"]
    with pytest.raises(KeyError, match="nowhere"):
        runner.logical_id("nowhere")


def test_drain_runs_rounds_until_what_one_function_sent_is_consumed(stack: DeployedStack) -> None:
    # Given three jobs for the relay, whose output only the sink (drained first) consumes
    runner = InProcessRunner(stack)
    _send(stack, "a", "b", "c")

    # When everything is drained
    outcomes = runner.drain()

    # Then the relay ran in round one (2 + 1 a batch), the sink in round two
    assert [(outcome.function, len(outcome.records)) for outcome in outcomes] == [
        ("RelayFunction", 2),
        ("RelayFunction", 1),
        ("SinkFunction", 2),
        ("SinkFunction", 1),
    ]
    assert sorted(runner.module("SinkFunction").SEEN) == ["a!", "b!", "c!"]


def test_a_reported_failure_stays_queued_and_the_drain_ends(stack: DeployedStack) -> None:
    # Given a job the sink will report failed
    runner = InProcessRunner(stack)
    _send(stack, "bad", "good")

    # When everything is drained
    outcomes = runner.drain()

    # Then the failure is reported once and stays queued (in flight), and the drain ended
    failures: list[Any] = [
        record["body"] for outcome in outcomes for record in outcome.records if record["messageId"] in outcome.failed
    ]
    assert failures == ["bad!"]
    assert runner.drain() == []
    attributes = boto3.client("sqs").get_queue_attributes(
        QueueUrl=stack.physical_id("SecondQueue"), AttributeNames=["ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "1"


def test_an_invocation_runs_the_loaded_function_with_its_replacements(stack: DeployedStack) -> None:
    runner = InProcessRunner(stack)
    runner.module("SinkFunction").SEEN = ["earlier"]
    invocation = runner.invoke("SinkFunction", {"Records": [{"messageId": "1", "body": "x"}]})
    assert invocation.result == {"batchItemFailures": []}
    assert runner.module("SinkFunction").SEEN == ["earlier", "x"]


def test_drain_ends_when_a_stream_batch_only_keeps_failing(stack: DeployedStack) -> None:
    # Given a stream consumer that always fails and is retried without end
    runner = InProcessRunner(stack)
    pollers = runner.pollers("BrokenFunction")
    boto3.client("dynamodb").put_item(TableName="watched", Item={"PK": {"S": "a"}})
    outcomes: list[Any] = []

    # When its source is drained
    drain = threading.Thread(target=lambda: outcomes.extend(runner.drain(pollers)), daemon=True)
    drain.start()
    drain.join(timeout=30)

    # Then the drain made one attempt and returned (each later drain makes one more)
    assert not drain.is_alive()
    assert [(outcome.invocation.error.error_type, outcome.progressed) for outcome in outcomes] == [
        ("RuntimeError", False)
    ]
