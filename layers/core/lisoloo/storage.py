"""The one module that knows the table's keys and item layouts (DESIGN §4).

Every merchant item's partition key starts with ``ORG#{org}``, so a lookup can only find
the caller's own rows. A message is one partition:

    META                      the message: totals, delivered/failed counters, progress flags
    P#{chunk:05d}             up to RECIPIENTS_PER_CHUNK numbers, written at send
    P#{chunk:05d}#R#{i:05d}   recipient i, created when dispatch claims it

Rows sort under their chunk, so one Query reads a page of numbers together with their
states. Every state change is a conditional write whose condition says what it protects;
terminal moves of recipients commit in one transaction with the message counters, so the
counters can never drift from the rows.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import cached_property
from typing import Any

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from lisoloo.errors import ErrorCode, StorageBusyError
from lisoloo.identifiers import is_message_id, is_organization_id
from lisoloo.status import MessageProgress, SmsStatus, Tier

RECIPIENTS_PER_CHUNK = 100
# A transaction holds at most 100 items: 99 recipients and the message they belong to.
RECIPIENTS_PER_TRANSACTION = 99
_BATCH_WRITE_LIMIT = 25
_MAX_ATTEMPTS = 6
_RETRYABLE_CODES = frozenset(
    {
        "ThrottlingException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "InternalServerError",
    }
)
_RETRYABLE_REASONS = frozenset({"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"})

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

META = "META"


def _org_pk(org_id: str) -> str:
    return f"ORG#{org_id}"


def _message_pk(org_id: str, message_id: str) -> str:
    return f"ORG#{org_id}#MSG#{message_id}"


def _chunk_sk(chunk: int) -> str:
    return f"P#{chunk:05d}"


def _recipient_sk(index: int) -> str:
    return f"{_chunk_sk(index // RECIPIENTS_PER_CHUNK)}#R#{index:05d}"


def _index_of_recipient_sk(sort_key: str) -> int:
    return int(sort_key.rsplit("#", 1)[1])


def _app_key_pk(key_hash: str) -> str:
    return f"KEY#{key_hash}"


def _carrier_pk(carrier: str) -> str:
    return f"CARRIER#{carrier}"


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse_timestamp(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _to_item(values: dict[str, Any]) -> dict[str, Any]:
    return {name: _serializer.serialize(value) for name, value in values.items() if value is not None}


def _from_item(item: dict[str, Any]) -> dict[str, Any]:
    values = {name: _deserializer.deserialize(value) for name, value in item.items()}
    return {name: int(value) if isinstance(value, Decimal) else value for name, value in values.items()}


def _values(values: dict[str, Any]) -> dict[str, Any]:
    return {name: _serializer.serialize(value) for name, value in values.items()}


def chunk_count(total: int) -> int:
    return -(-total // RECIPIENTS_PER_CHUNK)


@dataclass(frozen=True, slots=True)
class RecipientKey:
    """Where a recipient lives. Its ``reference`` is what we hand a carrier, so a receipt
    that echoes it finds the row with no lookup item."""

    org_id: str
    message_id: str
    index: int

    @property
    def chunk(self) -> int:
        return self.index // RECIPIENTS_PER_CHUNK

    @property
    def reference(self) -> str:
        return f"{self.org_id}.{self.message_id}.{self.index}"

    @classmethod
    def from_reference(cls, reference: str) -> RecipientKey | None:
        parts = reference.split(".")
        if len(parts) != 3:
            return None
        org_id, message_id, index = parts
        if not (is_organization_id(org_id) and is_message_id(message_id) and index.isdigit()):
            return None
        return cls(org_id, message_id, int(index))


@dataclass(frozen=True, slots=True)
class NewMessage:
    org_id: str
    message_id: str
    text: str
    sender_id: str | None
    reference: str | None
    encoding: str
    segments: int
    total: int
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class MessageRecord:
    org_id: str
    message_id: str
    text: str
    sender_id: str | None
    reference: str | None
    encoding: str
    segments: int
    total: int
    delivered: int
    failed: int
    started: bool
    handed_off_chunks: int
    created_at: datetime
    updated_at: datetime

    @property
    def progress(self) -> MessageProgress:
        return MessageProgress(
            total=self.total,
            delivered=self.delivered,
            failed=self.failed,
            started=self.started,
            chunks=chunk_count(self.total),
            handed_off_chunks=self.handed_off_chunks,
        )

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> MessageRecord:
        values = _from_item(item)
        return cls(
            org_id=values["org_id"],
            message_id=values["message_id"],
            text=values["text"],
            sender_id=values.get("sender_id"),
            reference=values.get("reference"),
            encoding=values["encoding"],
            segments=values["segments"],
            total=values["total"],
            delivered=values.get("delivered", 0),
            failed=values.get("failed", 0),
            started="started_at" in values,
            handed_off_chunks=len(values.get("handed_off_chunks", ())),
            created_at=_parse_timestamp(values["created_at"]),
            updated_at=_parse_timestamp(values["updated_at"]),
        )


@dataclass(frozen=True, slots=True)
class RecipientRecord:
    """A recipient that dispatch has claimed (unclaimed ones exist only as a number in a chunk)."""

    index: int
    status: SmsStatus
    updated_at: datetime
    error_code: int | None = None
    error_message: str | None = None
    carrier_ref: str | None = None

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> RecipientRecord:
        values = _from_item(item)
        return cls(
            index=_index_of_recipient_sk(values["SK"]),
            status=SmsStatus(values["status"]),
            updated_at=_parse_timestamp(values["updated_at"]),
            error_code=values.get("error_code"),
            error_message=values.get("error_message"),
            carrier_ref=values.get("carrier_ref"),
        )


@dataclass(frozen=True, slots=True)
class RecipientView:
    """A recipient as a merchant sees it: its number and its state (pending until claimed)."""

    index: int
    to: str
    status: SmsStatus
    updated_at: datetime
    error_code: int | None = None
    error_message: str | None = None


@dataclass(frozen=True, slots=True)
class StatusPage:
    message: MessageRecord
    recipients: list[RecipientView]
    next_index: int | None


@dataclass(frozen=True, slots=True)
class ChunkWork:
    """What dispatch needs for one job: the message, the chunk's numbers and any rows already claimed."""

    message: MessageRecord
    numbers: list[str]
    first_index: int
    rows: dict[int, RecipientRecord]


@dataclass(frozen=True, slots=True)
class Transition:
    """Move one recipient to ``status``. ``carrier`` (for receipts) guards that the row was
    submitted through that carrier; ``create`` makes the row if dispatch never claimed it."""

    key: RecipientKey
    status: SmsStatus
    at: datetime
    error_code: ErrorCode | None = None
    carrier: str | None = None
    create: bool = False


@dataclass(slots=True)
class TransitionOutcome:
    applied: list[Transition] = field(default_factory=list)
    # The row was already at or past that state: a duplicate or late receipt, ignored.
    superseded: list[Transition] = field(default_factory=list)
    # No such row (or message): an unknown reference.
    missing: list[Transition] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    key_hash: str
    org_id: str


@dataclass(frozen=True, slots=True)
class OrganizationRecord:
    org_id: str
    name: str
    default_country: str


@dataclass(frozen=True, slots=True)
class CarrierRecord:
    name: str
    token_hash: str


class SmsRepository:
    """All reads and writes of the SMS table, named by intent."""

    def __init__(self, table_name: str, client: Any | None = None) -> None:
        self.table_name = table_name
        self._client = client

    @cached_property
    def client(self) -> Any:
        # Created on first use, not at import: cold starts that never touch the table stay cheap.
        return self._client or boto3.client("dynamodb")

    # --- organizations, app-keys, carriers -------------------------------------------------

    def create_organization(self, organization: OrganizationRecord, now: datetime) -> None:
        self.client.put_item(
            TableName=self.table_name,
            Item=_to_item(
                {
                    "PK": _org_pk(organization.org_id),
                    "SK": META,
                    "org_id": organization.org_id,
                    "name": organization.name,
                    "default_country": organization.default_country,
                    "created_at": _timestamp(now),
                }
            ),
            # Never overwrite an existing organization's settings.
            ConditionExpression="attribute_not_exists(PK)",
        )

    def get_organization(self, org_id: str) -> OrganizationRecord | None:
        item = self._get(_org_pk(org_id), META)
        if item is None:
            return None
        return OrganizationRecord(
            org_id=item["org_id"], name=item["name"], default_country=item["default_country"]
        )

    def store_app_key(self, key_hash: str, org_id: str, now: datetime) -> None:
        self.client.put_item(
            TableName=self.table_name,
            Item=_to_item(
                {"PK": _app_key_pk(key_hash), "SK": META, "org_id": org_id, "created_at": _timestamp(now)}
            ),
            # A hash collision with an existing key must never re-point it to another organization.
            ConditionExpression="attribute_not_exists(PK)",
        )

    def find_app_key(self, key_hash: str) -> ApiKeyRecord | None:
        item = self._get(_app_key_pk(key_hash), META)
        if item is None or item.get("revoked_at"):
            return None
        return ApiKeyRecord(key_hash=key_hash, org_id=item["org_id"])

    def store_carrier(self, carrier: CarrierRecord, now: datetime) -> None:
        self.client.put_item(
            TableName=self.table_name,
            Item=_to_item(
                {
                    "PK": _carrier_pk(carrier.name),
                    "SK": META,
                    "token_hash": carrier.token_hash,
                    "updated_at": _timestamp(now),
                }
            ),
        )

    def find_carrier(self, name: str) -> CarrierRecord | None:
        item = self._get(_carrier_pk(name), META)
        if item is None:
            return None
        return CarrierRecord(name=name, token_hash=item["token_hash"])

    # --- messages ------------------------------------------------------------------------

    def create_message(self, message: NewMessage, numbers: Sequence[str]) -> None:
        """Chunks first, the message last: until the message item exists nothing can see or
        dispatch the chunks, so a crash in between leaves only unreachable rows for TTL."""
        pk = _message_pk(message.org_id, message.message_id)
        expires_at = int(message.expires_at.timestamp())
        chunks = (
            {
                "PK": pk,
                "SK": _chunk_sk(chunk),
                "numbers": list(numbers[start : start + RECIPIENTS_PER_CHUNK]),
                "expires_at": expires_at,
            }
            for chunk, start in enumerate(range(0, len(numbers), RECIPIENTS_PER_CHUNK))
        )
        self._batch_put(chunks)
        self.client.put_item(
            TableName=self.table_name,
            Item=_to_item(
                {
                    "PK": pk,
                    "SK": META,
                    "kind": "message",
                    "org_id": message.org_id,
                    "message_id": message.message_id,
                    "text": message.text,
                    "sender_id": message.sender_id,
                    "reference": message.reference,
                    "encoding": message.encoding,
                    "segments": message.segments,
                    "total": message.total,
                    "delivered": 0,
                    "failed": 0,
                    "created_at": _timestamp(message.created_at),
                    "updated_at": _timestamp(message.created_at),
                    "expires_at": expires_at,
                }
            ),
            # Message ids are random; this only guards against ever replacing a live message.
            ConditionExpression="attribute_not_exists(PK)",
        )

    def get_message(self, org_id: str, message_id: str) -> MessageRecord | None:
        item = self._get_raw(_message_pk(org_id, message_id), META)
        return MessageRecord.from_item(item) if item else None

    def read_status_page(self, org_id: str, message_id: str, start: int, limit: int) -> StatusPage | None:
        """The message and recipients ``start .. start+limit-1``. The first page is one Query
        (META sorts just before the first chunk); later pages a GetItem and a Query."""
        pk = _message_pk(org_id, message_id)
        first_chunk = start // RECIPIENTS_PER_CHUNK
        last_chunk = (start + limit - 1) // RECIPIENTS_PER_CHUNK
        upper = f"{_chunk_sk(last_chunk)}#~"
        if start == 0:
            items = list(self._query_between(pk, META, upper))
            if not items or items[0]["SK"]["S"] != META:
                return None
            message = MessageRecord.from_item(items[0])
            items = items[1:]
        else:
            found = self.get_message(org_id, message_id)
            if found is None:
                return None
            message = found
            items = list(self._query_between(pk, _chunk_sk(first_chunk), upper))
        end = min(start + limit, message.total)
        numbers: dict[int, str] = {}
        rows: dict[int, RecipientRecord] = {}
        for item in items:
            sort_key = item["SK"]["S"]
            if "#R#" in sort_key:
                row = RecipientRecord.from_item(item)
                rows[row.index] = row
            else:
                base = int(sort_key[2:]) * RECIPIENTS_PER_CHUNK
                for offset, number in enumerate(_from_item(item)["numbers"]):
                    numbers[base + offset] = number
        recipients = [
            self._view(index, numbers[index], rows.get(index), message) for index in range(start, end)
        ]
        return StatusPage(
            message=message, recipients=recipients, next_index=end if end < message.total else None
        )

    @staticmethod
    def _view(index: int, number: str, row: RecipientRecord | None, message: MessageRecord) -> RecipientView:
        if row is None:
            return RecipientView(
                index=index, to=number, status=SmsStatus.PENDING, updated_at=message.created_at
            )
        return RecipientView(
            index=index,
            to=number,
            status=row.status,
            updated_at=row.updated_at,
            error_code=row.error_code,
            error_message=row.error_message,
        )

    def read_chunk_work(self, org_id: str, message_id: str, chunk: int) -> ChunkWork | None:
        message = self.get_message(org_id, message_id)
        if message is None:
            return None
        pk = _message_pk(org_id, message_id)
        numbers: list[str] = []
        rows: dict[int, RecipientRecord] = {}
        for item in self._query_between(pk, _chunk_sk(chunk), f"{_chunk_sk(chunk)}#~"):
            if "#R#" in item["SK"]["S"]:
                row = RecipientRecord.from_item(item)
                rows[row.index] = row
            else:
                numbers = list(_from_item(item)["numbers"])
        return ChunkWork(
            message=message, numbers=numbers, first_index=chunk * RECIPIENTS_PER_CHUNK, rows=rows
        )

    # --- recipient transitions -------------------------------------------------------------

    def claim_recipient(self, key: RecipientKey, carrier: str, now: datetime, stale_after: timedelta) -> bool:
        """Create the recipient row in ``processing``: creation and claim in one write. A
        redelivered job can only take over a claim that was never recorded as submitted and
        is older than ``stale_after`` (longer than a dispatch run), so no two runs submit it."""
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item=_to_item(
                    {
                        "PK": _message_pk(key.org_id, key.message_id),
                        "SK": _recipient_sk(key.index),
                        "status": SmsStatus.PROCESSING.value,
                        "tier": int(Tier.PROCESSING),
                        "carrier": carrier,
                        "claimed_at": _timestamp(now),
                        "updated_at": _timestamp(now),
                    }
                ),
                ConditionExpression=(
                    "attribute_not_exists(PK) OR "
                    "(#status = :processing AND attribute_not_exists(carrier_ref) AND claimed_at < :stale)"
                ),
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=_values(
                    {":processing": SmsStatus.PROCESSING.value, ":stale": _timestamp(now - stale_after)}
                ),
            )
        except ClientError as error:
            if _is_condition_failure(error):
                return False
            raise
        return True

    def mark_started(self, org_id: str, message_id: str, now: datetime) -> None:
        """The first claim turns the message ``processing``; written once, so later chunks
        produce no stream record."""
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key=_to_item({"PK": _message_pk(org_id, message_id), "SK": META}),
                UpdateExpression="SET started_at = :now, updated_at = :now",
                ConditionExpression="attribute_exists(PK) AND attribute_not_exists(started_at)",
                ExpressionAttributeValues=_values({":now": _timestamp(now)}),
            )
        except ClientError as error:
            if not _is_condition_failure(error):
                raise

    def record_handoff(self, key: RecipientKey, carrier_ref: str, now: datetime) -> bool:
        """The carrier accepted the recipient: ``processing → sent`` with its reference. A
        receipt may have outrun this write (SMPP race), so it only applies below tier 3."""
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key=_to_item({"PK": _message_pk(key.org_id, key.message_id), "SK": _recipient_sk(key.index)}),
                UpdateExpression="SET #status = :sent, #tier = :tier, carrier_ref = :ref, updated_at = :now",
                ConditionExpression="attribute_exists(PK) AND #tier < :tier",
                ExpressionAttributeNames={"#status": "status", "#tier": "tier"},
                ExpressionAttributeValues=_values(
                    {
                        ":sent": SmsStatus.SENT.value,
                        ":tier": int(Tier.HANDED_OFF),
                        ":ref": carrier_ref,
                        ":now": _timestamp(now),
                    }
                ),
            )
        except ClientError as error:
            if _is_condition_failure(error):
                return False
            raise
        return True

    def mark_chunk_handed_off(self, org_id: str, message_id: str, chunk: int, now: datetime) -> None:
        """Adding to a set is idempotent, so a redelivered job cannot count a chunk twice."""
        self.client.update_item(
            TableName=self.table_name,
            Key=_to_item({"PK": _message_pk(org_id, message_id), "SK": META}),
            UpdateExpression="ADD handed_off_chunks :chunk SET updated_at = :now",
            ConditionExpression="attribute_exists(PK)",
            ExpressionAttributeValues=_values({":chunk": {chunk}, ":now": _timestamp(now)}),
        )

    def apply_transitions(self, transitions: Sequence[Transition]) -> TransitionOutcome:
        """Apply recipient moves, per message in transactions of ≤ 99 rows plus one counter
        update on the message: the counters move exactly when the rows do."""
        outcome = TransitionOutcome()
        by_message: dict[tuple[str, str], list[Transition]] = {}
        for transition in transitions:
            by_message.setdefault((transition.key.org_id, transition.key.message_id), []).append(transition)
        for group in by_message.values():
            for start in range(0, len(group), RECIPIENTS_PER_TRANSACTION):
                self._apply_group(group[start : start + RECIPIENTS_PER_TRANSACTION], outcome)
        return outcome

    def _apply_group(self, group: list[Transition], outcome: TransitionOutcome) -> None:
        pending = list(group)
        for attempt in range(_MAX_ATTEMPTS):
            if not pending:
                return
            items = [self._transition_item(transition) for transition in pending]
            message_update = self._counter_item(pending)
            if message_update is not None:
                items.append(message_update)
            try:
                self.client.transact_write_items(TransactItems=items)
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                    if _error_code(error) in _RETRYABLE_CODES:
                        _backoff(attempt)
                        continue
                    raise
                reasons = error.response.get("CancellationReasons", [])
                if any(reason.get("Code") in _RETRYABLE_REASONS for reason in reasons):
                    _backoff(attempt)
                    continue
                last_code = reasons[-1].get("Code") if reasons else None
                if message_update is not None and last_code == "ConditionalCheckFailed":
                    # The message itself is gone (cancelled or expired): nothing to move.
                    outcome.missing.extend(pending)
                    return
                keep: list[Transition] = []
                for transition, reason in zip(pending, reasons, strict=False):
                    if reason.get("Code") != "ConditionalCheckFailed":
                        keep.append(transition)
                    elif transition.create or reason.get("Item"):
                        outcome.superseded.append(transition)
                    else:
                        outcome.missing.append(transition)
                pending = keep
                continue
            outcome.applied.extend(pending)
            return
        raise StorageBusyError(f"transition of {len(pending)} recipients kept conflicting")

    def _transition_item(self, transition: Transition) -> dict[str, Any]:
        key = transition.key
        tier = transition.status.tier
        if tier is None:
            raise ValueError(f"{transition.status} is not a state a recipient can move to")
        values: dict[str, Any] = {
            "status": transition.status.value,
            "tier": int(tier),
            "updated_at": _timestamp(transition.at),
        }
        if transition.error_code is not None:
            values["error_code"] = int(transition.error_code)
            values["error_message"] = transition.error_code.name
        if transition.create:
            values |= {"PK": _message_pk(key.org_id, key.message_id), "SK": _recipient_sk(key.index)}
            return {
                "Put": {
                    "TableName": self.table_name,
                    "Item": _to_item(values),
                    # Dispatch fails an unclaimed recipient (e.g. an invalid number) only once.
                    "ConditionExpression": "attribute_not_exists(PK)",
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            }
        names = {f"#{name}": name for name in values}
        expression_values = {f":{name}": value for name, value in values.items()}
        # Forward only (sideways inside handed-off); terminal absorbs duplicates and late receipts.
        condition = "attribute_exists(PK) AND #tier < :tier"
        if tier is Tier.HANDED_OFF:
            condition = "attribute_exists(PK) AND #tier <= :tier AND #status <> :status"
        if transition.carrier is not None:
            # A carrier can only report on recipients that were submitted through it.
            condition += " AND #carrier = :carrier"
            names["#carrier"] = "carrier"
            expression_values[":carrier"] = transition.carrier
        return {
            "Update": {
                "TableName": self.table_name,
                "Key": _to_item(
                    {"PK": _message_pk(key.org_id, key.message_id), "SK": _recipient_sk(key.index)}
                ),
                "UpdateExpression": "SET " + ", ".join(f"#{name} = :{name}" for name in values),
                "ConditionExpression": condition,
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": _values(expression_values),
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }

    def _counter_item(self, transitions: Sequence[Transition]) -> dict[str, Any] | None:
        delivered = sum(1 for transition in transitions if transition.status.is_success)
        failed = sum(1 for transition in transitions if transition.status.is_terminal) - delivered
        if not delivered and not failed:
            return None
        key = transitions[0].key
        latest = max(transition.at for transition in transitions)
        return {
            "Update": {
                "TableName": self.table_name,
                "Key": _to_item({"PK": _message_pk(key.org_id, key.message_id), "SK": META}),
                "UpdateExpression": "ADD delivered :delivered, failed :failed SET updated_at = :now",
                # The message must still exist: counters never resurrect a cancelled message.
                "ConditionExpression": "attribute_exists(PK)",
                "ExpressionAttributeValues": _values(
                    {":delivered": delivered, ":failed": failed, ":now": _timestamp(latest)}
                ),
            }
        }

    # --- plumbing --------------------------------------------------------------------------

    def _get_raw(self, pk: str, sk: str) -> dict[str, Any] | None:
        response = self.client.get_item(TableName=self.table_name, Key=_to_item({"PK": pk, "SK": sk}))
        item: dict[str, Any] | None = response.get("Item")
        return item

    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        item = self._get_raw(pk, sk)
        return _from_item(item) if item else None

    def _query_between(self, pk: str, low: str, high: str) -> Iterator[dict[str, Any]]:
        arguments: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "PK = :pk AND SK BETWEEN :low AND :high",
            "ExpressionAttributeValues": _values({":pk": pk, ":low": low, ":high": high}),
        }
        while True:
            response = self.client.query(**arguments)
            yield from response.get("Items", [])
            if "LastEvaluatedKey" not in response:
                return
            arguments["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def _batch_put(self, rows: Iterable[dict[str, Any]]) -> None:
        batch: list[dict[str, Any]] = []
        for row in rows:
            batch.append({"PutRequest": {"Item": _to_item(row)}})
            if len(batch) == _BATCH_WRITE_LIMIT:
                self._write_batch(batch)
                batch = []
        if batch:
            self._write_batch(batch)

    def _write_batch(self, requests: list[dict[str, Any]]) -> None:
        for attempt in range(_MAX_ATTEMPTS):
            response = self.client.batch_write_item(RequestItems={self.table_name: requests})
            requests = response.get("UnprocessedItems", {}).get(self.table_name, [])
            if not requests:
                return
            _backoff(attempt)
        raise StorageBusyError(f"{len(requests)} items stayed unprocessed")


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _is_condition_failure(error: ClientError) -> bool:
    return _error_code(error) == "ConditionalCheckFailedException"


def _backoff(attempt: int) -> None:
    # Full jitter (AWS Architecture Blog): spreads retries of conflicting writers apart.
    time.sleep(random.uniform(0, min(1.0, 0.02 * 2**attempt)))  # noqa: S311 - jitter, not security
