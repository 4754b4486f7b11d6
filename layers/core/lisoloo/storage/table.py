"""How storage talks to AWS: the table's wire form, the one retry loop, and the one place where
a ``ClientError`` becomes something with a name (for DynamoDB and for SQS).

botocore already retries throttling, 5xx and connection errors (DynamoDB: 10 attempts with
backoff), so what reaches this module has been retried. Two things the SDK cannot retry are
left to :func:`attempts`: a transaction cancelled because another transaction touched the
same item at the same time (or an item of it was throttled), and a batch write's unprocessed
items. A failed condition is not an error: it is the answer to a conditional write, and is
raised as :class:`ConditionFailed` (or :class:`TransactionCancelled`) for the aggregate
module to read; anything else becomes :class:`~lisoloo.errors.StorageError`.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from functools import cached_property
from typing import Any, TypeVar

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError

from lisoloo.errors import StorageBusyError, StorageError

T = TypeVar("T")
Item = dict[str, Any]  # an item in DynamoDB's wire form ({"name": {"S": "..."}})

MAX_ATTEMPTS = 6
_BATCH_WRITE_LIMIT = 25
_BATCH_GET_LIMIT = 100
# Why a transaction item was cancelled that another try can cure.
_RETRYABLE_REASONS = frozenset({"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"})
_CONDITION_FAILED = "ConditionalCheckFailed"

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


# --- the wire form ---------------------------------------------------------------------------


def to_item(values: Mapping[str, Any]) -> Item:
    """Plain values to the wire form; None means "no such attribute"."""
    return {name: _serializer.serialize(value) for name, value in values.items() if value is not None}


def expression_values(values: Mapping[str, Any]) -> Item:
    """``ExpressionAttributeValues`` in the wire form (None is not allowed there)."""
    return {name: _serializer.serialize(value) for name, value in values.items()}


def from_item(item: Item) -> dict[str, Any]:
    """The wire form to plain values; our numbers are all integers."""
    values = {name: _deserializer.deserialize(value) for name, value in item.items()}
    return {name: int(value) if isinstance(value, Decimal) else value for name, value in values.items()}


def wire_string(item: Item, name: str) -> str | None:
    value = item.get(name)
    return value["S"] if value is not None else None


def wire_integer(item: Item, name: str) -> int | None:
    value = item.get(name)
    return int(value["N"]) if value is not None else None


def timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_timestamp(value: str) -> datetime:
    return datetime.fromisoformat(value)


def epoch_seconds(moment: datetime) -> int:
    """A TTL attribute's value."""
    return int(moment.timestamp())


# --- answers and errors ----------------------------------------------------------------------


class ConditionFailed(StorageError):
    """A conditional write whose condition did not hold; ``item`` is the item as it was, when
    the write asked for it (``ReturnValuesOnConditionCheckFailure``). The aggregate modules
    read it as an answer; one that escapes them is a StorageError like any other."""

    def __init__(self, item: Item | None = None) -> None:
        super().__init__("condition failed")
        self.item = item


class TransactionCancelled(StorageError):
    """A transaction cancelled by its conditions: one reason per item, in the items' order
    (``{"Code": "ConditionalCheckFailed", "Item": ...}`` or ``{"Code": "None"}``)."""

    def __init__(self, reasons: list[dict[str, Any]]) -> None:
        super().__init__("transaction cancelled")
        self.reasons = reasons

    @property
    def codes(self) -> list[str | None]:
        return [reason.get("Code") for reason in self.reasons]

    def failed_condition(self, position: int) -> bool:
        return position < len(self.reasons) and self.reasons[position].get("Code") == _CONDITION_FAILED


class _RetryLater(Exception):
    pass


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def translated(error: ClientError | BotoCoreError, what: str) -> Exception:
    """What a failed AWS call means to the caller: a failed condition is an answer; the rest,
    whatever its code, is a StorageError naming it."""
    if isinstance(error, ClientError):
        code = error_code(error)
        if code == "ConditionalCheckFailedException":
            return ConditionFailed(error.response.get("Item"))
        if code == "TransactionCanceledException":
            reasons = list(error.response.get("CancellationReasons", []))
            if any(reason.get("Code") in _RETRYABLE_REASONS for reason in reasons):
                return _RetryLater()
            return TransactionCancelled(reasons)
        return StorageError(f"{what}: {code or error}")
    return StorageError(f"{what}: {type(error).__name__}: {error}")


def attempts(what: str) -> Iterator[int]:
    """The one retry loop: attempt numbers, with a full-jitter pause (AWS Architecture Blog)
    before each retry; StorageBusyError once ``MAX_ATTEMPTS`` have all asked for another."""
    for attempt in range(MAX_ATTEMPTS):
        if attempt:
            # Spreads retries of conflicting writers apart.
            time.sleep(random.uniform(0, min(1.0, 0.02 * 2 ** (attempt - 1))))  # noqa: S311 - jitter
        yield attempt
    raise StorageBusyError(f"{what} kept failing after {MAX_ATTEMPTS} attempts")


def aws_call(operation: Callable[..., T], **arguments: Any) -> T:
    """One AWS request (a boto3 client method and its arguments), its failure translated (see
    :func:`translated`)."""
    try:
        return operation(**arguments)
    except (ClientError, BotoCoreError) as error:
        raise translated(error, getattr(operation, "__name__", "AWS call")) from error


# --- the table -------------------------------------------------------------------------------


class Table:
    """The SMS table: every request storage makes goes through here."""

    def __init__(self, name: str, client: Any | None = None) -> None:
        self.name = name
        self._client = client

    @cached_property
    def client(self) -> Any:
        # Created on first use, not at import: cold starts that never touch the table stay cheap.
        return self._client or boto3.client("dynamodb")

    def key(self, pk: str, sk: str) -> Item:
        return to_item({"PK": pk, "SK": sk})

    def get(self, pk: str, sk: str, *, consistent: bool = False) -> Item | None:
        arguments: dict[str, Any] = {"TableName": self.name, "Key": self.key(pk, sk)}
        if consistent:
            arguments["ConsistentRead"] = True
        response = aws_call(self.client.get_item, **arguments)
        item: Item | None = response.get("Item")
        return item

    def batch_get(
        self, item_keys: Iterable[tuple[str, str]], *, attributes: Sequence[str] | None, consistent: bool = False
    ) -> Iterator[Item]:
        """BatchGetItem, 100 keys a request, until every key is answered: the items that exist
        (``attributes`` of them, always with PK and SK; None: whole items), in no particular order."""
        wanted = [self.key(pk, sk) for pk, sk in dict.fromkeys(item_keys)]  # a request refuses duplicates
        projection: dict[str, Any] = {}
        if attributes is not None:
            names = {f"#a{position}": name for position, name in enumerate(dict.fromkeys(["PK", "SK", *attributes]))}
            projection = {"ProjectionExpression": ", ".join(names), "ExpressionAttributeNames": names}
        for start in range(0, len(wanted), _BATCH_GET_LIMIT):
            request: dict[str, Any] = {
                "Keys": wanted[start : start + _BATCH_GET_LIMIT],
                **projection,
                "ConsistentRead": consistent,
            }
            for _ in attempts(f"a batch read of {len(request['Keys'])} items"):
                response = aws_call(self.client.batch_get_item, RequestItems={self.name: request})
                yield from response.get("Responses", {}).get(self.name, [])
                unprocessed = response.get("UnprocessedKeys", {}).get(self.name)
                if not unprocessed:
                    break
                request = unprocessed

    def query_between(self, pk: str, low: str, high: str) -> Iterator[Item]:
        """Every item of a partition whose sort key lies in ``[low, high]``, in order."""
        arguments: dict[str, Any] = {
            "TableName": self.name,
            "KeyConditionExpression": "PK = :pk AND SK BETWEEN :low AND :high",
            "ExpressionAttributeValues": expression_values({":pk": pk, ":low": low, ":high": high}),
        }
        while True:
            response = aws_call(self.client.query, **arguments)
            yield from response.get("Items", [])
            if "LastEvaluatedKey" not in response:
                return
            arguments["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def query_page(
        self, pk: str, low: str, high: str, *, limit: int, after: str | None = None, newest_first: bool = False
    ) -> tuple[list[Item], bool]:
        """Up to ``limit`` items of a partition with sort keys in ``[low, high]``, starting past the
        sort key ``after``, in sort-key order (reversed for ``newest_first``); and whether more follow.
        One more item than asked is read to tell, rather than trusting ``LastEvaluatedKey``, which
        may name the last item of a partition that holds no more."""
        if after is not None:
            if newest_first:
                high = after
            else:
                low = after
        arguments: dict[str, Any] = {
            "TableName": self.name,
            "KeyConditionExpression": "PK = :pk AND SK BETWEEN :low AND :high",
            "ExpressionAttributeValues": expression_values({":pk": pk, ":low": low, ":high": high}),
            "ScanIndexForward": not newest_first,
        }
        items: list[Item] = []
        while len(items) <= limit:
            arguments["Limit"] = limit + 2 - len(items)  # the bound itself may be among them
            response = aws_call(self.client.query, **arguments)
            items.extend(item for item in response.get("Items", []) if item["SK"]["S"] != after)
            if "LastEvaluatedKey" not in response:
                break
            arguments["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return items[:limit], len(items) > limit

    def query_index(self, index: str, condition: str, values: Mapping[str, Any], limit: int) -> list[Item]:
        """One page of a secondary index."""
        response = aws_call(
            self.client.query,
            TableName=self.name,
            IndexName=index,
            KeyConditionExpression=condition,
            ExpressionAttributeValues=expression_values(values),
            Limit=limit,
        )
        items: list[Item] = response.get("Items", [])
        return items

    def query_once(
        self,
        pk: str,
        low: str,
        high: str,
        *,
        limit: int,
        descending: bool = False,
        consistent: bool = False,
        where: str | None = None,
        names: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
        start_after: str | None = None,
    ) -> tuple[list[Item], str | None]:
        """One Query of a partition's sort keys in ``[low, high]``, from just past ``start_after``
        if given: the items (those ``where`` keeps, of the ``limit`` read) and the last sort key
        read when more may follow."""
        arguments: dict[str, Any] = {
            "TableName": self.name,
            "KeyConditionExpression": "PK = :pk AND SK BETWEEN :low AND :high",
            "ExpressionAttributeValues": expression_values({":pk": pk, ":low": low, ":high": high, **(values or {})}),
            "ScanIndexForward": not descending,
            "ConsistentRead": consistent,
            "Limit": limit,
        }
        if where:
            arguments["FilterExpression"] = where
        if names:
            arguments["ExpressionAttributeNames"] = dict(names)
        if start_after is not None:
            arguments["ExclusiveStartKey"] = self.key(pk, start_after)
        response = aws_call(self.client.query, **arguments)
        last = response.get("LastEvaluatedKey")
        return response.get("Items", []), last["SK"]["S"] if last else None

    def query_index_descending(
        self, index: str, key_names: tuple[str, str], pk: str, low: str, high: str, page_size: int
    ) -> Iterator[Item]:
        """The entries of one partition of a secondary index whose sort key lies in ``[low, high]``,
        highest first, read ``page_size`` a request and only as far as the caller iterates."""
        pk_name, sk_name = key_names
        arguments: dict[str, Any] = {
            "TableName": self.name,
            "IndexName": index,
            "KeyConditionExpression": "#pk = :pk AND #sk BETWEEN :low AND :high",
            "ExpressionAttributeNames": {"#pk": pk_name, "#sk": sk_name},
            "ExpressionAttributeValues": expression_values({":pk": pk, ":low": low, ":high": high}),
            "ScanIndexForward": False,
            "Limit": page_size,
        }
        while True:
            response = aws_call(self.client.query, **arguments)
            yield from response.get("Items", [])
            if "LastEvaluatedKey" not in response:
                return
            arguments["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def put(self, attributes: Mapping[str, Any], condition: str | None = None, **expression: Any) -> None:
        """PutItem of plain ``attributes``; ConditionFailed when ``condition`` does not hold."""
        arguments = self._expression(condition, **expression)
        aws_call(self.client.put_item, TableName=self.name, Item=to_item(attributes), **arguments)

    def update(
        self,
        pk: str,
        sk: str,
        update: str,
        condition: str | None = None,
        *,
        returning: str | None = None,
        old_on_failure: bool = False,
        **expression: Any,
    ) -> dict[str, Any]:
        """UpdateItem; returns the attributes ``returning`` asks for (wire form), or {}."""
        arguments = self._expression(condition, old_on_failure=old_on_failure, **expression)
        if returning:
            arguments["ReturnValues"] = returning
        response = aws_call(
            self.client.update_item, TableName=self.name, Key=self.key(pk, sk), UpdateExpression=update, **arguments
        )
        attributes: dict[str, Any] = response.get("Attributes", {})
        return attributes

    def delete(self, pk: str, sk: str, condition: str | None = None, **expression: Any) -> None:
        arguments = self._expression(condition, **expression)
        aws_call(self.client.delete_item, TableName=self.name, Key=self.key(pk, sk), **arguments)

    def transact(self, items: Sequence[dict[str, Any]]) -> None:
        """TransactWriteItems, all or nothing; tried again while it is cancelled for a conflict
        or throttling; TransactionCancelled when a condition of it failed."""
        for _ in attempts(f"a transaction of {len(items)} items"):
            try:
                aws_call(self.client.transact_write_items, TransactItems=list(items))
            except _RetryLater:
                continue
            return

    def batch_put(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """BatchWriteItem, 25 at a time, until every item is written (no conditions: new items)."""
        batch: list[dict[str, Any]] = []
        for row in rows:
            batch.append({"PutRequest": {"Item": to_item(row)}})
            if len(batch) == _BATCH_WRITE_LIMIT:
                self._write_batch(batch)
                batch = []
        if batch:
            self._write_batch(batch)

    def _write_batch(self, requests: list[dict[str, Any]]) -> None:
        for _ in attempts(f"a batch write of {len(requests)} items"):
            response = aws_call(self.client.batch_write_item, RequestItems={self.name: requests})
            requests = response.get("UnprocessedItems", {}).get(self.name, [])
            if not requests:
                return

    # --- transaction items --------------------------------------------------------------------

    def put_item(self, attributes: Mapping[str, Any], condition: str, **expression: Any) -> dict[str, Any]:
        """A ``Put`` of a transaction."""
        item = to_item(attributes)
        return {"Put": {"TableName": self.name, "Item": item, **self._expression(condition, **expression)}}

    def update_item(self, pk: str, sk: str, update: str, condition: str, **expression: Any) -> dict[str, Any]:
        """An ``Update`` of a transaction."""
        return {
            "Update": {
                "TableName": self.name,
                "Key": self.key(pk, sk),
                "UpdateExpression": update,
                **self._expression(condition, **expression),
            }
        }

    def condition_check(self, pk: str, sk: str, condition: str) -> dict[str, Any]:
        return {"ConditionCheck": {"TableName": self.name, "Key": self.key(pk, sk), "ConditionExpression": condition}}

    @staticmethod
    def _expression(
        condition: str | None,
        *,
        names: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
        old_on_failure: bool = False,
    ) -> dict[str, Any]:
        arguments: dict[str, Any] = {}
        if condition:
            arguments["ConditionExpression"] = condition
        if names:
            arguments["ExpressionAttributeNames"] = dict(names)
        if values:
            arguments["ExpressionAttributeValues"] = expression_values(values)
        if old_on_failure:
            arguments["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        return arguments
