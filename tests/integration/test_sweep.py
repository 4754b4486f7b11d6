"""The sweep on moto: scheduled releases, carrier retries, the 24-hour deadline, leases and cost.

Time moves by handing the sweep a later ``now``; nothing sleeps.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from lisoloo.dependencies import dispatch_queue, receipts_queue
from lisoloo.entities import NewMessage, RecipientKey
from lisoloo.observability import metrics
from lisoloo.settings import get_settings
from lisoloo.storage import SmsRepository
from lisoloo.storage.due import due_item
from lisoloo.sweeping import Sweeper, SweepSummary
from tests.conftest import lambda_context, load_event
from tests.integration.conftest import Harness, Merchant, load_function, purge_receipts_queue

HOUR = timedelta(hours=1)


def plenty_of_time() -> float:
    return 900.0


@pytest.fixture(autouse=True)
def only_this_tests_items(harness: Harness) -> None:
    harness.wipe_table()
    purge_receipts_queue()
    harness.carrier_token = register_sandbox(harness)


def register_sandbox(harness: Harness) -> str:
    from lisoloo_admin.provisioning import register_carrier

    return register_carrier(harness.repository(), "sandbox")


@pytest.fixture
def sweeper(harness: Harness) -> Sweeper:
    return harness.sweeper()


def sweep_at(sweeper: Sweeper, moment: datetime) -> SweepSummary:
    return sweeper.sweep(moment, plenty_of_time)


def later(base: str, delta: timedelta) -> str:
    return (datetime.fromisoformat(base) + delta).isoformat().replace("+00:00", "Z")


def recipients(harness: Harness, merchant: Merchant, message_id: str) -> list[tuple[str, int | None]]:
    data = harness.status(merchant, message_id)[1]["data"]
    return [(recipient["status"], recipient["error_code"]) for recipient in data["recipients"]]


def test_a_scheduled_send_is_scheduled_until_the_sweep_releases_it(harness: Harness, sweeper: Sweeper) -> None:
    # Given a send scheduled an hour from now
    merchant = harness.new_merchant()
    now = datetime.now(UTC)
    at = (now + HOUR).replace(microsecond=0)
    code, body = harness.send(
        merchant, {"to": ["+254712345678"], "message": "later", "scheduled_dates": [at.isoformat()]}
    )
    assert code == 200, body
    data = body["data"]
    assert data["status"] == "scheduled"
    assert data["schedule_id"].startswith("sch_")
    assert data["occurrences"] == [
        {"message_id": data["message_id"], "scheduled_for": at.strftime("%Y-%m-%dT%H:%M:%SZ")}
    ]
    message_id = data["message_id"]
    # Then it reads as scheduled and nothing is queued
    status = harness.status(merchant, message_id)[1]["data"]
    assert (status["status"], status["pending"]) == ("scheduled", 1)
    assert recipients(harness, merchant, message_id) == [("scheduled", None)]
    assert harness.queued_jobs() == []
    # When a sweep runs before it is due, nothing happens
    assert sweep_at(sweeper, at - timedelta(minutes=1)).released == 0
    # When the sweep runs once it is due
    assert sweep_at(sweeper, at + timedelta(seconds=30)).released == 1
    # Then it is pending with its dispatch job queued, and a second sweep does not release it again
    assert harness.status(merchant, message_id)[1]["data"]["status"] == "pending"
    assert sweep_at(sweeper, at + timedelta(seconds=40)).released == 0
    assert harness.dispatch_queued() == {"batchItemFailures": []}
    assert recipients(harness, merchant, message_id) == [("sent", None)]


def test_past_dates_and_bad_recurrences_are_422(harness: Harness) -> None:
    merchant = harness.new_merchant()
    past = (datetime.now(UTC) - HOUR).isoformat()
    cases: list[dict[str, Any]] = [
        {"scheduled_dates": [past]},
        {"scheduled_dates": ["2027-01-01T09:00:00"]},  # no time zone
        {"scheduled_dates": []},
        {"recurring_schedule": {"cron": "61 * * * *", "timezone": "UTC"}},
        {"recurring_schedule": {"cron": "0 9 * * MON", "timezone": "Mars/Olympus"}},
        {"recurring_schedule": {"cron": "0 9 * * MON", "end_at": past}},
    ]
    for extra in cases:
        code, body = harness.send(merchant, {"to": ["+254712345678"], "message": "x", **extra})
        assert code == 422, extra
        assert body["detail"], extra


def test_a_recurrence_keeps_one_future_occurrence_until_it_runs_out(harness: Harness, sweeper: Sweeper) -> None:
    # Given a daily 09:00 Nairobi recurrence limited to two occurrences
    merchant = harness.new_merchant()
    code, body = harness.send(
        merchant,
        {
            "to": ["+254712345678"],
            "message": "daily",
            "recurring_schedule": {"cron": "0 9 * * *", "timezone": "Africa/Nairobi", "max_occurrences": 2},
        },
    )
    assert code == 200, body
    (first,) = body["data"]["occurrences"]
    first_at = datetime.fromisoformat(first["scheduled_for"])
    assert first_at.astimezone(UTC).hour == 6  # 09:00 EAT is 06:00 UTC
    # When the first is released, the second is created a day later
    assert sweep_at(sweeper, first_at + timedelta(seconds=1)).released == 1
    schedule = harness.repository().schedules.get(merchant.org_id, body["data"]["schedule_id"])
    assert schedule is not None and len(schedule.occurrence_ids) == 2
    second_id = schedule.occurrence_ids[1]
    second = harness.status(merchant, second_id)[1]["data"]
    assert second["status"] == "scheduled"
    # And releasing the first again (a sweep that crashed) creates no third
    assert sweep_at(sweeper, first_at + timedelta(minutes=10)).released == 0
    # When the second is released, the recurrence has run out
    assert sweep_at(sweeper, first_at + timedelta(days=1, seconds=1)).released == 1
    schedule = harness.repository().schedules.get(merchant.org_id, body["data"]["schedule_id"])
    assert schedule is not None and len(schedule.occurrence_ids) == 2


def test_cancelling_removes_unreleased_occurrences_only(harness: Harness, sweeper: Sweeper) -> None:
    merchant, stranger = harness.new_merchant(), harness.new_merchant()
    now = datetime.now(UTC)
    dates = [(now + HOUR * hours).isoformat() for hours in (1, 2, 3)]
    _, body = harness.send(merchant, {"to": ["+254712345678"], "message": "x", "scheduled_dates": dates})
    schedule_id = body["data"]["schedule_id"]
    ids = [occurrence["message_id"] for occurrence in body["data"]["occurrences"]]
    # Given the first occurrence released
    assert sweep_at(sweeper, now + HOUR + timedelta(seconds=1)).released == 1
    # When another organization tries to cancel it, it is a plain 404
    assert cancel(harness, stranger, schedule_id)[0] == 404
    assert cancel(harness, merchant, "sch_0000000000000000")[0] == 404
    assert cancel(harness, merchant, "nonsense")[0] == 404
    # When its owner cancels it
    code, reply = cancel(harness, merchant, schedule_id)
    # Then the two unreleased occurrences are gone and the released one carries on
    assert code == 200
    assert sorted(reply["data"]["cancelled"]) == sorted(ids[1:])
    assert [harness.status(merchant, message_id)[0] for message_id in ids] == [200, 404, 404]
    assert sweep_at(sweeper, now + HOUR * 4).released == 0


def cancel(harness: Harness, merchant: Merchant, schedule_id: str) -> tuple[int, Any]:
    event = load_event("schedules-delete")
    code, body, _ = harness.api(
        "schedules",
        "schedules-delete",
        merchant,
        path=event["path"].rsplit("/", 1)[0] + "/" + schedule_id,
        path_parameters={"schedule_id": schedule_id},
    )
    return code, body


def test_no_receipt_for_24_hours_fails_the_rest_with_1503(harness: Harness, sweeper: Sweeper) -> None:
    # Given two recipients handed off, one of which gets its receipt
    merchant = harness.new_merchant()
    _, body = harness.send(merchant, {"to": ["+254712345678", "+254712340004"], "message": "x"})
    message_id = body["data"]["message_id"]
    harness.dispatch_queued()
    from lisoloo.entities import RecipientKey

    harness.receipt(RecipientKey(merchant.org_id, message_id, 0).reference, "delivered")
    # When a sweep runs just before and just after the 24-hour deadline
    now = datetime.now(UTC)
    assert sweep_at(sweeper, now + timedelta(hours=23, minutes=58)).timed_out == 0
    assert sweep_at(sweeper, now + timedelta(hours=24, minutes=1)).timed_out == 1
    # Then the silent one failed with 1503 SMS_TIMEOUT; the message, delivered to the other,
    # carries no code of its own (only a message whose every recipient failed does)
    data = harness.status(merchant, message_id)[1]["data"]
    assert recipients(harness, merchant, message_id) == [("delivered", None), ("failed", 1503)]
    assert data["recipients"][1]["error_message"] == "SMS_TIMEOUT"
    assert (data["status"], data["delivered"], data["failed"], data["pending"]) == ("delivered", 1, 1, 0)
    assert data["error_code"] is None
    # And a receipt arriving after the timeout changes nothing
    code, late = harness.receipt(RecipientKey(merchant.org_id, message_id, 1).reference, "delivered")
    assert (code, late["data"]["applied"]) == (200, 0)


def test_a_receipt_acknowledged_before_the_deadline_wins_over_it(harness: Harness, sweeper: Sweeper) -> None:
    # Given a recipient handed off, whose delivered receipt we acknowledged but have not
    # applied yet when the deadline comes (receipt-apply is behind)
    merchant = harness.new_merchant()
    _, body = harness.send(merchant, {"to": ["+254712345678"], "message": "x"})
    message_id = body["data"]["message_id"]
    harness.dispatch_queued()
    code, _ = harness.receipt(RecipientKey(merchant.org_id, message_id, 0).reference, "delivered", apply=False)
    assert code == 200
    # When the sweep reaches the deadline with the receipt still queued
    now = datetime.now(UTC)
    summary = sweep_at(sweeper, now + timedelta(hours=24, minutes=1))
    # Then the deadline waits: nothing fails
    assert (summary.timed_out, summary.deadlines_deferred) == (0, 1)
    assert recipients(harness, merchant, message_id) == [("sent", None)]
    # And once the receipt is applied the message is delivered, and the deadline has nothing left
    harness.apply_queued_receipts()
    assert sweep_at(sweeper, now + timedelta(hours=24, minutes=2)).timed_out == 0
    assert recipients(harness, merchant, message_id) == [("delivered", None)]
    assert harness.status(merchant, message_id)[1]["data"]["status"] == "delivered"


def test_the_deadline_waits_for_queued_receipts_only_so_long(harness: Harness, sweeper: Sweeper) -> None:
    # Given a silent recipient, and receipts that stay queued (receipt-apply failing)
    merchant = harness.new_merchant()
    _, body = harness.send(merchant, {"to": ["+254712340004"], "message": "x"})
    message_id = body["data"]["message_id"]
    harness.dispatch_queued()
    harness.receipt(RecipientKey(merchant.org_id, "0" * 24, 0).reference, "delivered", apply=False)
    now = datetime.now(UTC)
    # When the sweep runs at the deadline, and again once the wait (the queue's redrive) is over
    wait = timedelta(seconds=get_settings().time.deadline_receipts_wait_seconds)
    assert sweep_at(sweeper, now + timedelta(hours=24, minutes=1)).timed_out == 0
    assert sweep_at(sweeper, now + timedelta(hours=24, minutes=1) + wait).timed_out == 1
    # Then it fails with 1503 then, whatever is still queued
    assert recipients(harness, merchant, message_id) == [("failed", 1503)]


def test_the_deadline_never_fails_a_recipient_whose_retry_is_still_to_come(harness: Harness, sweeper: Sweeper) -> None:
    # Given a recipient the carrier refuses twice (…0005), and a sweep that was down for a day,
    # so its retry (due at +1 h) has not run when the deadline (+24 h) comes
    merchant = harness.new_merchant()
    _, body = harness.send(merchant, {"to": ["+254712340005"], "message": "x"})
    message_id = body["data"]["message_id"]
    started = datetime.now(UTC)
    harness.dispatch_queued()
    late = started + timedelta(hours=24, minutes=1)
    # When the sweep comes back (the deadline and the retry are both due)
    summary = sweep_at(sweeper, late)
    # Then the retry runs (refused again: the third attempt is due 3 hours later), and the
    # deadline fails nothing
    assert (summary.retried, summary.timed_out) == (1, 0)
    assert sweep_at(sweeper, late + timedelta(minutes=1)).timed_out == 0
    # (the deadline is looked at again when the retry is due, not every sweep until then)
    assert sweep_at(sweeper, late + timedelta(minutes=2)).deadlines_deferred == 0
    assert recipients(harness, merchant, message_id) == [("processing", None)]
    # And the third attempt, accepted 24 h late, keeps the 20 h wait it was planned to have
    third = late + timedelta(hours=3, minutes=1)
    assert sweep_at(sweeper, third).retried == 1
    assert recipients(harness, merchant, message_id) == [("sent", None)]
    assert sweep_at(sweeper, third + timedelta(hours=19, minutes=59)).timed_out == 0
    assert sweep_at(sweeper, third + timedelta(hours=20, minutes=1)).timed_out == 1
    assert recipients(harness, merchant, message_id) == [("failed", 1503)]


def test_the_sweep_reports_how_late_it_is(harness: Harness, sweeper: Sweeper) -> None:
    # Given a scheduled send whose release the sweep reaches 7 minutes late
    merchant = harness.new_merchant()
    at = (datetime.now(UTC) + HOUR).replace(microsecond=0)
    harness.send(merchant, {"to": ["+254712345678"], "message": "x", "scheduled_dates": [at.isoformat()]})
    metrics.clear_metrics()
    # Then its summary and its SweepLagSeconds metric say so; with nothing due, 0
    assert sweep_at(sweeper, at + timedelta(minutes=7)).lag_seconds == pytest.approx(420)
    assert sweep_at(sweeper, at + timedelta(minutes=8)).lag_seconds == 0
    assert metrics.metric_set["SweepLagSeconds"]["Value"] == [pytest.approx(420), 0]
    metrics.clear_metrics()


def test_transient_failures_retry_then_deliver_invisibly(harness: Harness, sweeper: Sweeper) -> None:
    merchant = harness.new_merchant()
    _, body = harness.send(merchant, {"to": ["+254712340005"], "message": "x"})
    message_id = body["data"]["message_id"]
    now = datetime.now(UTC)
    harness.dispatch_queued()
    # After the first failure the recipient is still processing, and no retry is visible
    assert recipients(harness, merchant, message_id) == [("processing", None)]
    assert harness.status(merchant, message_id)[1]["data"]["status"] == "processing"
    # Retries wait for their time: +1 h, then +4 h from the first attempt
    assert sweep_at(sweeper, now + timedelta(minutes=59)).retried == 0
    assert sweep_at(sweeper, now + HOUR + timedelta(minutes=1)).retried == 1
    assert recipients(harness, merchant, message_id) == [("processing", None)]
    assert sweep_at(sweeper, now + HOUR * 3).retried == 0
    assert sweep_at(sweeper, now + HOUR * 4 + timedelta(minutes=2)).retried == 1
    # Then the third attempt was accepted and the message is sent
    assert recipients(harness, merchant, message_id) == [("sent", None)]
    assert harness.status(merchant, message_id)[1]["data"]["status"] == "sent"
    assert len(harness.carrier.submissions) == 3


def test_a_recipient_failing_every_attempt_ends_failed(harness: Harness, sweeper: Sweeper) -> None:
    merchant = harness.new_merchant()
    _, body = harness.send(merchant, {"to": ["+254712340006", "+254712345678"], "message": "x"})
    message_id = body["data"]["message_id"]
    now = datetime.now(UTC)
    harness.dispatch_queued()
    sweep_at(sweeper, now + HOUR + timedelta(minutes=1))
    sweep_at(sweeper, now + HOUR * 4 + timedelta(minutes=2))
    assert recipients(harness, merchant, message_id) == [("failed", 1502), ("sent", None)]
    data = harness.status(merchant, message_id)[1]["data"]
    assert (data["status"], data["failed"], data["pending"]) == ("sent", 1, 1)
    assert sweep_at(sweeper, now + HOUR * 10).retried == 0


def test_a_sweep_that_dies_mid_work_leaves_it_to_the_next_after_the_lease(harness: Harness, sweeper: Sweeper) -> None:
    merchant = harness.new_merchant()
    now = datetime.now(UTC)
    at = now + HOUR
    _, body = harness.send(merchant, {"to": ["+254712345678"], "message": "x", "scheduled_dates": [at.isoformat()]})
    repository = harness.repository()
    # Given a sweep that leased the release and died
    due = [
        item
        for shard in range(16)
        for item in repository.due.find(shard, at, 100)
        if body["data"]["message_id"] in item.pk
    ]
    assert len(due) == 1
    assert repository.due.lease(due[0], at + timedelta(minutes=2)) is not None
    # Then an overlapping sweep cannot take it (the lease moved it), nor can a stale claim
    assert repository.due.lease(due[0], at + timedelta(minutes=2)) is None
    assert sweep_at(sweeper, at + timedelta(seconds=30)).released == 0
    # And once the lease has run out, the next sweep releases it
    assert sweep_at(sweeper, at + timedelta(minutes=3)).released == 1


def test_the_sweep_handler_takes_an_eventbridge_scheduled_event(harness: Harness) -> None:
    event = load_event("sweep-scheduled")
    result = load_function("sweep").lambda_handler(event, lambda_context())
    assert result["queries"] >= 16
    assert not result["out_of_time"]


class RequestCounter:
    def __init__(self, client: Any) -> None:
        self.calls: Counter[str] = Counter()
        client.meta.events.register("before-call.dynamodb.*", self._count)

    def _count(self, model: Any, **_: Any) -> None:
        self.calls[model.name] += 1


@pytest.fixture
def counted_sweeper(harness: Harness) -> Iterator[tuple[Sweeper, RequestCounter]]:
    client = boto3.client("dynamodb")
    counter = RequestCounter(client)
    yield (
        Sweeper(
            repository=SmsRepository(harness.table_name, client),
            queue=dispatch_queue(),
            carrier_for=lambda name: harness.carrier,
            settings=get_settings(),
            receipts_waiting=receipts_queue().holds_jobs,
        ),
        counter,
    )


def test_the_sweep_reads_only_what_is_due_however_many_messages_sit_idle(
    harness: Harness, counted_sweeper: tuple[Sweeper, RequestCounter]
) -> None:
    sweeper, counter = counted_sweeper
    repository = harness.repository()
    merchant = harness.new_merchant()
    now = datetime.now(UTC)
    # Given 1,500 idle messages (due again only days from now) and 40 due scheduled releases
    idle_until = now + timedelta(days=3)
    for number in range(1_500):
        repository.messages.create(message(merchant, f"{number:024x}", now, due_at=idle_until), ["+254712345678"])
    for number in range(40):
        repository.messages.create(
            message(merchant, f"{10_000 + number:024x}", now, due_at=now + HOUR, scheduled=True),
            ["+254712345678"],
        )
    # When a sweep runs with nothing due
    summary = sweep_at(sweeper, now + timedelta(minutes=1))
    # Then it made one Query per shard and nothing else, but the one that lists the carriers to
    # judge their route quality (none configured here: no more)
    assert dict(counter.calls) == {"Query": 16 + 1}
    assert summary.released == 0
    # When it runs with the 40 due
    counter.calls.clear()
    summary = sweep_at(sweeper, now + HOUR + timedelta(minutes=1))
    assert summary.released == 40
    # Then its reads grew with the due work only
    assert counter.calls["Query"] <= 16 + 1 + 40 * 2
    assert counter.calls["Scan"] == 0
    harness.queued_jobs()


def message(
    merchant: Merchant, message_id: str, now: datetime, *, due_at: datetime, scheduled: bool = False
) -> NewMessage:
    return NewMessage(
        org_id=merchant.org_id,
        message_id=message_id,
        text="idle",
        sender_id=None,
        reference=None,
        encoding="GSM-7",
        segments=1,
        total=1,
        created_at=now,
        expires_at=now + timedelta(days=90),
        due_at=due_at,
        scheduled_for=due_at if scheduled else None,
    )


def test_due_items_parse_their_addresses() -> None:
    item = due_item(
        {
            "PK": {"S": "ORG#org_0123456789abcdef#MSG#6a1c0e5f0123456789abcdef"},
            "SK": {"S": "P#00001#R#00142"},
            "due_kind": {"S": "retry"},
            "due_at": {"S": "x"},
        }
    )
    assert (item.org_id, item.message_id, item.recipient.index) == (
        "org_0123456789abcdef",
        "6a1c0e5f0123456789abcdef",
        142,
    )
    json.dumps(later("2026-01-01T00:00:00+00:00", HOUR))
