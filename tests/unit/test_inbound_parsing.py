"""Inbound messages (MO) as each carrier writes them, and the events a stored one produces (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from lisoloo.carriers.base import CarrierInbound, ReceiptRequest
from lisoloo.carriers.generic import InboundMapping, generic_inbound
from lisoloo.carriers.mo import MAX_INBOUND_TEXT, jasmin_inbound, kannel_inbound, sandbox_inbound
from lisoloo.inbound import address
from lisoloo.keywords import Keyword
from lisoloo.two_way import InboundMessage
from lisoloo.webhooks.inbound_events import inbound_events

FORM = "application/x-www-form-urlencoded"


def request(body: str = "", query: dict[str, str] | None = None, content_type: str = "") -> ReceiptRequest:
    return ReceiptRequest(method="POST" if body else "GET", body=body, content_type=content_type, query=query or {})


@pytest.mark.parametrize(
    ("parsed", "expected"),
    [
        (
            sandbox_inbound(request('{"from": "+254712345678", "to": "+254711000222", "text": "STOP", "id": "m1"}')),
            [CarrierInbound("+254712345678", "+254711000222", "STOP", "m1")],
        ),
        (
            kannel_inbound(
                request(
                    query={"from": "+254712345678", "to": "22384", "text": "JOIN now", "id": "u-1", "ts": "1779876900"}
                )
            ),
            [CarrierInbound("+254712345678", "22384", "JOIN now", "u-1", datetime.fromtimestamp(1779876900, UTC))],
        ),
        (
            jasmin_inbound(request("id=j1&from=254712345678&to=22384&coding=0&content=Hi", content_type=FORM)),
            [CarrierInbound("254712345678", "22384", "Hi", "j1")],
        ),
        (
            jasmin_inbound(
                request(
                    f"id=j2&from=1&to=22384&coding=8&binary={'Mambo ✓'.encode('utf-16-be').hex()}", content_type=FORM
                )
            ),
            [CarrierInbound("1", "22384", "Mambo ✓", "j2")],
        ),
        (
            generic_inbound(
                request('{"messages": [{"msisdn": "+254712345678", "shortcode": "22384", "body": "hi", "ref": 7}]}'),
                InboundMapping(items="messages", sender="msisdn", receiver="shortcode", text="body", id="ref"),
            ),
            [CarrierInbound("+254712345678", "22384", "hi", "7")],
        ),
    ],
)
def test_each_carriers_format(parsed: list[CarrierInbound], expected: list[CarrierInbound]) -> None:
    assert parsed == expected


@pytest.mark.parametrize(
    "body",
    [
        "",
        "not json",
        "{}",
        '{"from": "+254712345678", "to": "+254711000222"}',
        '{"from": 5, "to": "+254711000222", "text": "x"}',
        '{"from": "+254712345678", "to": "' + "9" * 40 + '", "text": "x"}',
        '{"from": "+254712345678", "to": "1", "text": "' + "x" * (MAX_INBOUND_TEXT + 1) + '"}',
        '{"from": "", "to": "1", "text": "x"}',
        "[1, 2, 3]",
    ],
)
def test_what_cannot_be_read_is_left_out(body: str) -> None:
    assert sandbox_inbound(request(body)) == []


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        ("+254712345678", "KE", "+254712345678"),
        ("254712345678", "KE", "+254712345678"),  # carriers often drop the "+"
        ("0712345678", "KE", "+254712345678"),
        ("22384", "ZZ", "22384"),  # a short code stays digits
        ("SHOP", "KE", "SHOP"),  # a sender name stays as it came
    ],
)
def test_addresses(raw: str, country: str, expected: str) -> None:
    assert address(raw, country) == expected


def message(keyword: Keyword | None, sender: str = "+254712345678") -> InboundMessage:
    return InboundMessage(
        org_id="org_0123456789abcdef",
        inbound_id="in_0195f00000000123456789ab",
        sender=sender,
        receiver="+254711000222",
        text="x",
        keyword=keyword,
        received_at=datetime(2026, 11, 23, 10, 16, tzinfo=UTC),
        in_reply_to=None,
        carrier="sandbox",
    )


@pytest.mark.parametrize(
    ("keyword", "sender", "types"),
    [
        (None, "+254712345678", ["sms.received"]),
        (Keyword.HELP, "+254712345678", ["sms.received"]),
        (Keyword.STOP, "+254712345678", ["sms.received", "sms.opted_out"]),
        (Keyword.START, "+254712345678", ["sms.received", "sms.opted_in"]),
        (Keyword.STOP, "SHOP", ["sms.received"]),  # a sender name cannot be on the list
    ],
)
def test_events_of_a_stored_reply(keyword: Keyword | None, sender: str, types: list[str]) -> None:
    events = inbound_events(message(keyword, sender))
    assert [event.type for event in events] == types
    assert len({event.event_id for event in events}) == len(events)
    assert events == inbound_events(message(keyword, sender))  # stable: a redelivered record is the same event
    assert set(events[0].body["data"]) == {"inbound_id", "from", "to", "text", "keyword", "received_at", "in_reply_to"}
