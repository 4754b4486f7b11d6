"""GET /messages through the real handler on moto: filters, pages, the per-number index."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from lisoloo.entities import RecipientKey
from lisoloo.settings import get_settings
from lisoloo.storage.message_index import MessageIndex
from tests.integration.conftest import Harness, Merchant


def list_messages(harness: Harness, merchant: Merchant, **query: str) -> tuple[int, Any]:
    code, body, _ = harness.api("messages", "messages-list", merchant, query=query)
    return code, body


def every_page(harness: Harness, merchant: Merchant, between_pages: Any = None, **query: str) -> list[str]:
    seen: list[str] = []
    cursor: str | None = None
    while True:
        code, body = list_messages(harness, merchant, **query, **({"cursor": cursor} if cursor else {}))
        assert code == 200, body
        seen.extend(message["message_id"] for message in body["data"]["messages"])
        cursor = body["data"]["cursor"]
        if cursor is None:
            return seen
        if between_pages is not None:
            between_pages()


def send(harness: Harness, merchant: Merchant, to: list[str], **fields: Any) -> str:
    code, body = harness.send(merchant, {"to": to, "message": "find me", **fields})
    assert code == 200, body
    message_id: str = body["data"]["message_id"]
    return message_id


@pytest.mark.parametrize("limit", [1, 3, 7, 100])
def test_pages_list_every_message_once_newest_first_while_new_ones_arrive(harness: Harness, limit: int) -> None:
    # Given seven messages
    merchant = harness.new_merchant()
    sent = [send(harness, merchant, ["+254712345678"]) for _ in range(7)]
    arriving: list[str] = []

    # When the merchant pages through them while more messages are sent between pages
    seen = every_page(
        harness,
        merchant,
        between_pages=lambda: arriving.append(send(harness, merchant, ["+254712345679"])),
        limit=str(limit),
    )

    # Then each message that existed when the walk began is listed exactly once, newest first,
    # and the ones that arrived meanwhile (newer than the first page) do not slip in between
    assert sorted(seen) == sorted(sent) and len(seen) == len(set(seen))
    assert seen == sorted(seen, key=lambda message_id: (created_at(harness, merchant, message_id), message_id))[::-1]
    assert not set(arriving) & set(seen)


def created_at(harness: Harness, merchant: Merchant, message_id: str) -> datetime:
    message = harness.repository().messages.get(merchant.org_id, message_id)
    assert message is not None
    return message.created_at


def test_filters_each_find_exactly_their_messages(harness: Harness) -> None:
    # Given messages with and without a reference and a sender id, one delivered, one failed
    merchant = harness.new_merchant()
    plain = send(harness, merchant, ["+254712345678"])
    order = send(harness, merchant, ["+254712345678", "+254733000001"], reference="order-1182")
    branded = send(harness, merchant, ["+254733000001"], sender_id="LISOLOO")
    invalid = send(harness, merchant, ["+254000000000"])  # an invalid number: failed 1400 at dispatch
    assert harness.dispatch_queued() == {"batchItemFailures": []}
    code, receipt = harness.receipt(RecipientKey(merchant.org_id, plain, 0).reference, "delivered")
    assert (code, receipt["data"]["applied"]) == (200, 1)
    later = send(harness, merchant, ["+254712345670"])  # not dispatched yet: pending, in no number's index

    # When each filter is asked; Then exactly its messages come back, newest first
    table: list[tuple[dict[str, str], list[str]]] = [
        ({}, [later, invalid, branded, order, plain]),
        ({"status": "delivered"}, [plain]),
        ({"status": "failed"}, [invalid]),
        ({"status": "sent"}, [branded, order]),
        ({"status": "pending"}, [later]),
        ({"reference": "order-1182"}, [order]),
        ({"reference": "order-1183"}, []),
        ({"sender_id": "LISOLOO"}, [branded]),
        ({"recipient": "+254733000001"}, [branded, order]),
        ({"recipient": "0733000001"}, [branded, order]),  # national, in the organization's country
        ({"recipient": " 254733000001"}, [branded, order]),  # a '+' the client left unescaped
        ({"recipient": "+254712345678"}, [order, plain]),
        ({"recipient": "+254712345678", "status": "delivered"}, [plain]),
        ({"recipient": "+254712345678", "reference": "order-1182"}, [order]),
        ({"recipient": "+254000000000"}, [invalid]),
        ({"recipient": "+254712345670"}, []),
    ]
    for query, expected in table:
        assert every_page(harness, merchant, limit="2", **query) == expected, query

    # And a time range is [created_after, created_before)
    start = created_at(harness, merchant, order)
    end = created_at(harness, merchant, invalid)
    assert every_page(harness, merchant, created_after=_iso(start), created_before=_iso(end)) == [branded, order]
    assert every_page(harness, merchant, created_after=_iso(end + timedelta(days=1))) == []


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def test_an_item_is_the_status_data_without_recipients_plus_reference_and_sender_id(harness: Harness) -> None:
    merchant = harness.new_merchant()
    message_id = send(harness, merchant, ["+254712345678"], reference="order-7", sender_id="SHOP")
    _, body = list_messages(harness, merchant)
    (item,) = body["data"]["messages"]
    status = harness.status(merchant, message_id)[1]["data"]
    assert item == {
        **{name: value for name, value in status.items() if name not in ("recipients", "recipients_cursor")},
        "reference": "order-7",
        "sender_id": "SHOP",
    }


def test_another_organizations_messages_are_never_listed(harness: Harness) -> None:
    owner, stranger = harness.new_merchant(), harness.new_merchant()
    send(harness, owner, ["+254712345678"], reference="secret-ref")
    assert harness.dispatch_queued() == {"batchItemFailures": []}
    for query in [{}, {"reference": "secret-ref"}, {"recipient": "+254712345678"}]:
        assert every_page(harness, stranger, **query) == []
    assert len(every_page(harness, owner, recipient="+254712345678")) == 1


@pytest.mark.parametrize(
    ("query", "where"),
    [
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"cursor": "MjAyNi0xMi0wN1QwMToyNzoxOS4xMjNa"}, "cursor"),  # a timestamp alone: not ours
        ({"recipient": "call me"}, "recipient"),
        ({"status": "partially_delivered"}, "status"),
        ({"created_after": "2026-12-01T00:00:00"}, "created_after"),  # no time zone
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
    ],
)
def test_bad_parameters_answer_422_naming_them(harness: Harness, query: dict[str, str], where: str) -> None:
    merchant = harness.new_merchant()
    code, body = list_messages(harness, merchant, **query)
    assert code == 422
    assert [problem["loc"] for problem in body["detail"]] == [["query", where]]


def test_latest_message_to_a_number_is_one_query_of_the_per_number_index(harness: Harness) -> None:
    # Given two messages to a number, both dispatched, and one to another number
    merchant = harness.new_merchant()
    first = send(harness, merchant, ["+254712345678"])
    second = send(harness, merchant, ["+254712345678", "+254712345679"])
    send(harness, merchant, ["+254712345679"])
    assert harness.dispatch_queued() == {"batchItemFailures": []}
    index = harness.repository().message_index
    since = created_at(harness, merchant, first) - timedelta(days=7)
    # Then the latest one sent to it answers, for its organization only and within the window
    assert index.latest_message_to(merchant.org_id, "+254712345678", since) == second
    assert index.latest_message_to(harness.new_merchant().org_id, "+254712345678", since) is None
    later = created_at(harness, merchant, second) + timedelta(seconds=1)
    assert index.latest_message_to(merchant.org_id, "+254712345678", later) is None


def test_a_range_of_centuries_reads_no_more_months_than_the_retention_holds(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a merchant with a message, and the month partitions each listing reads recorded
    merchant = harness.new_merchant()
    message_id = send(harness, merchant, ["+254712345678"])
    walked: list[int] = []
    listed = MessageIndex.listed

    def recording(self: MessageIndex, org_id: str, months: list[str], *rest: Any) -> Any:
        walked.append(len(months))
        return listed(self, org_id, months, *rest)

    monkeypatch.setattr(MessageIndex, "listed", recording)
    # When it asks for everything from the year 170 to the year 9999 (found by the fuzzer: one
    # Query per month of 1,800 years timed the request out)
    code, body = list_messages(
        harness, merchant, created_after="0170-02-04T17:55:02Z", created_before="9999-01-01T00:00:00Z"
    )
    # Then it is answered from the months a message can still be in
    assert code == 200, body
    assert [item["message_id"] for item in body["data"]["messages"]] == [message_id]
    retention_months = get_settings().time.message_lifetime.days // 28 + 2
    assert walked and max(walked) <= retention_months
