"""GET /status through the real handler: tenant scoping, identical 404s, recipient pages."""

from __future__ import annotations

from tests.integration.conftest import Harness


def test_unknown_malformed_and_other_tenant_ids_answer_identical_404s(harness: Harness) -> None:
    owner, stranger = harness.new_merchant(), harness.new_merchant()
    code, body = harness.send(owner, {"to": ["+254712345678"], "message": "mine"})
    message_id = body["data"]["message_id"]
    answers = set()
    for caller, candidate in [
        (stranger, message_id),
        (owner, "0" * 24),
        (owner, "not-an-id"),
        (owner, message_id.upper()),
        (owner, message_id[:-1] + "%"),
    ]:
        code, _, raw = harness.api(
            "status",
            "status-get",
            caller,
            path=f"/api/v1/lisoloo/sms-api/status/{candidate}",
            path_parameters={"message_id": candidate},
        )
        answers.add((code, raw))
    assert answers == {(404, '{"detail":"Message not found"}')}
    assert harness.status(owner, message_id)[0] == 200


def test_recipients_are_paged_with_a_cursor(harness: Harness) -> None:
    merchant = harness.new_merchant()
    numbers = [f"+2547123{index:05d}" for index in range(250)]
    code, body = harness.send(merchant, {"to": numbers, "message": "pages"})
    message_id = body["data"]["message_id"]
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        query = {"recipients_limit": "120"} | ({"recipients_cursor": cursor} if cursor else {})
        code, page = harness.status(merchant, message_id, query)
        assert code == 200
        seen.extend(recipient["to"] for recipient in page["data"]["recipients"])
        cursor = page["data"]["recipients_cursor"]
        pages += 1
        if cursor is None:
            break
    assert seen == numbers
    assert pages == 3
    assert harness.status(merchant, message_id)[1]["data"]["recipients_cursor"] == "100"


def test_a_cursor_at_or_past_the_end_is_an_empty_last_page(harness: Harness) -> None:
    # Given a message of three recipients
    merchant = harness.new_merchant()
    _, body = harness.send(merchant, {"to": ["+254712345678", "+254712345679", "+254712345670"], "message": "x"})
    message_id = body["data"]["message_id"]
    # When a client stepping by offsets asks from the end, or from past it
    for cursor in ["3", "4", "100", "99999"]:
        code, page = harness.status(merchant, message_id, {"recipients_cursor": cursor, "recipients_limit": "2"})
        # Then it is an empty page with no next cursor (it was a 422), the counters as always
        assert code == 200, (cursor, page)
        assert (page["data"]["recipients"], page["data"]["recipients_cursor"]) == ([], None)
        assert page["data"]["total_recipients"] == 3
    # And the page before the end still holds the last recipient
    code, page = harness.status(merchant, message_id, {"recipients_cursor": "2"})
    assert [recipient["to"] for recipient in page["data"]["recipients"]] == ["+254712345670"]


def test_bad_paging_parameters_are_422_in_the_validation_shape(harness: Harness) -> None:
    # Given a message
    merchant = harness.new_merchant()
    code, body = harness.send(merchant, {"to": ["+254712345678"], "message": "x"})
    message_id = body["data"]["message_id"]
    # When a limit is out of range or a cursor is not a position (the cursor's 422 was a sentence)
    for query, loc in [
        ({"recipients_limit": "0"}, ["query", "recipients_limit"]),
        ({"recipients_limit": "1001"}, ["query", "recipients_limit"]),
        # int() reads each of these as 5 or 10; a query's number is ASCII digits, nothing else
        ({"recipients_limit": "5\n"}, ["query", "recipients_limit"]),
        ({"recipients_limit": " 5"}, ["query", "recipients_limit"]),
        ({"recipients_limit": "+5"}, ["query", "recipients_limit"]),
        ({"recipients_limit": "1_0"}, ["query", "recipients_limit"]),
        ({"recipients_limit": "5.0"}, ["query", "recipients_limit"]),
        ({"recipients_limit": "\u0665"}, ["query", "recipients_limit"]),
        ({"recipients_cursor": "abc"}, ["query", "recipients_cursor"]),
        ({"recipients_cursor": "5\n"}, ["query", "recipients_cursor"]),
        ({"recipients_cursor": "\N{ARABIC-INDIC DIGIT FIVE}"}, ["query", "recipients_cursor"]),
        ({"recipients_cursor": "123456"}, ["query", "recipients_cursor"]),
    ]:
        code, body = harness.status(merchant, message_id, query)
        # Then each is a 422 listing {loc, msg, type} like any request-validation error
        assert code == 422, query
        assert [problem["loc"] for problem in body["detail"]] == [loc], query
        assert {"loc", "msg", "type"} == set(body["detail"][0]), query
