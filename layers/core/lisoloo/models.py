"""Pydantic models: what merchants send and receive (API shapes) and what travels on queues.

Row shapes (DynamoDB items) stay in ``storage``; these never carry keys. The values use cases
pass between themselves and storage are in ``entities``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, Literal, Self, TypeVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from lisoloo.entities import MessageRecord, chunk_count
from lisoloo.pricing import amount_text
from lisoloo.status import SmsStatus, aggregate_status


class Model(BaseModel):
    """Every model here: its validator is built when first used, not at import. A function
    uses a few of these models; building all of them was ~20 ms of every cold start."""

    model_config = ConfigDict(defer_build=True)


MAX_RECIPIENTS = 10_000
MAX_MESSAGE_CHARACTERS = 1_600


def format_timestamp(moment: datetime) -> str:
    """UTC ISO-8601 with a ``Z`` and whole seconds, the spec's timestamp form."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


Timestamp = Annotated[datetime, PlainSerializer(format_timestamp, return_type=str)]


def whole_second(moment: datetime) -> datetime:
    """A scheduled time is kept to the second, the precision every timestamp is shown in: two
    dates that read the same in a reply are the same date."""
    return moment.replace(microsecond=0)


ScheduledDate = Annotated[AwareDatetime, AfterValidator(whole_second)]

_DIGITS = re.compile(r"[0-9]{1,9}")


def ascii_digits(value: object) -> object:
    """A number given as text (a query parameter) is ASCII digits: int() alone would also read
    " 5", "5\\n", "+5", "1_0", "5.0" and Arabic-Indic digits."""
    if isinstance(value, str) and not _DIGITS.fullmatch(value):
        raise ValueError("must be a whole number: 1-9 ASCII digits")
    return value


# Alphanumeric sender ids are at most 11 characters (GSM 03.40); numeric ones are E.164-long.
# Every pattern on input here is applied with fullmatch: "$" also matches before a final "\n".
_SENDER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._-]{0,10}|\+?[0-9]{1,15}")


def check_sender_id(value: str) -> str:
    """A sender id a carrier can carry (also what ``lisoloo-admin set-sender-ids`` accepts)."""
    if not _SENDER_ID.fullmatch(value):
        raise ValueError("sender_id must be 1-11 letters, digits, spaces, '.', '_' or '-', or a number")
    return value


# Printable, no control characters: a reference is echoed in headers and logs.
_REFERENCE = re.compile(r"[\x20-\x7e]{1,64}")
# References of the messages Lisoloo itself sends for an organization (the replies to STOP,
# START and HELP, DESIGN §9): a merchant's may not start so, since they pass the suppression list.
RESERVED_REFERENCE_PREFIX = "lisoloo:"


# The validation context of a recurrence read back from storage (``RecurringSchedule.stored``).
_STORED = "stored"


class RecurringSchedule(Model):
    """A recurrence: five-field cron read in an IANA time zone, until ``end_at`` or
    ``max_occurrences``, whichever comes first."""

    model_config = ConfigDict(extra="forbid")

    cron: Annotated[
        StrictStr,
        Field(
            min_length=9,
            max_length=100,
            description="Five fields in printable ASCII: minute hour day-of-month month day-of-week.",
        ),
    ]
    timezone: Annotated[StrictStr, Field(min_length=1, max_length=64)] = "UTC"
    end_at: AwareDatetime | None = None
    # A JSON number: lax int() would also take the string "12\n".
    max_occurrences: Annotated[StrictInt, Field(ge=1, le=10_000)] | None = None

    @classmethod
    def stored(cls, recurring: str) -> RecurringSchedule:
        """A recurrence as stored (JSON). Its cron passed the rules of the day it was accepted;
        a later, stricter rule must not strand it: the sweep releases its occurrences."""
        return cls.model_validate_json(recurring, context=_STORED)

    @field_validator("cron")
    @classmethod
    def _cron_shape(cls, value: str, info: ValidationInfo) -> str:
        if info.context == _STORED:
            return value
        # Imported here: croniter is only worth loading for a request that recurs.
        from lisoloo.recurrence import check_cron

        return check_cron(value)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from lisoloo.recurrence import zone_named

        zone_named(value)
        return value


# Per-recipient variables (DESIGN §12). The byte budget keeps a chunk item (100 recipients'
# variables, stored as compact JSON) under DynamoDB's 400 KB item limit: 100 x 3,000 bytes is
# 300 KB, leaving room for the numbers, keys and attributes (``storage.recipients``).
MAX_VARS = 10
MAX_VAR_VALUE_CHARACTERS = 160
MAX_VARS_JSON_BYTES = 3_000
# Placeholders Lisoloo fills itself (DESIGN §12's per-recipient opt-out link).
RESERVED_VARS = frozenset({"opt_out_url"})


class Recipient(Model):
    """One ``to`` entry with its own ``{{name}}`` values."""

    model_config = ConfigDict(extra="forbid")

    to: StrictStr
    vars: Annotated[
        dict[StrictStr, Annotated[StrictStr, Field(max_length=MAX_VAR_VALUE_CHARACTERS)]],
        Field(
            max_length=MAX_VARS,
            description=f"Values for the message's `{{{{name}}}}` placeholders: at most {MAX_VARS}, names of "
            f"1-32 ASCII letters, digits or '_' (not starting with a digit), values of at most "
            f"{MAX_VAR_VALUE_CHARACTERS} characters, {MAX_VARS_JSON_BYTES:,} bytes as compact JSON in all.",
        ),
    ] = Field(default_factory=dict)

    @field_validator("vars")
    @classmethod
    def _vars_shape(cls, values: dict[str, str]) -> dict[str, str]:
        from lisoloo.templating import NAME, vars_json

        for name in values:
            if name in RESERVED_VARS:
                raise ValueError(f"{{{{{name}}}}} is filled in by Lisoloo, not by a request")
            if not NAME.fullmatch(name):
                raise ValueError(f"variable name {name[:40]!r} is not 1-32 ASCII letters, digits or '_'")
        if len(vars_json(values).encode()) > MAX_VARS_JSON_BYTES:
            raise ValueError(f"vars take more than {MAX_VARS_JSON_BYTES:,} bytes as JSON")
        return values


# DESIGN §12: one minute to three days (SMPP's validity period reaches further; carriers' rarely do).
MIN_VALIDITY_SECONDS = 60
MAX_VALIDITY_SECONDS = 259_200
# Deliver-by (DESIGN §8): long enough for a first receipt, short enough to matter for a code.
MIN_DELIVER_WITHIN_SECONDS = 30
MAX_DELIVER_WITHIN_SECONDS = 3600


class SendRequest(Model):
    """The body of ``POST /send``. Unknown fields are refused so a typo never passes silently."""

    model_config = ConfigDict(extra="forbid")

    to: Annotated[
        list[StrictStr | Recipient],
        Field(
            min_length=1,
            max_length=MAX_RECIPIENTS,
            description='Numbers, or objects `{"to": number, "vars": {...}}` giving that recipient '
            "values for the message's `{{name}}` placeholders; the two forms may be mixed.",
        ),
    ]
    message: Annotated[StrictStr, Field(min_length=1, max_length=MAX_MESSAGE_CHARACTERS)]
    sender_id: Annotated[
        StrictStr | None,
        Field(
            description="1-11 ASCII letters, digits, spaces, '.', '_' or '-' (starting with a letter or digit), "
            "or a number of up to 15 ASCII digits after an optional '+'."
        ),
    ] = None
    reference: Annotated[
        StrictStr | None,
        Field(description="Your own reference, echoed back: 1-64 printable ASCII characters, no control characters."),
    ] = None
    callback_url: Annotated[StrictStr, Field(min_length=8, max_length=2_048)] | None = None
    scheduled_dates: Annotated[
        list[ScheduledDate] | None,
        Field(
            min_length=1,
            max_length=100,
            description="Send at each of these times (with a time zone or offset; kept to the second), "
            "each occurrence a message of its own. All in the future, no instant twice (nor a time of "
            "`recurring_schedule`, when both are sent: the schedule is their union).",
        ),
    ] = None
    recurring_schedule: Annotated[
        RecurringSchedule | None,
        Field(description="Send on a cron, read in an IANA time zone; with `scheduled_dates`, as well as them."),
    ] = None
    validity_period: Annotated[
        StrictInt | None,
        Field(
            ge=MIN_VALIDITY_SECONDS,
            le=MAX_VALIDITY_SECONDS,
            description="Seconds from release (creation, or the scheduled time) the text is worth sending: "
            "passed to the carrier, and a recipient not yet handed to one when it ends is `expired` (1403), "
            "never sent.",
        ),
    ] = None
    deliver_within: Annotated[
        StrictInt | None,
        Field(
            ge=MIN_DELIVER_WITHIN_SECONDS,
            le=MAX_DELIVER_WITHIN_SECONDS,
            description="For one-time codes: seconds after a recipient is handed to a carrier with no "
            "`delivered` receipt before it is sent once more through another carrier, when its route has "
            "one. The first definitive receipt decides its state (delivered wins) and no extra event is "
            "sent; the handset may receive two copies. One-part texts only (422 otherwise).",
        ),
    ] = None
    dry_run: Annotated[
        StrictBool,
        Field(description="Only quote it: the cost per destination country; nothing is stored, sent or reserved."),
    ] = False

    @field_validator("sender_id")
    @classmethod
    def _sender_id_shape(cls, value: str | None) -> str | None:
        return check_sender_id(value) if value is not None else None

    @field_validator("reference")
    @classmethod
    def _reference_shape(cls, value: str | None) -> str | None:
        if value is not None and not _REFERENCE.fullmatch(value):
            raise ValueError("reference must be 1-64 printable ASCII characters")
        if value is not None and value.startswith(RESERVED_REFERENCE_PREFIX):
            raise ValueError(f"references starting {RESERVED_REFERENCE_PREFIX!r} are Lisoloo's own")
        return value


class Caller(Model):
    """The organization an app-key belongs to, as the authorizer resolved it."""

    model_config = ConfigDict(frozen=True)

    org_id: str
    default_country: str
    # Sender ids the organization may use, its default first (lisoloo-admin set-sender-ids); empty: any.
    sender_ids: tuple[str, ...] = ()

    def as_context(self) -> dict[str, str]:
        """The authorizer's context: API Gateway hands integrations strings only."""
        context = {"org_id": self.org_id, "default_country": self.default_country}
        if self.sender_ids:
            context["sender_ids"] = ",".join(self.sender_ids)  # sender ids never hold a comma
        return context

    @classmethod
    def from_context(cls, context: Mapping[str, Any]) -> Caller:
        sender_ids = str(context.get("sender_ids") or "")
        return cls(
            org_id=context["org_id"],
            default_country=context["default_country"],
            sender_ids=tuple(sender_id for sender_id in sender_ids.split(",") if sender_id),
        )


DataT = TypeVar("DataT")


class Envelope(Model, Generic[DataT]):
    """The success envelope of every merchant endpoint."""

    status_code: int = 200
    data: DataT


class Occurrence(Model):
    message_id: str
    scheduled_for: Timestamp


class SendCost(Model):
    """What a send is estimated to cost (DESIGN §10): segments times price per recipient,
    reserved from the balance until the message is final. An amount is a decimal string."""

    currency: str
    estimate: Annotated[str, Field(pattern=r"^-?[0-9]+\.[0-9]{2,4}$", examples=["1.60"])]


class StatusCost(Model):
    """What a message has cost so far: its recipients a carrier took (DESIGN §10)."""

    currency: str
    charged: Annotated[
        Annotated[str, Field(pattern=r"^-?[0-9]+\.[0-9]{2,4}$", examples=["1.60"])] | None,
        Field(description="Null until the message is final: its charge is settled then, once."),
    ]


class SendAccepted(Model):
    """The reply to ``POST /send``; a scheduled send also names its schedule and occurrences,
    and ``message_id`` is then the earliest occurrence's."""

    message_id: str
    status: SmsStatus
    total_recipients: int
    encoding: Annotated[
        Literal["GSM-7", "UCS-2"], Field(description="UCS-2 if any recipient's text needs it, else GSM-7.")
    ]
    segments: Annotated[int, Field(description="The parts of the longest recipient's text.")]
    segments_total: Annotated[int, Field(description="The parts of every recipient's text, added up.")]
    created_at: Timestamp
    reference: str | None = None
    schedule_id: str | None = None
    occurrences: list[Occurrence] | None = None
    # Each occurrence of a schedule costs this and reserves it when it is released.
    cost: SendCost | None = None

    @model_validator(mode="before")
    @classmethod
    def _stored_before_segments_total(cls, values: Any) -> Any:
        """A reply an Idempotency-Key stored before ``segments_total`` existed: every recipient
        then had the same text."""
        if isinstance(values, dict) and "segments_total" not in values and "segments" in values:
            return {**values, "segments_total": values["segments"] * values.get("total_recipients", 0)}
        return values


class ScheduleCancelled(Model):
    schedule_id: str
    cancelled: list[str]


class RecipientState(Model):
    to: str
    status: SmsStatus
    error_code: int | None = None
    error_message: str | None = None
    updated_at: Timestamp


class MessageStatusData(Model):
    """The spec's status data: a message's aggregate, counters and cost, without recipients.
    GET /status adds a page of recipients to it, GET /messages what the message was sent with."""

    message_id: str
    status: SmsStatus
    total_recipients: int
    delivered: int
    failed: int
    pending: int
    created_at: Timestamp
    updated_at: Timestamp
    error_code: Annotated[
        int | None,
        Field(
            description="Only on a failed message (every recipient failed): the code its recipients "
            "share, else the most frequent one, the lowest on a tie. Null once any is delivered."
        ),
    ] = None
    cost: StatusCost | None = None

    @classmethod
    def of(cls, message: MessageRecord, currency: str, **more: Any) -> Self:
        """The one place a message's status data is read from its record; ``more``: the
        fields a subclass adds."""
        progress = message.progress
        charged = message.cost_charged
        return cls(
            message_id=message.message_id,
            status=aggregate_status(progress),
            total_recipients=progress.total,
            delivered=progress.delivered,
            failed=progress.failed,
            pending=progress.pending,
            created_at=message.created_at,
            updated_at=message.updated_at,
            error_code=message.failure_code,
            cost=StatusCost(currency=currency, charged=amount_text(charged) if charged is not None else None),
            **more,
        )


class MessageStatus(MessageStatusData):
    """The spec's status body, plus the first page of recipients (DESIGN §2)."""

    recipients: list[RecipientState]
    recipients_cursor: str | None = None


class DispatchJob(Model):
    """One SQS dispatch job: one chunk of one message's recipients."""

    org_id: str
    message_id: str
    chunk: int = Field(ge=0)


def dispatch_jobs(org_id: str, message_id: str, total: int) -> list[DispatchJob]:
    """The jobs that dispatch a message of ``total`` recipients: one per chunk."""
    return [DispatchJob(org_id=org_id, message_id=message_id, chunk=chunk) for chunk in range(chunk_count(total))]


class WebhookDeliveryJob(Model):
    """One event for one target on the webhook-deliveries queue; enough to replay it from the
    dead-letter queue as is."""

    org_id: str
    message_id: str | None  # None for an account's event (account.balance_low)
    event_id: str
    event_type: str
    url: str
    body: str


# Longer than any carrier's id (SMPP's message_id is at most 65 characters) and than our
# references (50): a receipt past it is not one we can use. Kept to that, a job of 100
# receipts stays far below SQS's 256 KB.
_CarrierId = Annotated[str, Field(max_length=128)]


class QueuedReceipt(Model):
    """One parsed carrier receipt, as it waits on the receipts queue (``CarrierReceipt``'s fields)."""

    carrier_ref: _CarrierId
    status: SmsStatus
    error_code: Annotated[str, Field(max_length=64)] | None = None
    done_at: AwareDatetime | None = None
    reference: _CarrierId | None = None
    part: Annotated[_CarrierId, Field(min_length=1)] | None = None


class ReceiptJob(Model):
    """The receipts one carrier request carried, parsed and authenticated, for receipt-apply."""

    carrier: str
    received_at: AwareDatetime
    receipts: list[QueuedReceipt] = Field(min_length=1)


class WebhookSettingsRequest(Model):
    model_config = ConfigDict(extra="forbid")

    webhook_url: Annotated[StrictStr, Field(min_length=8, max_length=2_048)] | None


class WebhookConfiguration(Model):
    webhook_url: str | None
    secret_configured: bool
    # Only in the reply that created it: the signing secret is shown once.
    secret: str | None = None
