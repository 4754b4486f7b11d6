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

import hashlib
import random
import time
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from functools import cached_property
from typing import Any

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from lisoloo.errors import ErrorCode, StorageBusyError
from lisoloo.identifiers import is_message_id, is_organization_id
from lisoloo.status import MessageProgress, SmsStatus, Tier

RECIPIENTS_PER_CHUNK = 100
CHUNK_SEPARATOR = " "
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
DUE_INDEX = "due"
DUE_SHARDS = 16
_DUE_ATTRIBUTES = "due_shard, due_at, due_kind"


class DueKind(StrEnum):
    """Why an item sits in the sparse ``due`` index: what the sweep must do when it is due."""

    RELEASE = "release"  # a message to hand to dispatch (scheduled, or whose jobs may be lost)
    DEADLINE = "deadline"  # a dispatched message that may still wait for receipts
    RETRY = "retry"  # a recipient whose submission failed transiently
    PARKED = "parked"  # a receipt whose carrier id was not known yet, to apply again


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


def _app_key_listing_sk(key_id: str) -> str:
    # Under the organization's own item (ORG#{org} / META), so its keys are one Query away.
    return f"APPKEY#{key_id}"


def _carrier_pk(carrier: str) -> str:
    return f"CARRIER#{carrier}"


def _carrier_ref_pk(carrier: str, carrier_ref: str) -> str:
    return f"CARRIER#{carrier}#{carrier_ref}"


CARRIER_REF_SK = "REF"
_PARKED_SK_PREFIX = "PARKED#"


def _schedule_pk(org_id: str, schedule_id: str) -> str:
    return f"ORG#{org_id}#SCHED#{schedule_id}"


def _due_shard(pk: str) -> str:
    # Spread due items over a few index partitions; the same item always lands in the same one.
    return f"DUE#{zlib.crc32(pk.encode()) % DUE_SHARDS}"


def _due_values(pk: str, due_at: datetime, kind: DueKind) -> dict[str, Any]:
    return {"due_shard": _due_shard(pk), "due_at": _timestamp(due_at), "due_kind": kind.value}


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse_timestamp(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _to_item(values: dict[str, Any]) -> dict[str, Any]:
    return {name: _serializer.serialize(value) for name, value in values.items() if value is not None}


def _from_item(item: dict[str, Any]) -> dict[str, Any]:
    values = {name: _deserializer.deserialize(value) for name, value in item.items()}
    return {name: int(value) if isinstance(value, Decimal) else value for name, value in values.items()}


def _wire_string(item: dict[str, Any], name: str) -> str | None:
    value = item.get(name)
    return value["S"] if value is not None else None


def _wire_integer(item: dict[str, Any], name: str) -> int | None:
    value = item.get(name)
    return int(value["N"]) if value is not None else None


def _chunk_numbers(item: dict[str, Any]) -> list[str]:
    """A chunk item's numbers: one space-separated string (numbers are E.164, never spaced);
    chunks written before that are lists."""
    value = item["numbers"]
    return value["S"].split(CHUNK_SEPARATOR) if "S" in value else [entry["S"] for entry in value["L"]]


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
        # ASCII digits only: str.isdigit() also admits '²', which int() refuses.
        if not (is_organization_id(org_id) and is_message_id(message_id) and index.isascii() and index.isdigit()):
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
    # When the sweep looks at it first: the scheduled time, or a guard in case its jobs are lost.
    due_at: datetime
    callback_url: str | None = None
    scheduled_for: datetime | None = None
    schedule_id: str | None = None
    # 1, 2, ... for the occurrences of a recurrence; 0 for an explicit scheduled date.
    occurrence_number: int | None = None


@dataclass(frozen=True, slots=True)
class NewSchedule:
    org_id: str
    schedule_id: str
    text: str
    sender_id: str | None
    reference: str | None
    encoding: str
    segments: int
    total: int
    recurring: str | None  # the recurrence as JSON (models.RecurringSchedule), or None
    created_at: datetime
    callback_url: str | None = None


@dataclass(frozen=True, slots=True)
class ScheduleRecord(NewSchedule):
    occurrences_created: int = 0
    occurrence_ids: tuple[str, ...] = ()
    cancelled: bool = False

    def as_new(self) -> NewSchedule:
        return NewSchedule(
            org_id=self.org_id,
            schedule_id=self.schedule_id,
            text=self.text,
            sender_id=self.sender_id,
            reference=self.reference,
            encoding=self.encoding,
            segments=self.segments,
            total=self.total,
            recurring=self.recurring,
            created_at=self.created_at,
            callback_url=self.callback_url,
        )

    @classmethod
    def from_values(cls, values: dict[str, Any]) -> ScheduleRecord:
        return cls(
            org_id=values["org_id"],
            schedule_id=values["schedule_id"],
            text=values["text"],
            sender_id=values.get("sender_id"),
            reference=values.get("reference"),
            encoding=values["encoding"],
            segments=values["segments"],
            total=values["total"],
            recurring=values.get("recurring"),
            created_at=_parse_timestamp(values["created_at"]),
            callback_url=values.get("callback_url"),
            occurrences_created=values.get("occurrences_created", 0),
            occurrence_ids=tuple(values.get("occurrence_ids", ())),
            cancelled="cancelled_at" in values,
        )


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
    released: bool = True
    scheduled_for: datetime | None = None
    schedule_id: str | None = None
    # Until release, a scheduled occurrence's numbers live once in its schedule's partition.
    numbers_in_schedule: bool = False
    occurrence_number: int | None = None
    error_code: int | None = None
    callback_url: str | None = None

    @property
    def progress(self) -> MessageProgress:
        return MessageProgress(
            total=self.total,
            delivered=self.delivered,
            failed=self.failed,
            released=self.released,
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
            released="released_at" in values,
            scheduled_for=_parse_timestamp(values["scheduled_for"]) if "scheduled_for" in values else None,
            schedule_id=values.get("schedule_id"),
            numbers_in_schedule=bool(values.get("numbers_in_schedule")),
            occurrence_number=values.get("occurrence_number"),
            callback_url=values.get("callback_url"),
            error_code=values.get("error_code"),
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
    carrier: str | None = None
    attempts: int = 1

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> RecipientRecord:
        # Read straight from the wire form: a status page reads a hundred of these, and the
        # generic deserializer (a Decimal per number) was most of the page's own time.
        return cls(
            index=_index_of_recipient_sk(item["SK"]["S"]),
            status=SmsStatus(item["status"]["S"]),
            updated_at=_parse_timestamp(item["updated_at"]["S"]),
            error_code=_wire_integer(item, "error_code"),
            error_message=_wire_string(item, "error_message"),
            carrier_ref=_wire_string(item, "carrier_ref"),
            carrier=_wire_string(item, "carrier"),
            attempts=_wire_integer(item, "attempts") or 1,
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
class DueItem:
    """An entry of the due index: which item, what is due, and the due time as stored (the
    value a lease is conditioned on)."""

    pk: str
    sk: str
    kind: DueKind
    due_at: str

    @classmethod
    def from_index_item(cls, item: dict[str, Any]) -> DueItem:
        values = _from_item(item)
        return cls(values["PK"], values["SK"], DueKind(values["due_kind"]), values["due_at"])

    @property
    def org_id(self) -> str:
        return self.pk.split("#")[1]

    @property
    def message_id(self) -> str:
        return self.pk.split("#")[3]

    @property
    def recipient(self) -> RecipientKey:
        return RecipientKey(self.org_id, self.message_id, _index_of_recipient_sk(self.sk))


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    key_hash: str
    org_id: str


@dataclass(frozen=True, slots=True)
class NewAppKey:
    """An app-key to store: its SHA-256 (the only form of the key we keep), an id to name it by
    and a hint (its first and last characters) to recognise it."""

    key_id: str
    key_hash: str
    org_id: str
    hint: str
    label: str | None = None


@dataclass(frozen=True, slots=True)
class AppKeyInfo:
    """An app-key as an operator lists it: never the key, never its hash."""

    key_id: str
    org_id: str
    hint: str
    created_at: datetime
    label: str | None = None
    # When it stops (or stopped) working; a rotation can leave the old key a grace period.
    revoked_at: datetime | None = None

    def active(self, now: datetime) -> bool:
        return self.revoked_at is None or self.revoked_at > now


@dataclass(frozen=True, slots=True)
class OrganizationRecord:
    org_id: str
    name: str
    default_country: str
    webhook_url: str | None = None
    # Kept readable (encrypted at rest by the table): a signing key cannot be stored hashed.
    webhook_secret: str | None = None
    previous_webhook_secret: str | None = None
    previous_secret_valid_until: datetime | None = None
    # Sender ids the organization may send as (the first is its default); empty: any.
    sender_ids: tuple[str, ...] = ()
    # Its own usage-plan throttle (requests per second, burst); None: the template's default plan.
    rate_limit: int | None = None
    burst_limit: int | None = None

    def signing_secrets(self, now: datetime) -> list[str]:
        """The current secret, and the rotated-out one while it is still honoured."""
        secrets = [self.webhook_secret] if self.webhook_secret else []
        until = self.previous_secret_valid_until
        if self.previous_webhook_secret and until is not None and until > now:
            secrets.append(self.previous_webhook_secret)
        return secrets


@dataclass(frozen=True, slots=True)
class CarrierRecord:
    name: str
    token_hash: str


@dataclass(frozen=True, slots=True)
class ParkedReceipt:
    """A receipt that named a carrier id no lookup item knew yet (it outran the submit
    response); kept and applied again until ``give_up_at``."""

    carrier: str
    carrier_ref: str
    status: SmsStatus
    parked_at: datetime
    give_up_at: datetime
    error_code: str | None = None
    done_at: datetime | None = None
    part: str | None = None

    @property
    def fingerprint(self) -> str:
        """Same receipt, same item: a carrier re-sending it does not park it twice."""
        values = (self.status.value, self.error_code or "", self.part or "", self.done_at or "")
        return hashlib.sha256("|".join(map(str, values)).encode()).hexdigest()[:24]


@dataclass(frozen=True, slots=True)
class PartProgress:
    """The per-part outcomes of a multi-part recipient, after recording one part.
    ``recorded`` is False when that part had been recorded before (a re-sent receipt)."""

    delivered: int
    failed: int
    failure: SmsStatus | None
    recorded: bool

    @property
    def reported(self) -> int:
        return self.delivered + self.failed


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
        until = item.get("previous_secret_valid_until")
        return OrganizationRecord(
            org_id=item["org_id"],
            name=item["name"],
            default_country=item["default_country"],
            webhook_url=item.get("webhook_url"),
            webhook_secret=item.get("webhook_secret"),
            previous_webhook_secret=item.get("previous_webhook_secret"),
            previous_secret_valid_until=_parse_timestamp(until) if until else None,
            sender_ids=tuple(item.get("sender_ids", ())),
            rate_limit=item.get("rate_limit"),
            burst_limit=item.get("burst_limit"),
        )

    def set_webhook_url(self, org_id: str, url: str | None, secret_if_none: str, now: datetime) -> str:
        """Sets (or, with None, removes) the organization's webhook URL; gives it a signing
        secret if it has none. Returns the secret in force."""
        if url is None:
            update, values = "REMOVE webhook_url SET updated_at = :now", {":now": _timestamp(now)}
        else:
            update = (
                "SET webhook_url = :url, webhook_secret = if_not_exists(webhook_secret, :secret), updated_at = :now"
            )
            values = {":url": url, ":secret": secret_if_none, ":now": _timestamp(now)}
        response = self.client.update_item(
            TableName=self.table_name,
            Key=_to_item({"PK": _org_pk(org_id), "SK": META}),
            UpdateExpression=update,
            ConditionExpression="attribute_exists(PK)",
            ExpressionAttributeValues=_values(values),
            ReturnValues="ALL_NEW",
        )
        secret: str = _from_item(response["Attributes"]).get("webhook_secret", "")
        return secret

    def rotate_webhook_secret(self, org_id: str, new_secret: str, old_valid_until: datetime, now: datetime) -> None:
        self.client.update_item(
            TableName=self.table_name,
            Key=_to_item({"PK": _org_pk(org_id), "SK": META}),
            UpdateExpression=(
                "SET previous_webhook_secret = webhook_secret, previous_secret_valid_until = :until,"
                " webhook_secret = :secret, updated_at = :now"
            ),
            # Only an organization that has a secret rotates; otherwise there is nothing to keep.
            ConditionExpression="attribute_exists(webhook_secret)",
            ExpressionAttributeValues=_values(
                {":until": _timestamp(old_valid_until), ":secret": new_secret, ":now": _timestamp(now)}
            ),
        )

    def add_app_key(self, key: NewAppKey, now: datetime) -> None:
        """The lookup item the authorizer reads (by hash) and the listing item under the
        organization, in one transaction. Ids and keys are random, so a cancelled transaction
        means the organization does not exist: ``LookupError``."""
        created = _timestamp(now)
        try:
            self._transact_write(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self.table_name,
                            "Item": _to_item(
                                {
                                    "PK": _app_key_pk(key.key_hash),
                                    "SK": META,
                                    "org_id": key.org_id,
                                    "key_id": key.key_id,
                                    "created_at": created,
                                }
                            ),
                            # A hash collision must never re-point an existing key to another organization.
                            "ConditionExpression": "attribute_not_exists(PK)",
                        }
                    },
                    {
                        "Put": {
                            "TableName": self.table_name,
                            "Item": _to_item(
                                {
                                    "PK": _org_pk(key.org_id),
                                    "SK": _app_key_listing_sk(key.key_id),
                                    "key_id": key.key_id,
                                    "key_hash": key.key_hash,
                                    "hint": key.hint,
                                    "label": key.label,
                                    "created_at": created,
                                }
                            ),
                            "ConditionExpression": "attribute_not_exists(PK)",
                        }
                    },
                    {
                        "ConditionCheck": {
                            "TableName": self.table_name,
                            "Key": _to_item({"PK": _org_pk(key.org_id), "SK": META}),
                            # Keys only for organizations that exist.
                            "ConditionExpression": "attribute_exists(PK)",
                        }
                    },
                ]
            )
        except ClientError as error:
            if _error_code(error) == "TransactionCanceledException":
                raise LookupError(f"no organization {key.org_id}") from error
            raise

    def _transact_write(self, TransactItems: list[dict[str, Any]]) -> None:  # boto3's parameter name
        """``transact_write_items`` that retries what is not an answer (a conflict with another
        transaction, throttling) with backoff; a cancellation for a failed condition is raised."""
        for attempt in range(_MAX_ATTEMPTS):
            try:
                self.client.transact_write_items(TransactItems=TransactItems)
                return
            except ClientError as error:
                reasons = error.response.get("CancellationReasons", [])
                retryable = _error_code(error) in _RETRYABLE_CODES or any(
                    reason.get("Code") in _RETRYABLE_REASONS for reason in reasons
                )
                if not retryable or attempt == _MAX_ATTEMPTS - 1:
                    raise
                _backoff(attempt)

    def find_app_key(self, key_hash: str, now: datetime | None = None) -> ApiKeyRecord | None:
        """The key's organization, unless the key is unknown or its revocation time has come."""
        item = self._get(_app_key_pk(key_hash), META)
        if item is None:
            return None
        revoked_at = item.get("revoked_at")
        if revoked_at and _parse_timestamp(revoked_at) <= (now or datetime.now(UTC)):
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

    # --- admin: app-key listing and revocation, organization settings (lisoloo-admin) ---------

    def list_app_keys(self, org_id: str) -> list[AppKeyInfo]:
        """Every key the organization was issued, oldest id first: hints and dates only."""
        pk = _org_pk(org_id)
        low, high = _app_key_listing_sk(""), _app_key_listing_sk("~")
        return [_app_key_info(org_id, _from_item(item)) for item in self._query_between(pk, low, high)]

    def revoke_app_key(self, org_id: str, key_id: str, at: datetime) -> AppKeyInfo | None:
        """The key stops working at ``at`` (now, or later for a rotation's grace period); a key
        already revoked earlier keeps its earlier time. None if the organization has no such key."""
        listing = self._get(_org_pk(org_id), _app_key_listing_sk(key_id))
        if listing is None:
            return None
        when = _timestamp(at)
        # Only ever brings a revocation forward: a second revoke cannot revive a key for a while.
        condition = "attribute_exists(PK) AND (attribute_not_exists(revoked_at) OR revoked_at > :at)"
        try:
            # A conflict is retried: swallowed, it would leave the key working while reported revoked.
            self._transact_write(
                TransactItems=[
                    {
                        "Update": {
                            "TableName": self.table_name,
                            "Key": _to_item({"PK": _org_pk(org_id), "SK": _app_key_listing_sk(key_id)}),
                            "UpdateExpression": "SET revoked_at = :at",
                            "ConditionExpression": condition,
                            "ExpressionAttributeValues": _values({":at": when}),
                        }
                    },
                    {
                        "Update": {
                            "TableName": self.table_name,
                            "Key": _to_item({"PK": _app_key_pk(listing["key_hash"]), "SK": META}),
                            "UpdateExpression": "SET revoked_at = :at",
                            "ConditionExpression": condition,
                            "ExpressionAttributeValues": _values({":at": when}),
                        }
                    },
                ]
            )
        except ClientError as error:
            if _error_code(error) != "TransactionCanceledException":
                raise
        current = self._get(_org_pk(org_id), _app_key_listing_sk(key_id))
        return _app_key_info(org_id, current) if current else None

    def set_default_country(self, org_id: str, country: str, now: datetime) -> None:
        self._update_organization(org_id, now, set_values={"default_country": country})

    def set_sender_ids(self, org_id: str, sender_ids: Sequence[str], now: datetime) -> None:
        if sender_ids:
            self._update_organization(org_id, now, set_values={"sender_ids": list(sender_ids)})
        else:
            self._update_organization(org_id, now, remove=("sender_ids",))

    def set_rate_limit(self, org_id: str, rate_limit: int | None, burst_limit: int | None, now: datetime) -> None:
        """The organization's own throttle, or (None) back to the default plan's."""
        if rate_limit is None or burst_limit is None:
            self._update_organization(org_id, now, remove=("rate_limit", "burst_limit"))
        else:
            self._update_organization(org_id, now, set_values={"rate_limit": rate_limit, "burst_limit": burst_limit})

    def _update_organization(
        self,
        org_id: str,
        now: datetime,
        *,
        set_values: dict[str, Any] | None = None,
        remove: Sequence[str] = (),
    ) -> None:
        values = {**(set_values or {}), "updated_at": _timestamp(now)}
        update = "SET " + ", ".join(f"#{name} = :{name}" for name in values)
        if remove:
            update += " REMOVE " + ", ".join(f"#{name}" for name in remove)
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key=_to_item({"PK": _org_pk(org_id), "SK": META}),
                UpdateExpression=update,
                # Settings of an organization that exists; never creates a half organization.
                ConditionExpression="attribute_exists(PK)",
                ExpressionAttributeNames={f"#{name}": name for name in [*values, *remove]},
                ExpressionAttributeValues=_values({f":{name}": value for name, value in values.items()}),
            )
        except ClientError as error:
            if _is_condition_failure(error):
                raise LookupError(f"no organization {org_id}") from error
            raise

    # --- messages ------------------------------------------------------------------------

    def create_message(self, message: NewMessage, numbers: Sequence[str]) -> None:
        """Chunks first, the message last: until the message item exists nothing can see or
        dispatch the chunks, so a crash in between leaves only unreachable rows for TTL."""
        pk = _message_pk(message.org_id, message.message_id)
        self._put_chunks(pk, numbers, message.expires_at)
        self._put_new(_message_item(message, numbers_in_schedule=False))

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
        if message.numbers_in_schedule and message.schedule_id:
            # Not released yet: its numbers are still only in the schedule's partition.
            schedule_pk = _schedule_pk(org_id, message.schedule_id)
            items += list(self._query_between(schedule_pk, _chunk_sk(first_chunk), upper))
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
                for offset, number in enumerate(_chunk_numbers(item)):
                    numbers[base + offset] = number
        recipients = [self._view(index, numbers[index], rows.get(index), message) for index in range(start, end)]
        return StatusPage(message=message, recipients=recipients, next_index=end if end < message.total else None)

    @staticmethod
    def _view(index: int, number: str, row: RecipientRecord | None, message: MessageRecord) -> RecipientView:
        if row is None:
            status = SmsStatus.PENDING if message.released else SmsStatus.SCHEDULED
            return RecipientView(index=index, to=number, status=status, updated_at=message.created_at)
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
                numbers = list(_chunk_numbers(item))
        return ChunkWork(message=message, numbers=numbers, first_index=chunk * RECIPIENTS_PER_CHUNK, rows=rows)

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
                        "attempts": 1,
                        "claimed_at": _timestamp(now),
                        "updated_at": _timestamp(now),
                    }
                ),
                ConditionExpression=(
                    "attribute_not_exists(PK) OR (#status = :processing AND attribute_not_exists(carrier_ref)"
                    " AND attribute_not_exists(due_at) AND claimed_at < :stale)"
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

    def mark_started(self, org_id: str, message_id: str, now: datetime, deadline: datetime) -> None:
        """The first claim turns the message ``processing`` and starts its receipt deadline;
        written once, so later chunks produce no stream record."""
        pk = _message_pk(org_id, message_id)
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key=_to_item({"PK": pk, "SK": META}),
                UpdateExpression=(
                    "SET started_at = :now, updated_at = :now, due_shard = :shard, due_at = :due, due_kind = :kind"
                ),
                ConditionExpression="attribute_exists(PK) AND attribute_not_exists(started_at)",
                ExpressionAttributeValues=_values(
                    {
                        ":now": _timestamp(now),
                        ":shard": _due_shard(pk),
                        ":due": _timestamp(deadline),
                        ":kind": DueKind.DEADLINE.value,
                    }
                ),
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
                UpdateExpression=(
                    "SET #status = :sent, #tier = :tier, carrier_ref = :ref, updated_at = :now"
                    f" REMOVE {_DUE_ATTRIBUTES}"
                ),
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

    def schedule_retry(self, key: RecipientKey, attempts: int, retry_at: datetime) -> None:
        """A transient carrier failure: the recipient stays ``processing`` (no event fires) and
        waits in the due index for its next attempt."""
        pk = _message_pk(key.org_id, key.message_id)
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key=_to_item({"PK": pk, "SK": _recipient_sk(key.index)}),
                UpdateExpression="SET attempts = :attempts, due_shard = :shard, due_at = :due, due_kind = :kind",
                # Only a recipient still ours: a receipt or the deadline may have finished it.
                ConditionExpression="#status = :processing AND attribute_not_exists(carrier_ref)",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=_values(
                    {
                        ":attempts": attempts,
                        ":shard": _due_shard(pk),
                        ":due": _timestamp(retry_at),
                        ":kind": DueKind.RETRY.value,
                        ":processing": SmsStatus.PROCESSING.value,
                    }
                ),
            )
        except ClientError as error:
            if not _is_condition_failure(error):
                raise

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
        update on the message: the counters move exactly when the rows do.

        One move per recipient: a transaction may not touch an item twice, so of several moves
        for one recipient (a re-sent or out-of-order receipt in the same batch) only the one
        that goes furthest is written and the others count as superseded."""
        outcome = TransitionOutcome()
        furthest: dict[RecipientKey, Transition] = {}
        for transition in transitions:
            kept = furthest.get(transition.key)
            if kept is None or _goes_further(transition, kept):
                if kept is not None:
                    outcome.superseded.append(kept)
                furthest[transition.key] = transition
            else:
                outcome.superseded.append(transition)
        by_message: dict[tuple[str, str], list[Transition]] = {}
        for transition in furthest.values():
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
        update = "SET " + ", ".join(f"#{name} = :{name}" for name in values)
        if tier is Tier.TERMINAL:
            update += f" REMOVE {_DUE_ATTRIBUTES}"  # nothing left to retry
        return {
            "Update": {
                "TableName": self.table_name,
                "Key": _to_item({"PK": _message_pk(key.org_id, key.message_id), "SK": _recipient_sk(key.index)}),
                "UpdateExpression": update,
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

    # --- schedules -----------------------------------------------------------------------------

    def create_schedule(
        self,
        schedule: NewSchedule,
        numbers: Sequence[str],
        occurrences: Sequence[NewMessage],
        expires_at: datetime,
    ) -> None:
        """The numbers once, in the schedule's partition; then the occurrences; the schedule
        item last, listing them, so cancelling can always find every occurrence it may remove."""
        pk = _schedule_pk(schedule.org_id, schedule.schedule_id)
        self._put_chunks(pk, numbers, expires_at)
        for message in occurrences:
            self._put_new(_message_item(message, numbers_in_schedule=True))
        recurring_count = sum(1 for message in occurrences if message.occurrence_number)
        self._put_new(
            {
                "PK": pk,
                "SK": META,
                "kind": "schedule",
                "org_id": schedule.org_id,
                "schedule_id": schedule.schedule_id,
                "text": schedule.text,
                "sender_id": schedule.sender_id,
                "reference": schedule.reference,
                "encoding": schedule.encoding,
                "segments": schedule.segments,
                "total": schedule.total,
                "recurring": schedule.recurring,
                "callback_url": schedule.callback_url,
                "occurrences_created": recurring_count,
                "occurrence_ids": [message.message_id for message in occurrences],
                "created_at": _timestamp(schedule.created_at),
                # A recurrence with no end keeps its numbers until it is cancelled.
                "expires_at": None if schedule.recurring else int(expires_at.timestamp()),
            }
        )

    def get_schedule(self, org_id: str, schedule_id: str) -> ScheduleRecord | None:
        item = self._get(_schedule_pk(org_id, schedule_id), META)
        return ScheduleRecord.from_values(item) if item else None

    def read_schedule_numbers(self, org_id: str, schedule_id: str) -> list[str]:
        pk = _schedule_pk(org_id, schedule_id)
        return [number for item in self._query_between(pk, "P#", "P#~") for number in _chunk_numbers(item)]

    def copy_numbers(self, org_id: str, message_id: str, numbers: Sequence[str], expires_at: datetime) -> None:
        """A released occurrence gets its own chunks, so it no longer depends on its schedule."""
        self._put_chunks(_message_pk(org_id, message_id), numbers, expires_at)

    def mark_released(self, org_id: str, message_id: str, now: datetime) -> None:
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key=_to_item({"PK": _message_pk(org_id, message_id), "SK": META}),
                UpdateExpression="SET released_at = :now, updated_at = :now REMOVE numbers_in_schedule",
                # Released once; and never resurrects an occurrence a cancellation removed.
                ConditionExpression="attribute_exists(PK) AND attribute_not_exists(released_at)",
                ExpressionAttributeValues=_values({":now": _timestamp(now)}),
            )
        except ClientError as error:
            if not _is_condition_failure(error):
                raise

    def create_next_occurrence(self, schedule: ScheduleRecord, message: NewMessage) -> bool:
        """The next occurrence of a recurrence and the schedule's count, in one transaction:
        only the first release of the current occurrence creates it."""
        created = message.occurrence_number or 0
        for attempt in range(_MAX_ATTEMPTS):
            try:
                self.client.transact_write_items(
                    TransactItems=[
                        {
                            "Put": {
                                "TableName": self.table_name,
                                "Item": _to_item(_message_item(message, numbers_in_schedule=True)),
                                "ConditionExpression": "attribute_not_exists(PK)",
                            }
                        },
                        {
                            "Update": {
                                "TableName": self.table_name,
                                "Key": _to_item(
                                    {"PK": _schedule_pk(schedule.org_id, schedule.schedule_id), "SK": META}
                                ),
                                "UpdateExpression": (
                                    "SET occurrences_created = :created,"
                                    " occurrence_ids = list_append(occurrence_ids, :id)"
                                ),
                                # Still at the previous count, and not cancelled meanwhile.
                                "ConditionExpression": (
                                    "occurrences_created = :previous AND attribute_not_exists(cancelled_at)"
                                ),
                                "ExpressionAttributeValues": _values(
                                    {":created": created, ":previous": created - 1, ":id": [message.message_id]}
                                ),
                            }
                        },
                    ]
                )
            except ClientError as error:
                if _error_code(error) != "TransactionCanceledException":
                    raise
                reasons = error.response.get("CancellationReasons", [])
                if any(reason.get("Code") in _RETRYABLE_REASONS for reason in reasons):
                    _backoff(attempt)  # a conflict or throttling, not an answer: try again
                    continue
                return False  # the next occurrence exists already, or the schedule was cancelled
            return True
        raise StorageBusyError("creating the next occurrence kept conflicting")

    def mark_schedule_cancelled(self, org_id: str, schedule_id: str, now: datetime) -> None:
        self.client.update_item(
            TableName=self.table_name,
            Key=_to_item({"PK": _schedule_pk(org_id, schedule_id), "SK": META}),
            UpdateExpression="SET cancelled_at = if_not_exists(cancelled_at, :now)",
            ConditionExpression="attribute_exists(PK)",
            ExpressionAttributeValues=_values({":now": _timestamp(now)}),
        )

    def delete_unreleased_occurrence(self, org_id: str, message_id: str) -> bool:
        try:
            self.client.delete_item(
                TableName=self.table_name,
                Key=_to_item({"PK": _message_pk(org_id, message_id), "SK": META}),
                # Released occurrences carry on untouched.
                ConditionExpression="attribute_exists(PK) AND attribute_not_exists(released_at)",
            )
        except ClientError as error:
            if _is_condition_failure(error):
                return False
            raise
        return True

    # --- the due index (sweep) ---------------------------------------------------------------

    def find_due(self, shard: int, now: datetime, limit: int) -> list[DueItem]:
        """Items of one shard due by ``now``, oldest first: one Query, however big the table."""
        response = self.client.query(
            TableName=self.table_name,
            IndexName=DUE_INDEX,
            KeyConditionExpression="due_shard = :shard AND due_at <= :now",
            ExpressionAttributeValues=_values({":shard": f"DUE#{shard}", ":now": _timestamp(now)}),
            Limit=limit,
        )
        return [DueItem.from_index_item(item) for item in response.get("Items", [])]

    def lease_due(self, item: DueItem, until: datetime) -> DueItem | None:
        """Claim due work by moving its due time to ``until``: only the sweep that saw the old
        time wins, and if it dies the work comes due again when the lease runs out."""
        leased = DueItem(item.pk, item.sk, item.kind, _timestamp(until))
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key=_to_item({"PK": item.pk, "SK": item.sk}),
                UpdateExpression="SET due_at = :until",
                ConditionExpression="due_at = :seen",
                ExpressionAttributeValues=_values({":until": leased.due_at, ":seen": item.due_at}),
            )
        except ClientError as error:
            if _is_condition_failure(error):
                return None
            raise
        return leased

    def finish_due(self, item: DueItem, *, next_due: datetime | None = None, kind: DueKind | None = None) -> None:
        """Done with leased work: leave the index, or come due again at ``next_due``."""
        if next_due is None:
            update, values = f"REMOVE {_DUE_ATTRIBUTES}", {":lease": item.due_at}
        else:
            update = "SET due_at = :next, due_kind = :kind"
            values = {
                ":lease": item.due_at,
                ":next": _timestamp(next_due),
                ":kind": (kind or item.kind).value,
            }
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key=_to_item({"PK": item.pk, "SK": item.sk}),
                UpdateExpression=update,
                # Still our lease: a transition may already have taken the item out of the index.
                ConditionExpression="due_at = :lease",
                ExpressionAttributeValues=_values(values),
            )
        except ClientError as error:
            if not _is_condition_failure(error):
                raise

    def set_message_error(self, org_id: str, message_id: str, error_code: ErrorCode) -> None:
        """The message-level error (1503 on timeout), written before the recipients fail so the
        update that makes the message ``failed`` already carries it."""
        self.client.update_item(
            TableName=self.table_name,
            Key=_to_item({"PK": _message_pk(org_id, message_id), "SK": META}),
            UpdateExpression="SET error_code = :code, error_message = :name",
            ConditionExpression="attribute_exists(PK)",
            ExpressionAttributeValues=_values({":code": int(error_code), ":name": error_code.name}),
        )

    def read_all_recipients(self, org_id: str, message_id: str) -> tuple[list[str], dict[int, RecipientRecord]]:
        """Every number and every claimed row of a message (the deadline needs them all)."""
        numbers: list[str] = []
        rows: dict[int, RecipientRecord] = {}
        pk = _message_pk(org_id, message_id)
        for item in self._query_between(pk, "P#", "P#~"):
            if "#R#" in item["SK"]["S"]:
                row = RecipientRecord.from_item(item)
                rows[row.index] = row
            else:
                numbers.extend(_chunk_numbers(item))
        return numbers, rows

    def get_recipient(self, key: RecipientKey) -> RecipientRecord | None:
        item = self._get_raw(_message_pk(key.org_id, key.message_id), _recipient_sk(key.index))
        return RecipientRecord.from_item(item) if item else None

    # --- carrier references and parked receipts -------------------------------------------

    def link_carrier_ref(self, carrier: str, carrier_ref: str, key: RecipientKey, expires_at: datetime) -> None:
        """The lookup item from a carrier's own message id to the recipient, for carriers
        whose receipts cannot carry our reference. TTL removes it after the receipt window."""
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item=_to_item(
                    {
                        "PK": _carrier_ref_pk(carrier, carrier_ref),
                        "SK": CARRIER_REF_SK,
                        "org_id": key.org_id,
                        "message_id": key.message_id,
                        "index": key.index,
                        "expires_at": int(expires_at.timestamp()),
                    }
                ),
                # A carrier id points at one recipient for good: a retried dispatch may write
                # it again, but a reused id never re-points an earlier one.
                ConditionExpression="attribute_not_exists(PK) OR (org_id = :org AND message_id = :msg)",
                ExpressionAttributeValues=_values({":org": key.org_id, ":msg": key.message_id}),
            )
        except ClientError as error:
            if not _is_condition_failure(error):
                raise

    def find_carrier_ref(self, carrier: str, carrier_ref: str) -> RecipientKey | None:
        response = self.client.get_item(
            TableName=self.table_name,
            Key=_to_item({"PK": _carrier_ref_pk(carrier, carrier_ref), "SK": CARRIER_REF_SK}),
            # Strongly consistent: the lookup may have been written a moment ago (the race
            # parking exists for), and a stale miss would park a receipt for nothing.
            ConsistentRead=True,
        )
        item = response.get("Item")
        if not item:
            return None
        values = _from_item(item)
        return RecipientKey(values["org_id"], values["message_id"], values["index"])

    def park_receipt(self, parked: ParkedReceipt, retry_at: datetime, expires_at: datetime) -> bool:
        """Keep a receipt for a carrier id not known yet, due for another try at ``retry_at``.
        False when the same receipt is already parked."""
        pk = _carrier_ref_pk(parked.carrier, parked.carrier_ref)
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item=_to_item(
                    {
                        "PK": pk,
                        "SK": _PARKED_SK_PREFIX + parked.fingerprint,
                        "carrier": parked.carrier,
                        "carrier_ref": parked.carrier_ref,
                        "status": parked.status.value,
                        "error_code": parked.error_code,
                        "done_at": _timestamp(parked.done_at) if parked.done_at else None,
                        "part": parked.part,
                        "parked_at": _timestamp(parked.parked_at),
                        "give_up_at": _timestamp(parked.give_up_at),
                        "expires_at": int(expires_at.timestamp()),
                        **_due_values(pk, retry_at, DueKind.PARKED),
                    }
                ),
                # A re-sent receipt keeps the first one's deadline.
                ConditionExpression="attribute_not_exists(PK)",
            )
        except ClientError as error:
            if _is_condition_failure(error):
                return False
            raise
        return True

    def get_parked_receipt(self, item: DueItem) -> ParkedReceipt | None:
        values = self._get(item.pk, item.sk)
        if values is None or not item.sk.startswith(_PARKED_SK_PREFIX):
            return None
        return ParkedReceipt(
            carrier=values["carrier"],
            carrier_ref=values["carrier_ref"],
            status=SmsStatus(values["status"]),
            parked_at=_parse_timestamp(values["parked_at"]),
            give_up_at=_parse_timestamp(values["give_up_at"]),
            error_code=values.get("error_code"),
            done_at=_parse_timestamp(values["done_at"]) if values.get("done_at") else None,
            part=values.get("part"),
        )

    def drop_parked_receipt(self, item: DueItem) -> None:
        """A parked receipt that has been applied: gone, if the lease is still ours."""
        try:
            self.client.delete_item(
                TableName=self.table_name,
                Key=_to_item({"PK": item.pk, "SK": item.sk}),
                ConditionExpression="due_at = :lease",
                ExpressionAttributeValues=_values({":lease": item.due_at}),
            )
        except ClientError as error:
            if not _is_condition_failure(error):
                raise

    def record_part_outcome(self, key: RecipientKey, carrier: str, part: str, status: SmsStatus) -> PartProgress | None:
        """Count one part's final outcome on the recipient row (each part once); the caller
        moves the recipient, through ``apply_transitions``, when every part has reported.
        None when the row is gone, already terminal, or not this carrier's."""
        if not status.is_terminal:
            raise ValueError(f"{status} is not a part's final outcome")
        delivered = 1 if status.is_success else 0
        update = "ADD part_ids :part, parts_delivered :delivered, parts_failed :failed"
        values: dict[str, Any] = {
            ":part": {part},
            ":part_id": part,
            ":delivered": delivered,
            ":failed": 1 - delivered,
            ":terminal": int(Tier.TERMINAL),
            ":carrier": carrier,
        }
        if not delivered:
            update += " SET part_failure = if_not_exists(part_failure, :failure)"
            values[":failure"] = status.value
        try:
            response = self.client.update_item(
                TableName=self.table_name,
                Key=_to_item({"PK": _message_pk(key.org_id, key.message_id), "SK": _recipient_sk(key.index)}),
                UpdateExpression=update,
                # Each part counts once (carriers re-send receipts), only while the recipient
                # is not final, and only for the carrier it was submitted through. ADD is
                # atomic, so of two last parts landing together exactly one sees them all.
                ConditionExpression=(
                    "attribute_exists(PK) AND #tier < :terminal AND #carrier = :carrier"
                    " AND NOT contains(part_ids, :part_id)"
                ),
                ExpressionAttributeNames={"#tier": "tier", "#carrier": "carrier"},
                ExpressionAttributeValues=_values(values),
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if not _is_condition_failure(error):
                raise
            old = error.response.get("Item")
            if not old:
                return None
            row = _from_item(old)
            if row.get("tier", 0) >= Tier.TERMINAL or row.get("carrier") != carrier:
                return None
            # A part already counted: report the progress so a final move a crash lost is redone.
            return _part_progress(row, recorded=False)
        return _part_progress(_from_item(response["Attributes"]), recorded=True)

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

    def _put_new(self, values: dict[str, Any]) -> None:
        self.client.put_item(
            TableName=self.table_name,
            Item=_to_item(values),
            # Ids are random; this only guards against ever replacing a live item.
            ConditionExpression="attribute_not_exists(PK)",
        )

    def _put_chunks(self, pk: str, numbers: Sequence[str], expires_at: datetime) -> None:
        self._batch_put(
            {
                "PK": pk,
                "SK": _chunk_sk(chunk),
                # One string, not a list: a list of 100 strings costs botocore validation and
                # serialization per element, which made POST /send of 10,000 numbers slow.
                "numbers": CHUNK_SEPARATOR.join(numbers[start : start + RECIPIENTS_PER_CHUNK]),
                "expires_at": int(expires_at.timestamp()),
            }
            for chunk, start in enumerate(range(0, len(numbers), RECIPIENTS_PER_CHUNK))
        )

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


def _message_item(message: NewMessage, *, numbers_in_schedule: bool) -> dict[str, Any]:
    pk = _message_pk(message.org_id, message.message_id)
    return {
        "PK": pk,
        "SK": META,
        "kind": "message",
        "org_id": message.org_id,
        "message_id": message.message_id,
        "text": message.text,
        "sender_id": message.sender_id,
        "reference": message.reference,
        "callback_url": message.callback_url,
        "encoding": message.encoding,
        "segments": message.segments,
        "total": message.total,
        "delivered": 0,
        "failed": 0,
        "created_at": _timestamp(message.created_at),
        "updated_at": _timestamp(message.created_at),
        "released_at": None if message.scheduled_for else _timestamp(message.created_at),
        "scheduled_for": _timestamp(message.scheduled_for) if message.scheduled_for else None,
        "schedule_id": message.schedule_id,
        "occurrence_number": message.occurrence_number,
        "numbers_in_schedule": numbers_in_schedule or None,
        "expires_at": int(message.expires_at.timestamp()),
        **_due_values(pk, message.due_at, DueKind.RELEASE),
    }


def _app_key_info(org_id: str, values: dict[str, Any]) -> AppKeyInfo:
    revoked_at = values.get("revoked_at")
    return AppKeyInfo(
        key_id=values["key_id"],
        org_id=org_id,
        hint=values["hint"],
        created_at=_parse_timestamp(values["created_at"]),
        label=values.get("label"),
        revoked_at=_parse_timestamp(revoked_at) if revoked_at else None,
    )


def _part_progress(row: dict[str, Any], *, recorded: bool) -> PartProgress:
    failure = row.get("part_failure")
    return PartProgress(
        delivered=row.get("parts_delivered", 0),
        failed=row.get("parts_failed", 0),
        failure=SmsStatus(failure) if failure else None,
        recorded=recorded,
    )


def _goes_further(candidate: Transition, kept: Transition) -> bool:
    """Whether ``candidate`` replaces ``kept`` as a recipient's one move in a batch: a higher
    tier wins; inside handed-off the later report wins (sideways moves are allowed there);
    a terminal state, like the row's own guard, keeps the first."""
    candidate_tier, kept_tier = candidate.status.tier, kept.status.tier
    if candidate_tier is None or kept_tier is None:
        return kept_tier is None and candidate_tier is not None
    return candidate_tier > kept_tier or candidate_tier == kept_tier == Tier.HANDED_OFF


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _is_condition_failure(error: ClientError) -> bool:
    return _error_code(error) == "ConditionalCheckFailedException"


def _backoff(attempt: int) -> None:
    # Full jitter (AWS Architecture Blog): spreads retries of conflicting writers apart.
    time.sleep(random.uniform(0, min(1.0, 0.02 * 2**attempt)))  # noqa: S311 - jitter, not security
