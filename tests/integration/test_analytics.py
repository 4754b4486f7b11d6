"""Delivery analytics on moto: kept as counters while recipients move, equal to a recount of the rows."""

from __future__ import annotations

from collections import Counter
from typing import Any

from lisoloo.entities import RecipientKey
from lisoloo.phone import country_of
from tests.integration.conftest import Harness, Merchant


def analytics(harness: Harness, merchant: Merchant, **query: str) -> tuple[int, Any]:
    code, body, _ = harness.api(
        "analytics", "messages-list", merchant, path="/api/v1/lisoloo/sms-api/analytics/delivery", query=query
    )
    return code, body


def recount(harness: Harness, merchant: Merchant, message_ids: list[str], group_by: str) -> dict[str, Counter[str]]:
    """The same figures counted from the rows, through GET /status."""
    groups: dict[str, Counter[str]] = {}
    for message_id in message_ids:
        data = harness.status(merchant, message_id, {"recipients_limit": "1000"})[1]["data"]
        message = harness.repository().messages.get(merchant.org_id, message_id)
        assert message is not None
        for recipient in data["recipients"]:
            key = {
                "day": data["created_at"][:10],
                "country": country_of(recipient["to"]),
                "sender_id": message.sender_id or "-",
            }[group_by]
            counts = groups.setdefault(key, Counter())
            counts["submitted"] += recipient["error_code"] != 1400  # invalid numbers are never submitted
            counts["delivered"] += recipient["status"] == "delivered"
            counts["failed"] += recipient["status"] not in ("delivered", "sent", "processing", "pending")
    return groups


def test_analytics_equal_a_recount_of_the_rows_for_a_mixed_batch(harness: Harness) -> None:
    # Given a mixed batch: delivered, undelivered, rejected at submit, invalid, another country,
    # a second sender id, and one recipient still waiting for its receipt
    merchant = harness.new_merchant()
    sends = [
        ({"to": ["+254712345678", "+254712340001", "+254712340002", "+254000000000", "+255712345678"]}, [0, 1, 4]),
        ({"to": ["+254733000001", "+254733000002"], "sender_id": "SHOP"}, [0]),
    ]
    message_ids = []
    for fields, receipts in sends:
        code, body = harness.send(merchant, {"message": "count me", **fields})
        assert code == 200, body
        message_ids.append((body["data"]["message_id"], receipts))
    assert harness.dispatch_queued() == {"batchItemFailures": []}
    for message_id, receipts in message_ids:
        for index in receipts:
            outcome = "undelivered" if index == 1 else "delivered"
            harness.receipt(RecipientKey(merchant.org_id, message_id, index).reference, outcome)
    # When the merchant reads its analytics by each grouping
    for group_by in ("day", "country", "sender_id"):
        code, body = analytics(harness, merchant, group_by=group_by)
        assert code == 200, body
        kept = {
            group["key"]: Counter({name: group[name] for name in ("submitted", "delivered", "failed") if group[name]})
            for group in body["data"]["groups"]
        }
        # Then they equal a recount of the rows
        expected = {
            key: +counts for key, counts in recount(harness, merchant, [m for m, _ in message_ids], group_by).items()
        }
        assert kept == expected, group_by
    # And the rate and latency are there for the groups with receipts
    (kenya,) = [g for g in analytics(harness, merchant, group_by="country")[1]["data"]["groups"] if g["key"] == "KE"]
    # delivered 2 of 6 finals: one undelivered, two rejected at submit (…0002), one invalid
    assert kenya["delivery_rate"] == round(2 / 6, 4)
    assert kenya["receipt_latency_ms"]["p50"] is not None
    # And redelivered receipts count nothing twice
    harness.receipt(RecipientKey(merchant.org_id, message_ids[0][0], 0).reference, "delivered")
    again = analytics(harness, merchant, group_by="country")[1]["data"]["groups"]
    assert [g for g in again if g["key"] == "KE"] == [kenya]


def test_another_organizations_figures_are_not_seen(harness: Harness) -> None:
    owner, stranger = harness.new_merchant(), harness.new_merchant()
    harness.send(owner, {"to": ["+254712345678"], "message": "x"})
    harness.dispatch_queued()
    assert analytics(harness, owner)[1]["data"]["groups"][0]["submitted"] == 1
    assert analytics(harness, stranger)[1]["data"]["groups"] == []


def test_a_bad_grouping_or_range_is_422(harness: Harness) -> None:
    merchant = harness.new_merchant()
    for query in ({"group_by": "carrier"}, {"created_after": "yesterday"}, {"created_before": "2026-12-01T00:00:00"}):
        assert analytics(harness, merchant, **query)[0] == 422
