"""The expression speed-ups (``expressions_parsed_once``, ``simple_updates_applied_directly``)
answer every update and condition exactly as moto does without them: the same script runs in
two fresh interpreters, one with them installed, and their answers are compared."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from tests.conftest import ROOT

SCRIPT = r"""
import json, sys
import boto3
from botocore.exceptions import ClientError
from moto import mock_aws
if sys.argv[1] == "fast":
    from local import moto_speedups
    moto_speedups.expressions_parsed_once()
    moto_speedups.simple_updates_applied_directly()
cases = json.loads(sys.stdin.read())
answers = []
with mock_aws():
    client = boto3.client("dynamodb", region_name="us-east-1")
    client.create_table(
        TableName="t",
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "PK", "AttributeType": "S"},
            {"AttributeName": "SK", "AttributeType": "S"},
            {"AttributeName": "due_shard", "AttributeType": "S"},
            {"AttributeName": "due_at", "AttributeType": "S"},
        ],
        GlobalSecondaryIndexes=[{
            "IndexName": "due",
            "KeySchema": [
                {"AttributeName": "due_shard", "KeyType": "HASH"},
                {"AttributeName": "due_at", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "KEYS_ONLY"},
        }],
        BillingMode="PAY_PER_REQUEST",
    )
    for number, (start, request) in enumerate(cases):
        key = {"PK": {"S": f"P{number}"}, "SK": {"S": "S"}}
        if start is not None:
            client.put_item(TableName="t", Item={**key, **start})
        answer = {}
        try:
            operation = request.pop("operation", "update_item")
            if operation == "update_item":
                response = client.update_item(TableName="t", Key=key, **request)
            else:
                response = client.put_item(TableName="t", Item={**key, **request.pop("Item")}, **request)
            answer["attributes"] = response.get("Attributes")
        except ClientError as error:
            answer["error"] = [error.response["Error"]["Code"], error.response["Error"].get("Message")]
            answer["old"] = error.response.get("Item")
        except Exception as error:  # moto's own crash (a missing name placeholder): the same crash
            answer["error"] = [type(error).__name__, str(error)]
        answer["item"] = client.get_item(TableName="t", Key=key).get("Item")
        answers.append(answer)
print(json.dumps(answers, sort_keys=True))
"""

S = {"S": "x"}
ROW = {
    "status": {"S": "processing"},
    "tier": {"N": "2"},
    "due_shard": {"S": "DUE#1"},
    "due_at": {"S": "t"},
    "n": {"N": "5"},
}
HANDOFF = {
    "UpdateExpression": "SET #status = :sent, #tier = :tier, carrier_ref = :ref REMOVE due_shard, due_at",
    "ConditionExpression": "attribute_exists(PK) AND #tier < :tier",
    "ExpressionAttributeNames": {"#status": "status", "#tier": "tier"},
    "ExpressionAttributeValues": {":sent": {"S": "sent"}, ":tier": {"N": "3"}, ":ref": S},
}


def update(expression: str, values: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    request: dict[str, Any] = {"UpdateExpression": expression, **extra}
    if values is not None:
        request["ExpressionAttributeValues"] = values
    return request


CASES: list[tuple[dict[str, Any] | None, dict[str, Any]]] = [
    # What our writes do: applied directly
    (ROW, HANDOFF),
    (ROW, {**HANDOFF, "ReturnValues": "ALL_NEW"}),
    ({**ROW, "tier": {"N": "3"}}, {**HANDOFF, "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}),  # condition fails
    (None, HANDOFF),  # no such item: the condition fails
    (ROW, update("ADD n :one, delivered :one SET updated_at = :now", {":one": {"N": "1"}, ":now": S})),
    (ROW, update("ADD chunks :c", {":c": {"NS": ["3", "1"]}})),
    ({**ROW, "chunks": {"NS": ["1", "2"]}}, update("ADD chunks :c", {":c": {"NS": ["2", "4"]}})),
    ({**ROW, "chunks": {"SS": ["a"]}}, update("ADD chunks :c REMOVE n", {":c": {"SS": ["a", "b"]}})),
    (None, update("SET a = :a, b = :b", {":a": S, ":b": {"L": [S, {"N": "1"}]}})),  # creates the item
    (ROW, update("REMOVE missing, n")),
    (
        ROW,
        update(
            "SET due_at = :a",
            {":a": {"S": "later"}},
            ConditionExpression="due_at = :seen",
            ExpressionAttributeValues={":a": {"S": "later"}, ":seen": {"S": "t"}},
        ),
    ),
    (ROW, update("SET m = :m", {":m": {"M": {"a": {"L": [S]}, "b": {"BOOL": True}}}}, ReturnValues="UPDATED_OLD")),
    (
        ROW,
        update(
            "SET #s = :s REMOVE n", {":s": S}, ExpressionAttributeNames={"#s": "status"}, ReturnValues="UPDATED_NEW"
        ),
    ),
    # ...and what moto's own passes refuse, with its own answer
    (ROW, update("SET PK = :a", {":a": S})),  # a key attribute
    (ROW, update("SET a = :a, a = :b", {":a": S, ":b": S})),  # the same path twice
    (ROW, update("SET a = :a SET b = :a", {":a": S})),  # two SET clauses
    (ROW, update("SET a = :missing", {":a": S})),
    (ROW, update("SET #missing = :a", {":a": S})),
    (ROW, update("SET due_at = :a", {":a": {"N": "1"}})),  # a type the index's definition refuses
    (ROW, update("SET due_shard = :a", {":a": {"S": ""}})),  # an empty index key
    (ROW, update("ADD n :a", {":a": S})),  # ADD a string
    (ROW, update("ADD status :one", {":one": {"N": "1"}})),  # to a string
    (ROW, update("ADD chunks :c", {":c": {"NS": []}})),  # an empty set
    (ROW, update("REMOVE size")),  # a reserved word, plain
    (ROW, update("ADD count :one", {":one": {"N": "1"}})),
    (ROW, update("SET #k = :a", {":a": S}, ExpressionAttributeNames={"#k": "SK"})),  # a key, by placeholder
    ({**ROW, "chunks": {"SS": ["a"]}}, update("ADD chunks :c", {":c": {"NS": ["1"]}})),  # another set type
    # ...and what is not simple at all: moto's own path, as before
    (ROW, update("SET a = if_not_exists(a, :a), n = n + :one", {":a": S, ":one": {"N": "1"}})),
    (ROW, update("SET l = list_append(if_not_exists(l, :empty), :l)", {":empty": {"L": []}, ":l": {"L": [S]}})),
    ({**ROW, "m": {"M": {"k": S}}}, update("SET m.k2 = :a REMOVE m.k", {":a": S})),
    ({**ROW, "chunks": {"SS": ["a", "b"]}}, update("DELETE chunks :c", {":c": {"SS": ["a"]}})),
    # Conditions: the same text with other values must not answer from an earlier parse
    (
        ROW,
        {
            "operation": "put_item",
            "Item": {"v": S},
            "ConditionExpression": "n < :limit",
            "ExpressionAttributeValues": {":limit": {"N": "9"}},
        },
    ),
    (
        ROW,
        {
            "operation": "put_item",
            "Item": {"v": S},
            "ConditionExpression": "n < :limit",
            "ExpressionAttributeValues": {":limit": {"N": "2"}},
        },
    ),
    (
        ROW,
        {
            "operation": "put_item",
            "Item": {"v": S},
            "ConditionExpression": "#n < :limit",
            "ExpressionAttributeNames": {"#n": "n"},
            "ExpressionAttributeValues": {":limit": {"N": "9"}},
        },
    ),
    (
        ROW,
        {
            "operation": "put_item",
            "Item": {"v": S},
            "ConditionExpression": "#n < :limit",
            "ExpressionAttributeNames": {"#n": "tier"},
            "ExpressionAttributeValues": {":limit": {"N": "1"}},
        },
    ),
    (
        ROW,
        {
            "operation": "put_item",
            "Item": {"v": S},
            "ConditionExpression": "#n < :limit",
            "ExpressionAttributeValues": {":limit": {"N": "9"}},
        },
    ),  # a name missing
    (
        ROW,
        {
            "operation": "put_item",
            "Item": {"v": S},
            "ConditionExpression": "n < :limit",
            "ExpressionAttributeValues": {":limit": {"N": "9"}, ":unused": S},
        },
    ),  # a value unused
]


def answers(mode: str) -> list[dict[str, Any]]:
    completed = subprocess.run(
        [sys.executable, "-c", SCRIPT, mode],
        input=json.dumps(CASES),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    result: list[dict[str, Any]] = json.loads(completed.stdout)
    return result


@pytest.fixture(scope="module")
def plain() -> list[dict[str, Any]]:
    return answers("plain")


@pytest.fixture(scope="module")
def fast() -> list[dict[str, Any]]:
    return answers("fast")


@pytest.mark.parametrize("case", range(len(CASES)))
def test_an_update_or_condition_answers_as_moto_does(case: int, plain: list[Any], fast: list[Any]) -> None:
    assert fast[case] == plain[case], CASES[case]


def test_the_cases_cover_answers_and_refusals(plain: list[dict[str, Any]]) -> None:
    # A comparison of nothing with nothing would pass: the cases do succeed and fail.
    assert sum("error" in answer for answer in plain) >= 10
    assert sum("error" not in answer for answer in plain) >= 10
