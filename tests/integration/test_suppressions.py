"""Suppressions (DESIGN §9) through the real handlers: the API, and dispatch honouring the list."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.integration.conftest import Harness, Merchant
from tests.integration.test_stateful_isolation import RequestLog, requests_made  # noqa: F401 - the fixture

SUPPRESSIONS = "/api/v1/lisoloo/sms-api/suppressions"


def put(harness: Harness, merchant: Merchant, number: str, body: Any = None) -> tuple[int, Any]:
    code, parsed, _ = harness.api(
        "suppressions",
        "suppressions-put",
        merchant,
        body=body if body is not None else {},
        path=f"{SUPPRESSIONS}/{number}",
        path_parameters={"number": number},
    )
    return code, parsed


def delete(harness: Harness, merchant: Merchant, number: str) -> tuple[int, Any]:
    code, parsed, _ = harness.api(
        "suppressions",
        "suppressions-delete",
        merchant,
        path=f"{SUPPRESSIONS}/{number}",
        path_parameters={"number": number},
    )
    return code, parsed


def listing(harness: Harness, merchant: Merchant, **query: str) -> tuple[int, Any]:
    code, parsed, _ = harness.api("suppressions", "suppressions-get", merchant, query=query)
    return code, parsed


def bulk(harness: Harness, merchant: Merchant, body: Any) -> tuple[int, Any]:
    code, parsed, _ = harness.api("suppressions", "suppressions-post", merchant, body=body)
    return code, parsed


def test_a_number_is_suppressed_normalised_listed_and_lifted(harness: Harness) -> None:
    # Given a merchant in Kenya
    merchant = harness.new_merchant()
    # When it suppresses a number written nationally
    code, body = put(harness, merchant, "0712 345 678", {"reason": "asked by phone"})
    # Then the list holds it in E.164, with its reason
    assert code == 200, body
    assert body["data"]["number"] == "+254712345678"
    assert (body["data"]["reason"], body["data"]["source"]) == ("asked by phone", "api")
    code, body = listing(harness, merchant)
    assert code == 200
    assert [entry["number"] for entry in body["data"]["suppressions"]] == ["+254712345678"]
    assert body["data"]["cursor"] is None
    # When it lifts the suppression under the international form
    code, body = delete(harness, merchant, "+254712345678")
    # Then it is gone, and lifting it again is a 404
    assert (code, body["data"]) == (200, {"number": "+254712345678", "suppressed": False})
    assert listing(harness, merchant)[1]["data"]["suppressions"] == []
    assert delete(harness, merchant, "+254712345678") == (404, {"detail": "Suppression not found"})


def test_suppressing_twice_keeps_the_first_time_and_takes_the_new_reason(harness: Harness) -> None:
    merchant = harness.new_merchant()
    first = put(harness, merchant, "+254712345678", {"reason": "one"})[1]["data"]
    second = put(harness, merchant, "+254712345678", {"reason": "two"})[1]["data"]
    assert second["created_at"] == first["created_at"]
    assert second["reason"] == "two"
    assert len(listing(harness, merchant)[1]["data"]["suppressions"]) == 1


def test_bulk_suppression_pages_in_number_order(harness: Harness) -> None:
    # Given 250 numbers suppressed in one request
    merchant = harness.new_merchant()
    numbers = [f"+2547120{index:05d}" for index in range(250)]
    code, body = bulk(harness, merchant, {"numbers": list(reversed(numbers)), "reason": "import"})
    assert (code, body["data"]) == (200, {"suppressed": 250})
    # When the list is read a hundred at a time
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        query = {"limit": "100", **({"cursor": cursor} if cursor else {})}
        code, body = listing(harness, merchant, **query)
        assert code == 200, body
        seen += [entry["number"] for entry in body["data"]["suppressions"]]
        cursor = body["data"]["cursor"]
        pages += 1
        if cursor is None:
            break
    # Then every number comes once, in order, in three pages
    assert (seen, pages) == (numbers, 3)


@pytest.mark.parametrize(
    "body",
    [
        {"numbers": []},
        {"numbers": ["+254712345678", "not a number"]},
        {"numbers": ["+254712345678", "0712345678"]},
        {"numbers": ["+254712345678"] * 10_001},
        {"numbers": ["+254712345678"], "extra": 1},
    ],
)
def test_bulk_suppression_refuses_bad_lists_whole(harness: Harness, body: Any) -> None:
    merchant = harness.new_merchant()
    code, parsed = bulk(harness, merchant, body)
    assert code == 422, parsed
    assert listing(harness, merchant)[1]["data"]["suppressions"] == []


def test_a_malformed_number_or_cursor_is_422(harness: Harness) -> None:
    merchant = harness.new_merchant()
    assert put(harness, merchant, "call-me")[0] == 422
    assert listing(harness, merchant, cursor="x")[0] == 422
    assert listing(harness, merchant, limit="0")[0] == 422


def test_one_organizations_suppression_is_not_anothers(harness: Harness) -> None:
    # Given A suppressed a number
    a, b = harness.new_merchant(), harness.new_merchant()
    assert put(harness, a, "+254712345678")[0] == 200
    # Then B neither sees nor can lift it, and B's sends to it go out
    assert listing(harness, b)[1]["data"]["suppressions"] == []
    assert delete(harness, b, "+254712345678") == (404, {"detail": "Suppression not found"})
    assert harness.send(b, {"to": ["+254712345678"], "message": "hi"})[0] == 200
    harness.dispatch_queued()
    assert [submission.to for submission in harness.carrier.submissions] == ["+254712345678"]


def test_a_suppressed_recipient_fails_1406_without_a_submit(harness: Harness) -> None:
    # Given a merchant that suppressed one of two numbers
    merchant = harness.new_merchant()
    put(harness, merchant, "+254712345678", {"reason": "STOP by phone"})
    # When it sends to both
    _, body = harness.send(merchant, {"to": ["+254712345678", "+254712345679"], "message": "Sale"})
    message_id = body["data"]["message_id"]
    assert harness.dispatch_queued() == {"batchItemFailures": []}
    # Then only the other is submitted; the suppressed one failed 1406, counted
    assert [submission.to for submission in harness.carrier.submissions] == ["+254712345679"]
    data = harness.status(merchant, message_id)[1]["data"]
    assert (data["failed"], data["pending"]) == (1, 1)
    first = data["recipients"][0]
    assert (first["status"], first["error_code"], first["error_message"]) == ("failed", 1406, "OPTED_OUT")


def test_a_stop_during_a_large_send_stops_the_chunks_not_yet_dispatched(harness: Harness) -> None:
    # Given a send of 300 numbers (none the fake carrier refuses), three chunks
    merchant = harness.new_merchant()
    numbers = [f"+25471{index:04d}001" for index in range(300)]
    _, body = harness.send(merchant, {"to": numbers, "message": "Big sale"})
    message_id = body["data"]["message_id"]
    jobs = sorted(harness.queued_jobs(), key=lambda job: job["Body"])
    assert len(jobs) == 3
    # When the first chunk is dispatched, then the number opts out, then the rest go
    harness.dispatch(jobs[:1])
    put(harness, merchant, numbers[250])
    harness.dispatch(jobs[1:])
    # Then it was never submitted; the 299 others were, and it alone failed 1406
    submitted = {submission.to for submission in harness.carrier.submissions}
    assert numbers[250] not in submitted and len(submitted) == 299
    data = harness.status(merchant, message_id, {"recipients_cursor": "250", "recipients_limit": "1"})[1]["data"]
    assert (data["failed"], data["recipients"][0]["error_code"]) == (1, 1406)


def test_a_redelivered_job_does_not_count_an_opted_out_recipient_twice(harness: Harness) -> None:
    merchant = harness.new_merchant()
    put(harness, merchant, "+254712345678")
    _, body = harness.send(merchant, {"to": ["+254712345678"], "message": "hi"})
    (job,) = harness.queued_jobs()
    harness.dispatch([job])
    harness.dispatch([job])
    data = harness.status(merchant, body["data"]["message_id"])[1]["data"]
    assert (data["status"], data["failed"], data["error_code"]) == ("failed", 1, 1406)


def test_a_stop_between_carrier_attempts_cancels_the_retry(harness: Harness) -> None:

    # Given a recipient whose first submit failed transiently (the fake carrier's …0005)
    harness.wipe_table()  # the sweep below must find only this test's due work
    merchant = harness.new_merchant()
    _, body = harness.send(merchant, {"to": ["+254712340005"], "message": "x"})
    now = datetime.now(UTC)
    harness.dispatch_queued()
    assert len(harness.carrier.submissions) == 1
    # When the number opts out, and the retry comes due
    put(harness, merchant, "+254712340005")
    sweeper = harness.sweeper()
    sweeper.sweep(now + timedelta(hours=1, minutes=1), lambda: 900.0)
    # Then no second attempt is made, and the recipient failed 1406
    assert len(harness.carrier.submissions) == 1
    data = harness.status(merchant, body["data"]["message_id"])[1]["data"]
    assert (data["status"], data["error_code"]) == ("failed", 1406)
    assert sweeper.sweep(now + timedelta(hours=5), lambda: 900.0).retried == 0


def test_a_number_is_suppressed_without_a_body_too(harness: Harness) -> None:
    merchant = harness.new_merchant()
    code, body, _ = harness.api(
        "suppressions",
        "suppressions-put",
        merchant,
        raw_body="",
        path=f"{SUPPRESSIONS}/+254712345678",
        path_parameters={"number": "+254712345678"},
    )
    assert (code, body["data"]["number"], body["data"]["reason"]) == (200, "+254712345678", None)


def test_lifting_another_tenants_suppression_is_the_same_404_with_the_same_requests(
    harness: Harness,
    requests_made: RequestLog,  # noqa: F811 - the fixture imported above
) -> None:
    # Given the owner suppressed a number
    owner, stranger = harness.new_merchant(), harness.new_merchant()
    put(harness, owner, "+254712345678")
    # When a stranger lifts it, and a number nobody suppressed
    theirs = requests_made.during(lambda: delete(harness, stranger, "+254712345678"))
    unknown = requests_made.during(lambda: delete(harness, stranger, "+254712345670"))
    # Then the same answer and the same DynamoDB work; the owner's suppression stays
    assert theirs[0] == unknown[0] == (404, {"detail": "Suppression not found"})
    assert theirs[1] == unknown[1] == ["DeleteItem"]
    assert harness.repository().suppressions.suppressed(owner.org_id, ["+254712345678"]) == {"+254712345678"}
