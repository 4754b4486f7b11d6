"""Money (DESIGN §10) against the stack built from template.yaml: prices and balances as the
operator sets them, the ledger, and what a merchant's send reserves."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
import pytest

from lisoloo.entities import RecipientKey
from lisoloo_admin.cli import run
from lisoloo_admin.provisioning import register_carrier
from lisoloo_admin.target import AdminError
from tests.conftest import lambda_context
from tests.integration.conftest import Harness, Merchant, load_function
from tests.integration.test_events import events_page
from tests.integration.test_webhooks import configure, drain_webhook_queue, fan_out, stream_records
from tests.webhook_receiver import WebhookReceiver, webhook_receiver


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with webhook_receiver() as running:
        yield running


def admin(harness: Harness, *arguments: str) -> Any:
    return run(["--table", harness.table_name, *arguments], environ={})


def ledger_holds(harness: Harness, org_id: str) -> None:
    """The invariant: what came in equals what is spendable, held and spent."""
    shown = admin(harness, "balance", "show", org_id)
    came_in = Decimal(shown["topped_up"]) + Decimal(shown["adjusted"])
    assert came_in == Decimal(shown["balance"]) + Decimal(shown["reserved"]) + Decimal(shown["charged"])
    assert Decimal(shown["balance"]) >= -Decimal(shown["credit_limit"])


def test_prices_are_set_listed_and_deleted_exactly(harness: Harness) -> None:
    # When the operator prices Kenya, one prefix, and one carrier's route
    admin(harness, "prices", "set", "ke", "0.80")
    admin(harness, "prices", "set", "+2547", "0.1")
    admin(harness, "prices", "set", "KE", "0.5", "--carrier", "kannel-b")
    # Then they are listed with their exact amounts, as strings
    listed = {(row["match"], row["carrier"]): row["per_segment"] for row in admin(harness, "prices", "list")}
    assert listed == {("KE", None): "0.80", ("+2547", None): "0.10", ("KE", "kannel-b"): "0.50"}
    # And a price that is not one is refused
    with pytest.raises(AdminError, match="not an amount"):
        admin(harness, "prices", "set", "KE", "0.8e1")
    with pytest.raises(AdminError, match="E\\.164"):
        admin(harness, "prices", "set", "Kenya", "0.8")
    # When one is deleted it is gone; deleting it again says so
    admin(harness, "prices", "delete", "KE", "--carrier", "kannel-b")
    assert len(admin(harness, "prices", "list")) == 2
    with pytest.raises(AdminError, match="no price"):
        admin(harness, "prices", "delete", "KE", "--carrier", "kannel-b")


def test_top_ups_and_adjustments_apply_once_per_reference(harness: Harness) -> None:
    merchant = harness.new_merchant()
    # When the operator tops up 0.1 and 0.2 (a float sum is 0.30000000000000004)
    admin(harness, "balance", "top-up", merchant.org_id, "0.1", "--reference", "INV-1")
    shown = admin(harness, "balance", "top-up", merchant.org_id, "0.2", "--reference", "INV-2")
    # Then the balance is exactly 0.30
    assert (shown["balance"], shown["currency"], shown["applied"]) == ("0.30", "KES", True)
    # When the same top-up is run again (a retried script), it changes nothing
    again = admin(harness, "balance", "top-up", merchant.org_id, "0.2", "--reference", "INV-2")
    assert (again["balance"], again["applied"]) == ("0.30", False)
    # When an adjustment would take the balance below -credit_limit it is refused
    with pytest.raises(AdminError, match="below"):
        admin(harness, "balance", "adjust", merchant.org_id, "-0.31", "--reference", "FIX-1")
    # But with a credit limit it goes through
    admin(harness, "balance", "credit-limit", merchant.org_id, "1.00")
    shown = admin(harness, "balance", "adjust", merchant.org_id, "-0.31", "--reference", "FIX-1")
    assert (shown["balance"], shown["available"]) == ("-0.01", "0.99")
    # And the limit cannot be lowered under what is already used
    with pytest.raises(AdminError, match="below the new limit"):
        admin(harness, "balance", "credit-limit", merchant.org_id, "0")
    # Then the ledger lists each change once, oldest first, and the invariant holds
    kinds = [(row["kind"], row["amount"]) for row in admin(harness, "balance", "ledger", merchant.org_id)]
    assert ("top_up", "0.10") in kinds and ("top_up", "0.20") in kinds and ("adjustment", "-0.31") in kinds
    assert len([kind for kind, _ in kinds if kind == "top_up"]) == 2
    ledger_holds(harness, merchant.org_id)


def test_an_unknown_organization_has_no_account(harness: Harness) -> None:
    with pytest.raises(AdminError, match="no organization"):
        admin(harness, "balance", "top-up", "org_nope", "5", "--reference", "INV-9")


def test_a_send_quotes_reserves_and_refuses_what_the_balance_cannot_cover(harness: Harness) -> None:
    # Given Kenya priced at 0.80 a segment and a merchant with 2.00
    admin(harness, "prices", "set", "KE", "0.80")
    merchant = harness.new_merchant()
    admin(harness, "balance", "top-up", merchant.org_id, "2.00", "--reference", "INV-1")
    # When it sends one segment to two numbers
    status, body = harness.send(merchant, {"to": ["+254712345678", "+254733345678"], "message": "Hi"})
    # Then the reply carries the estimate, and it is reserved
    assert status == 200, body
    assert body["data"]["cost"] == {"currency": "KES", "estimate": "1.60"}
    shown = admin(harness, "balance", "show", merchant.org_id)
    assert (shown["balance"], shown["reserved"]) == ("0.40", "1.60")
    ledger_holds(harness, merchant.org_id)
    # When a send costs more than is left
    assert len(harness.queued_jobs()) == 1  # the first send's (reading drains the queue)
    status, body = harness.send(merchant, {"to": ["+254712345678"], "message": "Hi"})
    # Then it is refused with 402, and nothing is reserved or queued
    assert (status, body) == (402, {"detail": "Insufficient balance"})
    assert admin(harness, "balance", "show", merchant.org_id)["reserved"] == "1.60"
    assert harness.queued_jobs() == []


def test_a_send_to_unpriced_destinations_needs_no_account(harness: Harness) -> None:
    # Given no prices at all (an operator who does not sell by the message)
    merchant = harness.new_merchant()
    # When a merchant with no account sends
    status, body = harness.send(merchant, {"to": ["+254712345678"], "message": "Hi"})
    # Then it goes, at no cost, and nothing is reserved
    assert status == 200, body
    assert body["data"]["cost"] == {"currency": "KES", "estimate": "0.00"}
    assert admin(harness, "balance", "ledger", merchant.org_id) == []


def test_a_dry_run_quotes_per_country_and_creates_nothing(harness: Harness) -> None:
    # Given prices for Kenya and everywhere else
    admin(harness, "prices", "set", "KE", "0.80")
    admin(harness, "prices", "set", "*", "1.5")
    merchant = harness.new_merchant()
    # When a two-segment text is quoted for two Kenyan numbers and one Tanzanian
    text = "x" * 200
    status, body = harness.send(
        merchant,
        {"to": ["+254712345678", "+254733345678", "+255712345678"], "message": text, "dry_run": True},
    )
    # Then the quote is per country, exact, and with an empty balance it is still only a quote
    assert status == 200, body
    assert body["data"] == {
        "dry_run": True,
        "total_recipients": 3,
        "encoding": "GSM-7",
        "segments": 2,
        "cost": {"currency": "KES", "estimate": "6.20"},
        "countries": [
            {"country": "KE", "recipients": 2, "segments": 4, "estimate": "3.20"},
            {"country": "TZ", "recipients": 1, "segments": 2, "estimate": "3.00"},
        ],
    }
    assert harness.queued_jobs() == []
    assert admin(harness, "balance", "ledger", merchant.org_id) == []


def test_each_organization_reads_only_its_own_balance(harness: Harness) -> None:
    # Given two merchants, one topped up
    rich, other = harness.new_merchant(), harness.new_merchant()
    admin(harness, "balance", "top-up", rich.org_id, "500.00", "--reference", "INV-7")
    # When each asks GET /balance
    status, body, _ = harness.api("balance", "balance-get", rich)
    other_status, other_body, _ = harness.api("balance", "balance-get", other)
    # Then each sees its own account, and one with none sees zeros
    assert (status, body["data"]) == (
        200,
        {"currency": "KES", "balance": "500.00", "reserved": "0.00", "credit_limit": "0.00", "available": "500.00"},
    )
    assert (other_status, other_body["data"]["balance"], other_body["data"]["available"]) == (200, "0.00", "0.00")


def test_a_final_message_is_charged_for_what_carriers_took_and_settled_once(harness: Harness) -> None:
    # Given Kenya at 0.80 and a merchant with 10.00
    admin(harness, "prices", "set", "KE", "0.80")
    merchant = harness.new_merchant()
    admin(harness, "balance", "top-up", merchant.org_id, "10", "--reference", "INV-1")
    # When it sends to one good number, one the carrier rejects at submit, and one that is no number
    numbers = ["+254712345678", "+254712340002", "+254000000000"]
    code, body = harness.send(merchant, {"to": numbers, "message": "Settle"})
    message_id = body["data"]["message_id"]
    assert code == 200, body
    assert body["data"]["cost"]["estimate"] == "2.40"
    assert harness.dispatch_queued() == {"batchItemFailures": []}
    # Then until the message is final nothing is charged
    assert harness.status(merchant, message_id)[1]["data"]["cost"] == {"currency": "KES", "charged": None}
    # When the carrier reports the taken one delivered and the stream carries the change
    harness.receipt(RecipientKey(merchant.org_id, message_id, 0).reference, "delivered")
    fan_out(harness, message_id)
    # Then only the recipient a carrier took is charged, and the rest of the reservation is back
    shown = admin(harness, "balance", "show", merchant.org_id)
    assert (shown["balance"], shown["reserved"], shown["charged"]) == ("9.20", "0.00", "0.80")
    assert harness.status(merchant, message_id)[1]["data"]["cost"] == {"currency": "KES", "charged": "0.80"}
    listed = harness.api("messages", "messages-list", merchant)[1]["data"]["messages"]
    assert [item["cost"] for item in listed] == [{"currency": "KES", "charged": "0.80"}]
    ledger_holds(harness, merchant.org_id)
    # When the stream delivers the same records again
    fan_out(harness, message_id)
    # Then nothing moves twice
    assert admin(harness, "balance", "show", merchant.org_id) == shown
    kinds = [row["kind"] for row in admin(harness, "balance", "ledger", merchant.org_id)]
    assert sorted(kinds) == ["charge", "release", "reserve", "top_up"]


def test_scheduled_occurrences_reserve_when_released_and_fail_1420_when_they_cannot(harness: Harness) -> None:
    # Given Kenya at 1.00, a merchant with 1.50, and two occurrences of a one-number send
    harness.wipe_table()  # the sweep below must see only this test's due items
    harness.carrier_token = register_carrier(harness.repository(), "sandbox")
    admin(harness, "prices", "set", "KE", "1.00")
    merchant = harness.new_merchant()
    admin(harness, "balance", "top-up", merchant.org_id, "1.50", "--reference", "INV-1")
    now = datetime.now(UTC).replace(microsecond=0)
    first, second = now + timedelta(hours=1), now + timedelta(hours=2)
    code, body = harness.send(
        merchant,
        {"to": ["+254712345678"], "message": "later", "scheduled_dates": [first.isoformat(), second.isoformat()]},
    )
    assert code == 200, body
    # Then the reply quotes each occurrence, and nothing is reserved yet
    assert body["data"]["cost"] == {"currency": "KES", "estimate": "1.00"}
    assert admin(harness, "balance", "show", merchant.org_id)["reserved"] == "0.00"
    first_id, second_id = (occurrence["message_id"] for occurrence in body["data"]["occurrences"])
    sweeper = harness.sweeper()
    # When the first comes due it reserves and goes
    assert sweeper.sweep(first + timedelta(seconds=30), lambda: 900.0).released == 1
    shown = admin(harness, "balance", "show", merchant.org_id)
    assert (shown["balance"], shown["reserved"]) == ("0.50", "1.00")
    assert harness.dispatch_queued() == {"batchItemFailures": []}
    # When the second comes due the balance cannot cover it
    sweeper.sweep(second + timedelta(seconds=30), lambda: 900.0)
    # Then it is failed with 1420, never queued, and nothing more is reserved
    data = harness.status(merchant, second_id)[1]["data"]
    assert (data["status"], data["failed"], data["error_code"]) == ("failed", 1, 1420)
    assert data["recipients"][0]["status"] == "failed"
    assert data["recipients"][0]["error_message"] == "INSUFFICIENT_BALANCE"
    assert [job for job in harness.queued_jobs() if second_id in job["Body"]] == []
    assert admin(harness, "balance", "show", merchant.org_id)["reserved"] == "1.00"
    ledger_holds(harness, merchant.org_id)
    # And its failure is an event like any other (the stream carries it to the webhooks)
    assert first_id != second_id
    fan_out(harness, second_id)
    _, page = events_page(harness, merchant)
    assert [event["type"] for event in page["data"]["events"] if second_id in json.dumps(event)][-1] == "sms.failed"


def test_a_daily_spend_cap_refuses_what_would_pass_it_today(harness: Harness) -> None:
    # Given Kenya at 0.80, plenty of balance, and a daily cap of 2.00
    admin(harness, "prices", "set", "KE", "0.80")
    merchant = harness.new_merchant()
    admin(harness, "balance", "top-up", merchant.org_id, "100", "--reference", "INV-1")
    assert admin(harness, "balance", "daily-cap", merchant.org_id, "2.00")["daily_cap"] == "2.00"
    # When it sends 1.60 today, then another 0.80
    first = harness.send(merchant, {"to": ["+254712345678", "+254733345678"], "message": "Hi"})
    second = harness.send(merchant, {"to": ["+254712345678"], "message": "Hi"})
    # Then the first goes and the second would pass the cap: 402, nothing reserved
    assert first[0] == 200, first
    assert second == (402, {"detail": "Daily spend limit reached"})
    assert admin(harness, "balance", "show", merchant.org_id)["reserved"] == "1.60"
    # When the operator lifts the cap, the same send goes
    admin(harness, "balance", "daily-cap", merchant.org_id, "none")
    assert harness.send(merchant, {"to": ["+254712345678"], "message": "Hi"})[0] == 200
    ledger_holds(harness, merchant.org_id)


def account_fan_out(harness: Harness, org_id: str) -> None:
    """The webhooks function over every stream record of the account item so far (earlier ones
    again: each call is also a redelivery of what the last one carried)."""
    records = [
        record
        for record in stream_records(harness, f"ORG#{org_id}#ACCOUNT")
        if record["dynamodb"]["Keys"]["SK"]["S"] == "META"
    ]
    response = load_function("webhooks").lambda_handler({"Records": records}, lambda_context())
    assert response == {"batchItemFailures": []}


def queued_webhooks(harness: Harness) -> list[dict[str, Any]]:
    """Takes the webhook delivery jobs off their queue."""
    sqs = boto3.client("sqs")
    url = harness.stack.physical_id("WebhookDeliveriesQueue")
    jobs: list[dict[str, Any]] = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages"):
        for message in messages:
            jobs.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return jobs


def low_events(harness: Harness, merchant: Merchant) -> list[dict[str, Any]]:
    code, body = events_page(harness, merchant, type="account.balance_low")
    assert code == 200, body
    return list(body["data"]["events"])


def test_balance_low_fires_once_per_crossing_of_the_threshold(harness: Harness, receiver: WebhookReceiver) -> None:
    drain_webhook_queue(harness)
    # Given Kenya at 1.00, a merchant with a webhook URL, 10.00 and a threshold of 5.00
    admin(harness, "prices", "set", "KE", "1.00")
    merchant = harness.new_merchant()
    configure(harness, merchant, receiver.url("/org"))
    admin(harness, "balance", "top-up", merchant.org_id, "10", "--reference", "INV-1")
    shown = admin(harness, "balance", "threshold", merchant.org_id, "5")
    assert shown["low_threshold"] == "5.00"
    numbers = ["+254712345678", "+254733345678", "+254722345678"]
    # When a send leaves 7.00 (above the threshold)
    assert harness.send(merchant, {"to": numbers, "message": "One"})[0] == 200
    account_fan_out(harness, merchant.org_id)
    # Then nothing is told
    assert low_events(harness, merchant) == []
    # When the next send crosses it (7.00 -> 4.00)
    assert harness.send(merchant, {"to": numbers, "message": "Two"})[0] == 200
    account_fan_out(harness, merchant.org_id)
    # Then one account.balance_low is logged and queued for the webhook URL, with exact amounts
    first = low_events(harness, merchant)
    assert [event["body"] for event in first] == [
        {
            "type": "account.balance_low",
            "timestamp": first[0]["body"]["timestamp"],
            "data": {"available": "4.00", "threshold": "5.00", "currency": "KES"},
        }
    ]
    assert first[0]["message_id"] is None
    jobs = [job for job in queued_webhooks(harness) if job["event_type"] == "account.balance_low"]
    assert [(job["event_id"], job["url"], job["message_id"]) for job in jobs] == [
        (first[0]["event_id"], receiver.url("/org"), None)
    ]
    # When more sends go out below it, and the stream redelivers every record so far
    assert harness.send(merchant, {"to": numbers[:1], "message": "Three"})[0] == 200
    account_fan_out(harness, merchant.org_id)
    account_fan_out(harness, merchant.org_id)
    # Then there is still that one event; a redelivered record queues it again under its own id only
    assert [event["event_id"] for event in low_events(harness, merchant)] == [first[0]["event_id"]]
    assert {job["event_id"] for job in queued_webhooks(harness) if job["event_type"] == "account.balance_low"} == {
        first[0]["event_id"]
    }
    # When a top-up takes it back above (3.00 -> 13.00), and a send of ten parts crosses again
    admin(harness, "balance", "top-up", merchant.org_id, "10", "--reference", "INV-2")
    account_fan_out(harness, merchant.org_id)
    assert len(low_events(harness, merchant)) == 1
    code, body = harness.send(merchant, {"to": numbers[:1], "message": "x" * 1400})
    assert code == 200, body
    account_fan_out(harness, merchant.org_id)
    # Then a second one is told, naming what is left
    both = low_events(harness, merchant)
    assert [event["body"]["data"]["available"] for event in both] == ["4.00", "3.00"]
    assert len({event["event_id"] for event in both}) == 2
    ledger_holds(harness, merchant.org_id)


def test_a_threshold_set_above_what_is_available_is_told_once_and_none_removes_it(
    harness: Harness, receiver: WebhookReceiver
) -> None:
    # Given a merchant with 3.00 and a webhook URL
    merchant = harness.new_merchant()
    configure(harness, merchant, receiver.url("/org"))
    admin(harness, "balance", "top-up", merchant.org_id, "3", "--reference", "INV-1")
    # When the operator sets a threshold of 100.00, then again (the same)
    admin(harness, "balance", "threshold", merchant.org_id, "100.00")
    admin(harness, "balance", "threshold", merchant.org_id, "100.00")
    account_fan_out(harness, merchant.org_id)
    # Then it is low from now on, told once
    assert [event["body"]["data"]["threshold"] for event in low_events(harness, merchant)] == ["100.00"]
    # When it is removed; Then the account shows none, and nothing more is told
    assert admin(harness, "balance", "threshold", merchant.org_id, "none")["low_threshold"] is None
    account_fan_out(harness, merchant.org_id)
    assert len(low_events(harness, merchant)) == 1
    # And a threshold that is not an amount is refused
    with pytest.raises(AdminError, match="not an amount"):
        admin(harness, "balance", "threshold", merchant.org_id, "lots")


def ledger_page(harness: Harness, merchant: Merchant, **query: str) -> tuple[int, Any]:
    path = "/api/v1/lisoloo/sms-api/balance/ledger"
    code, body, _ = harness.api("balance", "balance-get", merchant, path=path, query=query)
    return code, body


def test_the_merchant_pages_its_own_ledger_newest_first(harness: Harness) -> None:
    # Given a merchant with three top-ups and a settled message, and another merchant with one top-up
    admin(harness, "prices", "set", "KE", "0.80")
    merchant, other = harness.new_merchant(), harness.new_merchant()
    for reference in ("INV-1", "INV-2", "INV-3"):
        admin(harness, "balance", "top-up", merchant.org_id, "1.00", "--reference", reference)
    admin(harness, "balance", "top-up", other.org_id, "9.00", "--reference", "OTHER-1")
    _, body = harness.send(merchant, {"to": ["+254712345678"], "message": "Ledger"})
    message_id = body["data"]["message_id"]
    harness.dispatch_queued()
    harness.receipt(RecipientKey(merchant.org_id, message_id, 0).reference, "delivered")
    fan_out(harness, message_id)
    # When it reads GET /balance/ledger two entries a page until no cursor is left
    pages, cursor = [], None
    while True:
        code, body = ledger_page(harness, merchant, limit="2", **({"cursor": cursor} if cursor else {}))
        assert code == 200, body
        pages.append(body["data"]["entries"])
        cursor = body["data"]["cursor"]
        if cursor is None:
            break
    # Then it saw each of its six entries once, newest first, as the admin's ledger has them
    seen = [entry for page in pages for entry in page]
    assert [len(page) for page in pages] == [2, 2, 2]
    everything = admin(harness, "balance", "ledger", merchant.org_id)
    assert [entry["entry_id"] for entry in seen] == [row["entry_id"] for row in reversed(everything)]
    assert {entry["kind"] for entry in seen} == {"top_up", "reserve", "charge", "release"}
    assert [entry["created_at"] for entry in seen] == sorted((entry["created_at"] for entry in seen), reverse=True)
    top_up = next(entry for entry in seen if entry["entry_id"] == "top_up#INV-1")
    assert (top_up["amount"], top_up["reference"], body["data"]["currency"]) == ("1.00", "INV-1", "KES")
    # And the other merchant sees only its own entry
    assert [entry["entry_id"] for entry in ledger_page(harness, other)[1]["data"]["entries"]] == ["top_up#OTHER-1"]


@pytest.mark.parametrize("cursor", ["nope", "MjAyNi0xMi0wN1QwMDowMDowMC4wMDBa", "x" * 201])
def test_a_ledger_cursor_no_page_gave_out_is_a_422(harness: Harness, cursor: str) -> None:
    # Given a merchant; when it passes a cursor GET /balance/ledger never gave
    code, body = ledger_page(harness, harness.new_merchant(), cursor=cursor)
    # Then it is told so, with a detail, and no 5xx
    assert code == 422, body
    assert "detail" in body
