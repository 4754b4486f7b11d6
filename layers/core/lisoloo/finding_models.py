"""API shapes of DESIGN §11 ("Finding things"): message pages, the event log, webhook attempts,
delivery analytics and exports. Kept apart from ``models`` (the send and status shapes)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, Field, ValidationInfo, field_validator

from lisoloo.models import MessageStatusData, Model, Timestamp

# --- Finding messages (DESIGN §11) -----------------------------------------------------------


class MessageSummary(MessageStatusData):
    """A message as GET /messages lists it: the status data without recipients, and what it was
    sent with (DESIGN §10: ``cost.charged`` is null until it is final)."""

    reference: str | None = None
    sender_id: str | None = None


class MessagesPage(Model):
    messages: list[MessageSummary]
    cursor: Annotated[
        str | None,
        Field(
            description="Pass as `cursor` for the next page; null when there is none. A page may hold "
            "fewer than `limit` messages (even none) and still have a next one."
        ),
    ] = None


# --- The event log and webhook attempts (DESIGN §11) -----------------------------------------


class LoggedEventView(Model):
    position: Annotated[str, Field(description="Where the event sits in the log: pass it as `after`.")]
    event_id: Annotated[str, Field(description="The `webhook-id` every delivery of it carries.")]
    type: str
    message_id: Annotated[
        str | None, Field(description="The message it is about; null for an account's event (`account.balance_low`).")
    ] = None
    created_at: Timestamp
    body: Annotated[dict[str, Any], Field(description="The webhook body, as delivered.")]


class EventsPage(Model):
    events: list[LoggedEventView]
    after: Annotated[
        str | None,
        Field(description="Pass as `after` to read on: the last position read (or yours, when nothing is new)."),
    ] = None
    has_more: bool


class MessageEvents(Model):
    """``GET /messages/{message_id}/events``: the message's timeline, oldest first."""

    events: list[LoggedEventView]
    has_older: Annotated[
        bool, Field(description="More events happened before the first one here (only the latest are listed).")
    ]


class EventRedelivery(Model):
    event_id: str
    targets: Annotated[int, Field(description="Deliveries queued: one per target configured today.")]


class DeliveryAttemptView(Model):
    event_id: str
    type: str
    target: str
    attempt: int
    http_status: int | None = None
    error: str | None = None
    duration_ms: int
    attempted_at: Timestamp
    next_try_at: Annotated[Timestamp | None, Field(description="Null once delivered or out of tries.")] = None


class DeliveriesPage(Model):
    deliveries: list[DeliveryAttemptView]
    cursor: str | None = None


# --- Delivery analytics (DESIGN §11) ---------------------------------------------------------


class LatencyPercentiles(Model):
    p50: int | None = None
    p95: int | None = None


class DeliveryGroup(Model):
    key: Annotated[str, Field(description="The day (YYYY-MM-DD), country (ISO 3166) or sender id ('-': none).")]
    submitted: int
    delivered: int
    failed: int
    delivery_rate: Annotated[float | None, Field(description="delivered / (delivered + failed); null before any.")]
    receipt_latency_ms: Annotated[
        LatencyPercentiles, Field(description="From hand-off to the carrier to its final receipt.")
    ]


class DeliveryAnalytics(Model):
    group_by: str
    first_day: date
    last_day: date
    groups: list[DeliveryGroup]


# --- Exports (DESIGN §11) ------------------------------------------------------------------


class ExportRequest(Model):
    created_after: AwareDatetime
    created_before: AwareDatetime
    format: Literal["csv", "jsonl"] = "csv"

    @field_validator("created_before")
    @classmethod
    def _after_the_start(cls, value: datetime, info: ValidationInfo) -> datetime:
        start = info.data.get("created_after")
        if start is not None and value <= start:
            raise ValueError("must be later than created_after")
        return value


class ExportAccepted(Model):
    export_id: str


class ExportStatus(Model):
    export_id: str
    status: Literal["pending", "done", "failed"]
    format: str
    rows: Annotated[int | None, Field(description="Recipients in the file, once done.")] = None
    url: Annotated[str | None, Field(description="A pre-signed link to the file, once done; valid 1 hour.")] = None


class ExportJob(Model):
    """One export to write, on the exports queue."""

    org_id: str
    export_id: str
