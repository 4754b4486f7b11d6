"""Validity periods through dispatch and the sweep (DESIGN §12): handed to the carrier, a
recipient still waiting on a carrier retry when it ends is expired 1403 unsent, and the
receipt deadline follows the validity's end."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from lisoloo.entities import NumberListing, RecipientKey
from lisoloo.settings import get_settings
from lisoloo.sweeping import Sweeper
from tests.integration.conftest import Harness, Merchant, purge_receipts_queue


@pytest.fixture
def sweeper(harness: Harness) -> Sweeper:
    purge_receipts_queue()
    return harness.sweeper()


def send(harness: Harness, merchant: Merchant, number: str, validity: int) -> tuple[str, datetime]:
    code, body = harness.send(merchant, {"to": [number], "message": "code 4821", "validity_period": validity})
    assert code == 200, body
    created = datetime.fromisoformat(body["data"]["created_at"].replace("Z", "+00:00"))
    return body["data"]["message_id"], created


def recipient(harness: Harness, merchant: Merchant, message_id: str) -> tuple[str, int | None]:
    data = harness.status(merchant, message_id)[1]["data"]
    return data["recipients"][0]["status"], data["recipients"][0]["error_code"]


def submissions_of(harness: Harness, message_id: str) -> list[object]:
    return [submission for submission in harness.carrier.submissions if message_id in submission.reference]


def test_the_carrier_is_handed_what_is_left_of_the_validity(harness: Harness) -> None:
    merchant = harness.new_merchant()
    message_id, _ = send(harness, merchant, "+254712345678", 600)
    assert harness.dispatch_queued() == {"batchItemFailures": []}
    (submitted,) = submissions_of(harness, message_id)
    assert 590 <= submitted.validity_seconds <= 600  # type: ignore[attr-defined]


def test_a_recipient_waiting_on_a_retry_expires_when_the_validity_ends(harness: Harness, sweeper: Sweeper) -> None:
    # Given a 10-minute validity to a number every carrier attempt fails (next attempt in 1 h)
    merchant = harness.new_merchant()
    message_id, created = send(harness, merchant, "+254712340006", 600)
    assert harness.dispatch_queued() == {"batchItemFailures": []}
    assert recipient(harness, merchant, message_id) == ("processing", None)
    # Then its retry is due at the validity's end, not in an hour
    assert sweeper.sweep(created + timedelta(seconds=590), lambda: 60.0).retried == 0
    # When the sweep runs once the validity has ended
    assert sweeper.sweep(created + timedelta(seconds=601), lambda: 60.0).retried == 1
    # Then it is expired 1403, never submitted again
    assert recipient(harness, merchant, message_id) == ("expired", 1403)
    assert len(submissions_of(harness, message_id)) == 1
    data = harness.status(merchant, message_id)[1]["data"]
    assert (data["status"], data["failed"], data["pending"], data["error_code"]) == ("failed", 1, 0, 1403)


def test_the_receipt_deadline_is_the_validity_end_plus_the_grace(harness: Harness, sweeper: Sweeper) -> None:
    # Given a handed-off recipient of a one-minute validity whose carrier never reports
    merchant = harness.new_merchant()
    message_id, created = send(harness, merchant, "+254712340004", 60)
    assert harness.dispatch_queued() == {"batchItemFailures": []}
    assert recipient(harness, merchant, message_id) == ("sent", None)
    grace = timedelta(seconds=get_settings().time.validity_receipt_grace_seconds)
    # When the sweep runs before the validity's end plus the grace, nothing happens
    sweeper.sweep(created + timedelta(seconds=60) + grace - timedelta(seconds=5), lambda: 60.0)
    assert recipient(harness, merchant, message_id) == ("sent", None)
    # When it runs after, Then it times out then, not 24 hours later
    sweeper.sweep(created + timedelta(seconds=62) + grace, lambda: 60.0)
    assert recipient(harness, merchant, message_id) == ("failed", 1503)


def test_a_message_whose_jobs_were_lost_expires_its_unsent_recipients(harness: Harness, sweeper: Sweeper) -> None:
    # Given a message with a validity whose dispatch jobs are lost, and a sweep that requeues them (lost again)
    merchant = harness.new_merchant()
    message_id, created = send(harness, merchant, "+254712345678", 60)
    harness.queued_jobs()
    sweeper.sweep(created + timedelta(seconds=get_settings().time.release_guard_seconds + 1), lambda: 60.0)
    harness.queued_jobs()
    # When its deadline comes, Then the never-sent recipient is expired 1403, not a timeout
    sweeper.sweep(created + timedelta(seconds=get_settings().time.delivery_timeout_seconds + 1), lambda: 60.0)
    assert recipient(harness, merchant, message_id) == ("expired", 1403)
    assert submissions_of(harness, message_id) == []


def _dispatch_at(harness: Harness, merchant: Merchant, message_id: str, now: datetime) -> None:
    from lisoloo.breaker import CircuitBreakers
    from lisoloo.dispatching import dispatch_chunk
    from lisoloo.models import DispatchJob
    from lisoloo.submitting import Routing

    settings = get_settings()
    routing = Routing(
        routes=tuple,
        carrier_for=lambda name: harness.carrier,
        default_carrier="sandbox",
        breakers=CircuitBreakers(3, 60),
    )
    job = DispatchJob(org_id=merchant.org_id, message_id=message_id, chunk=0)
    dispatch_chunk(job, repository=harness.repository(), routing=routing, settings=settings, now=now)


def test_dispatch_after_the_validity_expires_instead_of_sending(harness: Harness) -> None:
    # Given a one-minute validity whose dispatch runs late: one recipient never claimed, one
    # claimed by a run that crashed before submitting
    merchant = harness.new_merchant()
    code, body = harness.send(
        merchant, {"to": ["+254712345678", "+254733000001"], "message": "late", "validity_period": 60}
    )
    assert code == 200, body
    harness.queued_jobs()
    message_id = body["data"]["message_id"]
    created = datetime.fromisoformat(body["data"]["created_at"].replace("Z", "+00:00"))
    key = RecipientKey(merchant.org_id, message_id, 1)
    listing = NumberListing("+254733000001", created)
    assert harness.repository().recipients.claim(key, "sandbox", created, timedelta(seconds=60), listing)
    # When dispatch runs after the validity ended
    _dispatch_at(harness, merchant, message_id, created + timedelta(seconds=300))
    # Then both are expired 1403 and nothing reached the carrier
    data = harness.status(merchant, message_id)[1]["data"]
    assert [(r["status"], r["error_code"]) for r in data["recipients"]] == [("expired", 1403)] * 2
    assert submissions_of(harness, message_id) == []
