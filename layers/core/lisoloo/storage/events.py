"""The event log: every webhook event an organization got, kept 30 days (DESIGN §11).

An organization's log is one partition whose sort key is a position, 1, 2, 3, ... A writer reads
the latest position (strongly consistent) and writes the next one on condition that it is still
free; a writer that loses the race reads again and takes the one after. So position n+1 is only
ever written by a writer that saw n written: positions become visible in order, with no gaps,
and a reader that has seen up to n can never later meet an event below n. That is what makes
``GET /events?after=`` safe under concurrent writers (each webhooks stream shard is one), where a
clock-based position would let a slow writer land behind a reader's cursor.

A marker item per event id, written in the same transaction, keeps a redelivered stream record
from logging its event twice and finds the event again for ``POST /events/{id}/redeliver``.
A message's event's marker is also in the sparse KEYS_ONLY ``find`` index under
``MSGEVT#{org}#{message_id}``, sorted by position: ``GET /messages/{id}/events`` is one Query of
that partition and one batch read of the markers, never a read of the whole log. Each event
costs one Query and one two-item transaction (4 write units), plus 1 write unit for the index
entry of an event about a message (5); events are per message change, not per recipient.

Why not a timeline from what the recipient rows already hold (each one's status and
``updated_at``): that tells when recipients changed, not which webhooks went out, and has no
event id to redeliver; the console's timeline is of the events themselves.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from lisoloo.errors import StorageError
from lisoloo.finding_entities import LoggedEvent
from lisoloo.storage import keys
from lisoloo.storage.message_index import FIND_KEYS
from lisoloo.storage.table import (
    Item,
    Table,
    TransactionCancelled,
    epoch_seconds,
    from_item,
    parse_timestamp,
    timestamp,
)

EVENT_RETENTION = timedelta(days=30)
FIRST_SK, LAST_SK = keys.event_position_sk(0), "EVT#~"
# Writers racing for one organization's next position; each loss means another event was logged.
MAX_POSITION_RACES = 100


def event_from_item(item: Item) -> LoggedEvent:
    values = from_item(item)
    return LoggedEvent(
        org_id=values["org_id"],
        event_id=values["event_id"],
        type=values["type"],
        message_id=values.get("message_id"),
        position=int(values["position"]),
        body=values["body"],
        logged_at=parse_timestamp(values["logged_at"]),
    )


class EventLog:
    def __init__(self, table: Table) -> None:
        self.table = table

    def record(self, events: Iterable[tuple[str, str, str, str | None, str]], now: datetime) -> list[LoggedEvent]:
        """Log each ``(org_id, event_id, type, message_id, body)`` at its organization's next
        position, once: the ones already logged are left as they are. Returns those logged now."""
        logged: list[LoggedEvent] = []
        for org_id, event_id, event_type, message_id, body in events:
            event = self._record_one(org_id, event_id, event_type, message_id, body, now)
            if event is not None:
                logged.append(event)
        return logged

    def _record_one(
        self, org_id: str, event_id: str, event_type: str, message_id: str | None, body: str, now: datetime
    ) -> LoggedEvent | None:
        for _ in range(MAX_POSITION_RACES):
            event = LoggedEvent(org_id, event_id, event_type, message_id, self._latest(org_id) + 1, body, now)
            values = _attributes(event)
            try:
                self.table.transact(
                    [
                        # Logged once per event id, whatever redelivers its stream record.
                        self.table.put_item(
                            {
                                **values,
                                **_message_listing(event),
                                "PK": keys.event_marker_pk(org_id, event_id),
                                "SK": keys.META,
                            },
                            "attribute_not_exists(PK)",
                        ),
                        # The position is still free: no other writer took it since we read.
                        self.table.put_item(
                            {**values, "PK": keys.events_pk(org_id), "SK": keys.event_position_sk(event.position)},
                            "attribute_not_exists(PK)",
                        ),
                    ]
                )
            except TransactionCancelled as cancelled:
                if cancelled.failed_condition(0):
                    return None
                continue
            return event
        raise StorageError(f"no free log position for {event_id} after {MAX_POSITION_RACES} tries")

    def _latest(self, org_id: str) -> int:
        items, _ = self.table.query_once(
            keys.events_pk(org_id), FIRST_SK, LAST_SK, limit=1, descending=True, consistent=True
        )
        return keys.position_of_event_sk(items[0]["SK"]["S"]) if items else 0

    def after(
        self, org_id: str, position: int, limit: int, event_type: str | None = None
    ) -> tuple[list[LoggedEvent], int | None]:
        """Up to ``limit`` events logged after ``position``, oldest first (of ``event_type``
        only, if given), and the last position read when more may follow. Strongly consistent,
        so an event seen by a writer is seen here."""
        arguments: dict[str, Any] = {}
        if event_type is not None:
            arguments = {"where": "#type = :type", "names": {"#type": "type"}, "values": {":type": event_type}}
        items, last = self.table.query_once(
            keys.events_pk(org_id),
            keys.event_position_sk(position + 1),
            LAST_SK,
            limit=limit,
            consistent=True,
            **arguments,
        )
        return [event_from_item(item) for item in items], keys.position_of_event_sk(last) if last else None

    def get(self, org_id: str, event_id: str) -> LoggedEvent | None:
        item = self.table.get(keys.event_marker_pk(org_id, event_id), keys.META)
        return event_from_item(item) if item else None

    def of_message(self, org_id: str, message_id: str, limit: int) -> tuple[list[LoggedEvent], bool]:
        """The message's latest ``limit`` events, oldest first, and whether older ones exist."""
        pk = keys.message_events_pk(org_id, message_id)
        markers: list[tuple[str, str]] = []
        for entry in self.table.query_index_descending(keys.FIND_INDEX, FIND_KEYS, pk, FIRST_SK, LAST_SK, limit + 1):
            markers.append((entry["PK"]["S"], entry["SK"]["S"]))
            if len(markers) > limit:
                break
        events = [event_from_item(item) for item in self.table.batch_get(markers[:limit], attributes=None)]
        return sorted(events, key=lambda event: event.position), len(markers) > limit


def _message_listing(event: LoggedEvent) -> dict[str, str]:
    """What a marker carries to be found by its message (nothing for an account's event)."""
    if event.message_id is None:
        return {}
    return {
        "find_pk": keys.message_events_pk(event.org_id, event.message_id),
        "find_sk": keys.event_position_sk(event.position),
    }


def _attributes(event: LoggedEvent) -> dict[str, Any]:
    return {
        "org_id": event.org_id,
        "event_id": event.event_id,
        "type": event.type,
        "message_id": event.message_id,
        "position": event.position,
        "body": event.body,
        "logged_at": timestamp(event.logged_at),
        "expires_at": epoch_seconds(event.logged_at + EVENT_RETENTION),
    }
