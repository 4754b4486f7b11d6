"""Which events a change of a message produces: one per aggregate transition, in order."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from lisoloo.entities import MessageRecord
from lisoloo.webhooks.events import events_for_change

NOW = datetime(2026, 5, 27, 10, 15, tzinfo=UTC)
BASE = MessageRecord(
    org_id="org_0123456789abcdef",
    message_id="6a1c0e5f0123456789abcdef",
    text="hi",
    sender_id=None,
    reference=None,
    encoding="GSM-7",
    segments=1,
    total=2,
    delivered=0,
    failed=0,
    started=False,
    handed_off_chunks=0,
    created_at=NOW,
    updated_at=NOW,
)
SCHEDULED = replace(BASE, released=False)
PENDING = BASE
PROCESSING = replace(BASE, started=True)
SENT = replace(PROCESSING, handed_off_chunks=1)
HALF_DELIVERED = replace(SENT, delivered=1)
DELIVERED = replace(SENT, delivered=1, failed=1)
FAILED = replace(SENT, failed=2, error_code=1503)
ALL_INVALID = replace(BASE, failed=2)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (None, PENDING, ["sms.queued"]),
        (None, SCHEDULED, []),
        (SCHEDULED, SCHEDULED, []),
        (SCHEDULED, PENDING, ["sms.queued"]),
        (PENDING, PROCESSING, ["sms.processing"]),
        (PROCESSING, SENT, ["sms.sent"]),
        (SENT, HALF_DELIVERED, []),  # counters moved, the aggregate did not
        (HALF_DELIVERED, DELIVERED, ["sms.delivered"]),
        (SENT, FAILED, ["sms.failed"]),
        (PENDING, ALL_INVALID, ["sms.failed"]),  # after sms.queued: queued then failed
        (PENDING, SENT, ["sms.sent"]),  # a skipped tier did not happen
        (PROCESSING, DELIVERED, ["sms.delivered"]),
        (DELIVERED, DELIVERED, []),  # terminal absorbs
        (DELIVERED, replace(DELIVERED, updated_at=NOW.replace(hour=11)), []),
        (FAILED, replace(FAILED, delivered=0), []),
        (PROCESSING, PROCESSING, []),  # a carrier retry changes nothing visible
        (PENDING, None, []),  # removed
    ],
)
def test_events_for_each_transition(old: MessageRecord | None, new: MessageRecord | None, expected: list[str]) -> None:
    assert [event.type for event in events_for_change(old, new)] == expected


def test_event_ids_are_stable_and_bodies_carry_sequence_and_status() -> None:
    first = events_for_change(PENDING, PROCESSING)
    again = events_for_change(PENDING, PROCESSING)
    assert first == again
    (event,) = first
    assert event.event_id == "evt_6a1c0e5f0123456789abcdef_processing"
    assert event.body["sequence"] == 2
    assert event.body["data"] == {
        "message_id": "6a1c0e5f0123456789abcdef",
        "status": "processing",
        "total_recipients": 2,
        "delivered": 0,
        "failed": 0,
        "pending": 2,
        "created_at": "2026-05-27T10:15:00Z",
        "updated_at": "2026-05-27T10:15:00Z",
    }
    assert "recipients" not in event.body["data"]


def test_failed_carries_the_error_code() -> None:
    (event,) = events_for_change(SENT, FAILED)
    assert event.body["data"]["error_code"] == 1503
    assert event.body["sequence"] == 4


def test_sequences_increase_along_a_whole_life() -> None:
    life = [None, PENDING, PROCESSING, SENT, HALF_DELIVERED, DELIVERED]
    sequences = [
        event.body["sequence"] for old, new in itertools.pairwise(life) for event in events_for_change(old, new)
    ]
    assert sequences == [1, 2, 3, 4]
