"""Dispatch, receipts and status through the real handlers: the whole lifecycle on moto."""

from __future__ import annotations

import json

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from lisoloo.entities import RecipientKey
from tests.integration.conftest import Harness, Merchant


def send_and_dispatch(harness: Harness, merchant: Merchant, numbers: list[str]) -> str:
    code, body = harness.send(merchant, {"to": numbers, "message": "Lifecycle"})
    assert code == 200, body
    response = harness.dispatch_queued()
    assert response == {"batchItemFailures": []}
    message_id: str = body["data"]["message_id"]
    return message_id


def reference(merchant: Merchant, message_id: str, index: int) -> str:
    return RecipientKey(merchant.org_id, message_id, index).reference


def test_one_number_goes_pending_processing_sent_delivered(harness: Harness) -> None:
    # Given a message to one normal number
    merchant = harness.new_merchant()
    code, body = harness.send(merchant, {"to": ["+254712345678"], "message": "hi"})
    message_id = body["data"]["message_id"]
    assert harness.status(merchant, message_id)[1]["data"]["status"] == "pending"
    # When dispatch submits it
    assert harness.dispatch_queued() == {"batchItemFailures": []}
    # Then the carrier got it once, and the message is sent
    assert [submission.to for submission in harness.carrier.submissions] == ["+254712345678"]
    data = harness.status(merchant, message_id)[1]["data"]
    assert (data["status"], data["pending"]) == ("sent", 1)
    assert data["recipients"][0]["status"] == "sent"
    # When the carrier reports it delivered
    code, receipt = harness.receipt(reference(merchant, message_id, 0), "delivered")
    assert (code, receipt["data"]["applied"]) == (200, 1)
    # Then the message is delivered with exact counters
    data = harness.status(merchant, message_id)[1]["data"]
    assert (data["status"], data["delivered"], data["failed"], data["pending"]) == ("delivered", 1, 0, 0)
    assert data["updated_at"] >= data["created_at"]


def test_sandbox_batch_ends_with_the_right_states_and_counters(harness: Harness) -> None:
    # Given one number per outcome: normal, undelivered, rejected, expired, partial, unknown, invalid
    merchant = harness.new_merchant()
    numbers = [
        "+254712345678",
        "+254712340001",
        "+254712340002",
        "+254712340003",
        "+254712340007",
        "+254712340008",
        "+254000000000",
    ]
    message_id = send_and_dispatch(harness, merchant, numbers)
    # When the carrier reports what the sandbox would
    for index, status in [(0, "delivered"), (1, "undelivered"), (3, "expired"), (4, "partially_delivered")]:
        assert harness.receipt(reference(merchant, message_id, index), status)[0] == 200
    assert harness.receipt(reference(merchant, message_id, 5), "delivery_unknown")[0] == 200
    # Then every recipient has its own state and the counters add up
    data = harness.status(merchant, message_id)[1]["data"]
    states = [(recipient["status"], recipient["error_code"]) for recipient in data["recipients"]]
    assert states == [
        ("delivered", None),
        ("undelivered", 1402),
        ("rejected", 1401),
        ("expired", 1403),
        ("partially_delivered", 1404),
        ("delivery_unknown", 1405),
        ("failed", 1400),
    ]
    assert data["recipients"][6]["error_message"] == "INVALID_NUMBER"
    assert (data["status"], data["delivered"], data["failed"], data["pending"]) == ("delivered", 1, 6, 0)
    # And the invalid number never reached the carrier
    assert "+254000000000" not in [submission.to for submission in harness.carrier.submissions]


def test_a_batch_where_nothing_succeeds_is_failed(harness: Harness) -> None:
    merchant = harness.new_merchant()
    message_id = send_and_dispatch(harness, merchant, ["+254712340002", "+254000000000"])
    data = harness.status(merchant, message_id)[1]["data"]
    assert (data["status"], data["failed"], data["pending"]) == ("failed", 2, 0)


def test_a_failed_message_carries_its_recipients_most_frequent_error_code(harness: Harness) -> None:
    # Given a batch where two are rejected at submit (1401) and one is not a real number (1400)
    merchant = harness.new_merchant()
    message_id = send_and_dispatch(harness, merchant, ["+254712340002", "+254000000000", "+254712350002"])
    # Then the message, failed, carries 1401 (the most frequent), as does its sms.failed event
    data = harness.status(merchant, message_id)[1]["data"]
    assert (data["status"], data["failed"], data["error_code"]) == ("failed", 3, 1401)
    # And with one of each, the lowest code: 1400
    tied = send_and_dispatch(harness, merchant, ["+254712340002", "+254000000000"])
    assert harness.status(merchant, tied)[1]["data"]["error_code"] == 1400
    # And a message with a delivered recipient carries none, whatever failed beside it
    mixed = send_and_dispatch(harness, merchant, ["+254712345678", "+254000000000"])
    assert harness.receipt(reference(merchant, mixed, 0), "delivered")[0] == 200
    data = harness.status(merchant, mixed)[1]["data"]
    assert (data["status"], data["failed"], data["error_code"]) == ("delivered", 1, None)


def test_duplicate_and_out_of_order_receipts_never_move_counters(harness: Harness) -> None:
    merchant = harness.new_merchant()
    message_id = send_and_dispatch(harness, merchant, ["+254712345678", "+254712345679"])
    first = reference(merchant, message_id, 0)
    # Given recipient 0 delivered
    assert harness.receipt(first, "delivered")[1]["data"]["applied"] == 1
    # When the same receipt comes again, then a late "enroute" and a contradictory "undelivered"
    for late in ["delivered", "enroute", "undelivered", "sent"]:
        code, body = harness.receipt(first, late)
        assert (code, body["data"]["applied"]) == (200, 0)
    # Then nothing changed: one delivered, one still pending
    data = harness.status(merchant, message_id)[1]["data"]
    assert (data["delivered"], data["failed"], data["pending"], data["status"]) == (1, 0, 1, "sent")
    assert data["recipients"][0]["status"] == "delivered"


def test_receipts_for_unknown_references_are_accepted_and_change_nothing(harness: Harness) -> None:
    merchant = harness.new_merchant()
    message_id = send_and_dispatch(harness, merchant, ["+254712345678"])
    for carrier_ref in [
        "not-ours",
        reference(merchant, "0" * 24, 0),
        reference(merchant, message_id, 57),
        reference(harness.new_merchant(), message_id, 0),
    ]:
        code, body = harness.receipt(carrier_ref, "delivered")
        assert (code, body["data"]["applied"]) == (200, 0), carrier_ref
    assert harness.status(merchant, message_id)[1]["data"]["pending"] == 1


def test_unreadable_receipts_answer_200(harness: Harness) -> None:
    for raw in ["", "{", "[]", json.dumps({"carrier_ref": "x", "status": "teleported"})]:
        code, body, _ = harness.api(
            "receipts",
            "receipts-sandbox",
            None,
            raw_body=raw,
            headers={"x-carrier-token": harness.carrier_token},
        )
        assert (code, body["data"]["applied"]) == (200, 0), raw


@pytest.mark.parametrize(
    ("carrier", "token", "expected"),
    [
        ("sandbox", "", (401, "Invalid or missing carrier token")),
        ("sandbox", "lct_wrong", (401, "Invalid or missing carrier token")),
        ("kannel-nowhere", "lct_wrong", (404, "Carrier not found")),
    ],
)
def test_receipts_need_the_carriers_token(
    harness: Harness, carrier: str, token: str, expected: tuple[int, str]
) -> None:
    code, body, _ = harness.api(
        "receipts",
        "receipts-sandbox",
        None,
        path=f"/api/v1/lisoloo/sms-api/receipts/{carrier}",
        path_parameters={"carrier": carrier},
        headers={"x-carrier-token": token},
    )
    assert (code, body["detail"]) == expected


def test_redelivered_job_submits_nobody_twice(harness: Harness) -> None:
    merchant = harness.new_merchant()
    harness.send(merchant, {"to": ["+254712345678", "+254712345679"], "message": "once"})
    jobs = harness.queued_jobs()
    # When SQS delivers the same job twice
    harness.dispatch(jobs)
    harness.dispatch(jobs)
    # Then each recipient was submitted once
    assert sorted(submission.to for submission in harness.carrier.submissions) == [
        "+254712345678",
        "+254712345679",
    ]


def test_a_crash_mid_batch_loses_no_recipient_and_resubmits_under_the_same_reference(
    harness: Harness,
) -> None:
    # Given a dispatch run that crashes after the carrier took the first recipient
    merchant = harness.new_merchant()
    _, body = harness.send(merchant, {"to": ["+254712345678", "+254712345679"], "message": "crash"})
    message_id = body["data"]["message_id"]
    jobs = harness.queued_jobs()
    harness.carrier.fail_after = 1
    with pytest.raises(BatchProcessingError):  # every record failed: Lambda retries the batch
        harness.dispatch(jobs)
    # When SQS redelivers the job after the visibility timeout (claims are stale by then)
    harness.carrier.fail_after = None
    from lisoloo import dispatching

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(dispatching, "CLAIM_STALE_AFTER", dispatching.CLAIM_STALE_AFTER * 0)
        assert harness.dispatch(jobs) == {"batchItemFailures": []}
    # Then both recipients are handed off
    data = harness.status(merchant, message_id)[1]["data"]
    assert [recipient["status"] for recipient in data["recipients"]] == ["sent", "sent"]
    assert data["status"] == "sent"
    # And the one whose hand-off the crash lost went again under the same reference, which a
    # carrier that deduplicates client references (the sandbox does) drops: never a second SMS
    references = [submission.reference for submission in harness.carrier.submissions]
    first, second = (reference(merchant, message_id, index) for index in (0, 1))
    assert sorted(references) == sorted([first, first, second])
