"""The vocabulary of DESIGN §11 that storage hands use cases: logged events, webhook attempts,
exports (plain frozen values, no I/O; kept apart from ``entities``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

# --- The event log and webhook attempts (DESIGN §11) -----------------------------------------


@dataclass(frozen=True, slots=True)
class LoggedEvent:
    """A webhook event as the organization's log keeps it: ``position`` orders the log."""

    org_id: str
    event_id: str
    type: str
    message_id: str | None  # None for an account's event
    position: int
    body: str  # the JSON every delivery of it sends, byte for byte
    logged_at: datetime


@dataclass(frozen=True, slots=True)
class DeliveryAttempt:
    """One POST of one event to one target, as the delivery function saw it."""

    org_id: str
    event_id: str
    event_type: str
    url: str
    attempt: int
    status_code: int | None
    error: str | None
    duration_ms: int
    attempted_at: datetime
    next_try_at: datetime | None  # None: delivered, or no try left

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


# --- Exports (DESIGN §11) ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExportRecord:
    org_id: str
    export_id: str
    created_after: datetime
    created_before: datetime
    format: str  # csv | jsonl
    status: str  # pending | done | failed
    created_at: datetime
    rows: int | None = None
    file_key: str | None = None
