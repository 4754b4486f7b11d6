"""Webhook delivery attempts, as the delivery function made them (DESIGN §11), kept 30 days.

One item per attempt (a POST of one event to one target) in the organization's own partition,
sorted by when it was made: ``GET /webhook/deliveries`` reads it newest first, the failed ones
through a filter. Attempts are written once and never changed, one write unit each.
"""

from __future__ import annotations

from typing import Any

from lisoloo.finding_entities import DeliveryAttempt
from lisoloo.storage import keys
from lisoloo.storage.events import EVENT_RETENTION
from lisoloo.storage.table import Item, Table, epoch_seconds, from_item, parse_timestamp, timestamp

FIRST_SK, LAST_SK = "0", "~"


def attempt_from_item(item: Item) -> DeliveryAttempt:
    values = from_item(item)
    return DeliveryAttempt(
        org_id=values["org_id"],
        event_id=values["event_id"],
        event_type=values["event_type"],
        url=values["url"],
        attempt=int(values["attempt"]),
        status_code=int(values["status_code"]) if values.get("status_code") is not None else None,
        error=values.get("error"),
        duration_ms=int(values["duration_ms"]),
        attempted_at=parse_timestamp(values["attempted_at"]),
        next_try_at=parse_timestamp(values["next_try_at"]) if values.get("next_try_at") else None,
    )


class DeliveryAttempts:
    def __init__(self, table: Table) -> None:
        self.table = table

    def record(self, attempt: DeliveryAttempt) -> None:
        attempted_at = timestamp(attempt.attempted_at)
        # Unconditional: a sort key is one attempt (its time, event and number); writing it
        # again (a crash after the write) writes the same item.
        self.table.put(
            {
                "PK": keys.deliveries_pk(attempt.org_id),
                "SK": keys.delivery_attempt_sk(attempted_at, attempt.event_id, attempt.attempt),
                "org_id": attempt.org_id,
                "event_id": attempt.event_id,
                "event_type": attempt.event_type,
                "url": attempt.url,
                "attempt": attempt.attempt,
                "status_code": attempt.status_code,
                "error": attempt.error,
                "outcome": "delivered" if attempt.delivered else "failed",
                "duration_ms": attempt.duration_ms,
                "attempted_at": attempted_at,
                "next_try_at": timestamp(attempt.next_try_at) if attempt.next_try_at else None,
                "expires_at": epoch_seconds(attempt.attempted_at + EVENT_RETENTION),
            }
        )

    def page(
        self, org_id: str, limit: int, before: str | None, failed_only: bool
    ) -> tuple[list[DeliveryAttempt], str | None]:
        """Up to ``limit`` attempts older than the sort key ``before``, newest first, and the
        last sort key read when more may follow."""
        arguments: dict[str, Any] = {}
        if failed_only:
            arguments = {"where": "outcome = :failed", "values": {":failed": "failed"}}
        items, last = self.table.query_once(
            keys.deliveries_pk(org_id),
            FIRST_SK,
            LAST_SK,
            limit=limit,
            descending=True,
            start_after=before,
            **arguments,
        )
        return [attempt_from_item(item) for item in items], last
