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


def test_bad_paging_parameters_are_422(harness: Harness) -> None:
    merchant = harness.new_merchant()
    code, body = harness.send(merchant, {"to": ["+254712345678"], "message": "x"})
    message_id = body["data"]["message_id"]
    for query in [
        {"recipients_limit": "0"},
        {"recipients_limit": "1001"},
        {"recipients_cursor": "abc"},
        {"recipients_cursor": "5"},
    ]:
        code, body = harness.status(merchant, message_id, query)
        assert code == 422, query
        assert "detail" in body
