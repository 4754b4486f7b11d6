"""Inbound messages (DESIGN §9) through the real handlers: each connector's MO format, receivers,
duplicates, keywords and the suppression list, GET /inbound, in_reply_to and the webhooks."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from standardwebhooks import Webhook

from lisoloo.keywords import OrganizationWords
from lisoloo.two_way import ConsentSettings, InboundNumber
from tests.conftest import api_event, lambda_context
from tests.integration.conftest import Harness, Merchant, load_function
from tests.integration.test_webhooks import configure, deliver_queued, drain_webhook_queue, fan_out
from tests.webhook_receiver import WebhookReceiver, webhook_receiver

API = "/api/v1/lisoloo/sms-api"


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with webhook_receiver() as running:
        yield running


def carrier_token(harness: Harness, carrier: str) -> str:
    from lisoloo_admin.provisioning import register_carrier

    token: str = register_carrier(harness.repository(), carrier)
    return token


def assign(harness: Harness, merchant: Merchant, number: str, keyword: str | None = None) -> None:
    harness.repository().inbound_numbers.assign(
        InboundNumber(number=number, org_id=merchant.org_id, keyword=keyword), datetime.now(UTC)
    )


def a_number(seed: int) -> str:
    """A dedicated number of one test's own (the table is shared by the package's tests)."""
    return f"+25471100{seed:04d}"


def sandbox_mo(harness: Harness, body: Any, token: str | None = None) -> tuple[int, Any]:
    code, parsed, _ = harness.api(
        "inbound",
        "inbound-sandbox",
        None,
        body=body,
        headers={"x-carrier-token": token if token is not None else harness.carrier_token},
    )
    return code, parsed


def jasmin_mo(harness: Harness, form: dict[str, str]) -> tuple[int, str]:
    """Jasmin's answer is plain text, not our JSON envelope."""
    event = api_event(
        "inbound-jasmin-post",
        raw_body=urllib.parse.urlencode(form),
        query={"token": carrier_token(harness, "jasmin")},
    )
    response = load_function("inbound").lambda_handler(event, lambda_context())
    return response["statusCode"], response["body"]


def inbound_page(harness: Harness, merchant: Merchant, **query: str) -> tuple[int, Any]:
    code, parsed, _ = harness.api("inbound_messages", "inbound_messages-get", merchant, query=query or {"limit": "100"})
    return code, parsed


def suppressed(harness: Harness, merchant: Merchant) -> list[str]:
    records, _ = harness.repository().suppressions.page(merchant.org_id, 100, None)
    return [record.number for record in records]


def test_a_reply_is_stored_for_the_numbers_owner_and_listed_newest_first(harness: Harness) -> None:
    # Given a merchant with a dedicated number
    merchant, other = harness.new_merchant(), harness.new_merchant()
    number = a_number(1)
    assign(harness, merchant, number)
    # When two replies arrive through the sandbox
    for position, text in enumerate(["Is the sale on?", "Thanks"]):
        code, body = sandbox_mo(harness, {"from": "+254712345678", "to": number, "text": text, "id": f"t1-{position}"})
        assert (code, body["data"]) == (200, {"stored": 1, "duplicates": 0})
    # Then the merchant lists both, newest first, in the DESIGN §9 shape; nobody else sees them
    code, body = inbound_page(harness, merchant)
    assert code == 200
    listed = body["data"]["inbound"]
    assert [entry["text"] for entry in listed] == ["Thanks", "Is the sale on?"]
    assert set(listed[0]) == {"inbound_id", "from", "to", "text", "keyword", "received_at", "in_reply_to"}
    assert (listed[0]["from"], listed[0]["to"], listed[0]["keyword"]) == ("+254712345678", number, None)
    assert inbound_page(harness, other)[1]["data"]["inbound"] == []
    # And a page of one leads to the other
    first = inbound_page(harness, merchant, limit="1")[1]["data"]
    second = inbound_page(harness, merchant, limit="1", cursor=first["cursor"])[1]["data"]
    assert [first["inbound"][0]["text"], second["inbound"][0]["text"]] == ["Thanks", "Is the sale on?"]
    assert second["cursor"] is None


def test_a_carrier_delivering_one_message_twice_stores_it_once(harness: Harness) -> None:
    merchant = harness.new_merchant()
    assign(harness, merchant, a_number(2))
    message = {"from": "+254712345678", "to": a_number(2), "text": "STOP", "id": "dup-1"}
    assert sandbox_mo(harness, message)[1]["data"] == {"stored": 1, "duplicates": 0}
    assert sandbox_mo(harness, message)[1]["data"] == {"stored": 0, "duplicates": 1}
    assert len(inbound_page(harness, merchant)[1]["data"]["inbound"]) == 1


def test_an_unknown_receiver_is_answered_200_and_nothing_is_stored(harness: Harness) -> None:
    code, body = sandbox_mo(harness, {"from": "+254712345678", "to": "+254719999999", "text": "hi", "id": "u1"})
    assert (code, body["data"]) == (200, {"stored": 0, "duplicates": 0})


def test_carriers_authenticate_as_for_receipts(harness: Harness) -> None:
    message = {"from": "+254712345678", "to": a_number(3), "text": "hi"}
    assert sandbox_mo(harness, message, token="lct_wrong")[0] == 401
    code, body, _ = harness.api(
        "inbound",
        "inbound-sandbox",
        None,
        body=message,
        path=f"{API}/inbound/nobody",
        path_parameters={"carrier": "nobody"},
    )
    assert (code, body) == (404, {"detail": "Carrier not found"})


def test_stop_suppresses_the_sender_and_start_lifts_it(harness: Harness) -> None:
    # Given a merchant with a number
    merchant = harness.new_merchant()
    assign(harness, merchant, a_number(4))
    # When the handset replies " stop! "
    sandbox_mo(harness, {"from": "0712345678", "to": a_number(4), "text": " stop! ", "id": "s1"})
    # Then the message is marked STOP and the sender (read in the merchant's country) is suppressed
    listed = inbound_page(harness, merchant)[1]["data"]["inbound"]
    assert (listed[0]["keyword"], listed[0]["from"]) == ("STOP", "+254712345678")
    assert suppressed(harness, merchant) == ["+254712345678"]
    # When it replies UNSTOP
    sandbox_mo(harness, {"from": "+254712345678", "to": a_number(4), "text": "UNSTOP", "id": "s2"})
    # Then the suppression is lifted
    assert suppressed(harness, merchant) == []
    assert inbound_page(harness, merchant)[1]["data"]["inbound"][0]["keyword"] == "START"


def test_kannel_get_url_format(harness: Harness) -> None:
    # Given Kannel's sms-service get-url: from=%p&to=%P&text=%a&id=%I&ts=%T
    merchant = harness.new_merchant()
    assign(harness, merchant, a_number(5))
    query = {
        "token": carrier_token(harness, "kannel"),
        "from": "+254712345678",
        "to": a_number(5),
        "text": "Quit",
        "id": "6f1c2a9e-1b7d-4c55-9a43-0d2f8e5b7c11",
        "ts": "1779876900",
    }
    # When Kannel calls it (twice, as smsbox does when it retries)
    for _ in range(2):
        code, _body, _ = harness.api("inbound", "inbound-kannel-get", None, query=query)
        assert code == 200
    # Then one message, an opt-out
    listed = inbound_page(harness, merchant)[1]["data"]["inbound"]
    assert [(entry["text"], entry["keyword"]) for entry in listed] == [("Quit", "STOP")]
    assert suppressed(harness, merchant) == ["+254712345678"]


def test_jasmin_http_mo_format_with_the_organizations_own_word(harness: Harness) -> None:
    # Given a merchant whose own opt-out word is ACHA, and Jasmin's numbers without "+"
    merchant = harness.new_merchant()
    assign(harness, merchant, a_number(6))
    harness.repository().organizations.set_consent(
        merchant.org_id, ConsentSettings(words=OrganizationWords.of(stop=["acha"])), datetime.now(UTC)
    )
    form = {
        "id": "5f1a3c2e-8b7d-4c11-9f43-2a6d8e1b7c90",
        "from": "254712345678",
        "to": a_number(6).lstrip("+"),
        "origin-connector": "smppc_ke",
        "coding": "0",
        "content": "Acha",
    }
    # When Jasmin POSTs it
    code, raw = jasmin_mo(harness, form)
    # Then it is acknowledged as Jasmin needs, stored as an opt-out
    assert (code, raw) == (200, "ACK/Jasmin")
    listed = inbound_page(harness, merchant)[1]["data"]["inbound"]
    assert [(entry["from"], entry["to"], entry["keyword"]) for entry in listed] == [
        ("+254712345678", a_number(6), "STOP")
    ]


def test_jasmin_ucs2_text_is_read_from_binary(harness: Harness) -> None:
    merchant = harness.new_merchant()
    assign(harness, merchant, a_number(7))
    text = "Asante 🙏"
    form = {
        "id": "u-1",
        "from": "254712345678",
        "to": a_number(7),
        "coding": "8",
        "content": "?",
        "binary": text.encode("utf-16-be").hex(),
    }
    assert jasmin_mo(harness, form) == (200, "ACK/Jasmin")
    assert inbound_page(harness, merchant)[1]["data"]["inbound"][0]["text"] == text


def test_generic_carrier_json_with_the_default_mapping(harness: Harness) -> None:
    merchant = harness.new_merchant()
    assign(harness, merchant, a_number(8))
    code, body, _ = harness.api(
        "inbound",
        "inbound-sandbox",
        None,
        body={"id": "g-1", "from": "+254712345678", "to": a_number(8), "text": "HELP"},
        path=f"{API}/inbound/http",
        path_parameters={"carrier": "http"},
        headers={"x-carrier-token": carrier_token(harness, "http")},
    )
    assert (code, body["data"]["stored"]) == (200, 1)
    assert inbound_page(harness, merchant)[1]["data"]["inbound"][0]["keyword"] == "HELP"


def test_a_shared_short_code_routes_by_its_first_word(harness: Harness) -> None:
    # Given two merchants on one short code, by keyword
    join, shop = harness.new_merchant(), harness.new_merchant()
    code = "22385"
    assign(harness, join, code, "JOIN")
    assign(harness, shop, code, "SHOP")
    # When replies name them (and one names nobody)
    sandbox_mo(harness, {"from": "+254712345678", "to": code, "text": "join stop", "id": f"sc-{code}-1"})
    sandbox_mo(harness, {"from": "+254712345678", "to": code, "text": "SHOP hello", "id": f"sc-{code}-2"})
    _, body = sandbox_mo(harness, {"from": "+254712345678", "to": code, "text": "OTHER hi", "id": f"sc-{code}-3"})
    # Then each is its owner's, the word after the keyword is read as the reply
    assert body["data"]["stored"] == 0
    assert [(e["text"], e["keyword"]) for e in inbound_page(harness, join)[1]["data"]["inbound"]] == [
        ("join stop", "STOP")
    ]
    assert [(e["text"], e["keyword"]) for e in inbound_page(harness, shop)[1]["data"]["inbound"]] == [
        ("SHOP hello", None)
    ]
    assert suppressed(harness, join) == ["+254712345678"] and suppressed(harness, shop) == []


def test_a_reply_names_the_latest_message_sent_to_its_sender(harness: Harness) -> None:
    # Given a merchant that sent a message to a number
    merchant = harness.new_merchant()
    assign(harness, merchant, a_number(9))
    _, sent = harness.send(merchant, {"to": ["+254712345678"], "message": "Sale today"})
    harness.dispatch_queued()
    # When the number replies (and another number, never sent to, does too)
    sandbox_mo(harness, {"from": "+254712345678", "to": a_number(9), "text": "When?", "id": "r1"})
    sandbox_mo(harness, {"from": "+254733333333", "to": a_number(9), "text": "Who?", "id": "r2"})
    # Then the first reply is threaded to that message, the second to none
    listed = {entry["text"]: entry for entry in inbound_page(harness, merchant)[1]["data"]["inbound"]}
    assert listed["When?"]["in_reply_to"] == sent["data"]["message_id"]
    assert listed["Who?"]["in_reply_to"] is None


def test_unreadable_requests_are_200_and_store_nothing(harness: Harness) -> None:
    for body in [{"text": "no numbers"}, [], {"from": "+254712345678", "to": "x" * 40, "text": "hi"}]:
        code, parsed = sandbox_mo(harness, body)
        assert (code, parsed["data"]) == (200, {"stored": 0, "duplicates": 0})


def test_received_and_opted_out_webhooks_are_signed_and_delivered(harness: Harness, receiver: WebhookReceiver) -> None:
    drain_webhook_queue(harness)
    # Given a merchant with a webhook and a number
    merchant = harness.new_merchant()
    assign(harness, merchant, a_number(10))
    _, configured = configure(harness, merchant, receiver.url("/two-way"))
    # When a STOP arrives and the table's stream is fanned out
    sandbox_mo(harness, {"from": "+254712345678", "to": a_number(10), "text": "STOP", "id": "w1"})
    inbound_id = inbound_page(harness, merchant)[1]["data"]["inbound"][0]["inbound_id"]
    fan_out(harness, inbound_id)
    assert deliver_queued(harness) == []
    # Then sms.received and sms.opted_out arrived, signed, carrying the message
    events = receiver.events("/two-way")
    assert [webhook.event["type"] for webhook in events] == ["sms.received", "sms.opted_out"]
    for webhook in events:
        Webhook(configured["data"]["secret"]).verify(webhook.body, webhook.headers)
        assert webhook.event["data"]["inbound_id"] == inbound_id
        assert webhook.event["data"]["from"] == "+254712345678"
    assert json.loads(events[0].body)["data"]["keyword"] == "STOP"


def test_stop_and_help_replies_go_out_as_ordinary_messages_even_to_the_opted_out(harness: Harness) -> None:
    # Given a merchant with a confirmation for STOP and a help text
    merchant = harness.new_merchant()
    assign(harness, merchant, a_number(11))
    harness.repository().organizations.set_consent(
        merchant.org_id,
        ConsentSettings(stop_reply="You will get no more messages. Reply START to undo.", help_reply="Call 0700"),
        datetime.now(UTC),
    )
    # When the number replies STOP, then HELP, and dispatch runs
    sandbox_mo(harness, {"from": "+254712345678", "to": a_number(11), "text": "STOP", "id": "rp-1"})
    sandbox_mo(harness, {"from": "+254712345678", "to": a_number(11), "text": "help", "id": "rp-2"})
    sandbox_mo(harness, {"from": "+254712345678", "to": a_number(11), "text": "help", "id": "rp-2"})  # again
    assert harness.dispatch_queued() == {"batchItemFailures": []}
    # Then both replies were submitted once each, from the number it wrote to, though it opted out
    replies = [(s.to, s.text, s.sender_id) for s in harness.carrier.submissions]
    assert replies == [
        ("+254712345678", "You will get no more messages. Reply START to undo.", a_number(11)),
        ("+254712345678", "Call 0700", a_number(11)),
    ]
    # And a merchant's own send to it still fails 1406
    _, body = harness.send(merchant, {"to": ["+254712345678"], "message": "Sale"})
    harness.dispatch_queued()
    assert harness.status(merchant, body["data"]["message_id"])[1]["data"]["error_code"] == 1406


def test_merchants_cannot_use_lisoloos_own_references(harness: Harness) -> None:
    merchant = harness.new_merchant()
    code, body = harness.send(merchant, {"to": ["+254712345678"], "message": "x", "reference": "lisoloo:stop-reply"})
    assert code == 422, body
