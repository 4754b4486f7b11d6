"""Deliver-by for one-time codes on moto (DESIGN §8): at its time a recipient with no
``delivered`` goes once more through the next carrier of its route; receipts from either
carrier, in any order, move the row once (exact counters, one status change the merchant
sees); no fallback when delivered in time, without a next carrier, or a second time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import permutations
from typing import Any

import pytest

from lisoloo.carriers.sandbox import SandboxCarrier
from lisoloo.entities import RecipientKey
from lisoloo.sweeping import Sweeper
from tests.integration.conftest import Harness, Merchant, load_function
from tests.integration.test_admin_routing import admin
from tests.integration.test_routing import ScriptedCarrier, set_route, sweeper
from tests.integration.test_webhooks import stream_records

pytestmark = pytest.mark.usefixtures("harness")

WITHIN = 60


@pytest.fixture
def fleet(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, ScriptedCarrier]]:
    from lisoloo_admin.provisioning import register_carrier

    carriers = {"alpha": ScriptedCarrier("alpha"), "beta": ScriptedCarrier("beta")}
    monkeypatch.setattr(load_function("dispatch"), "carrier_connector", carriers.get)
    # Both carriers' receipts in the sandbox's JSON shape, each at its own endpoint and token.
    monkeypatch.setattr(
        load_function("receipts"),
        "carrier_connector",
        lambda name: SandboxCarrier("http://127.0.0.1:9", 1.0, name=name),
    )
    tokens = {name: register_carrier(harness.repository(), name) for name in carriers}
    monkeypatch.setattr(harness, "carrier_tokens", tokens, raising=False)
    yield carriers


def send_code(harness: Harness, merchant: Merchant, number: str, within: int | None = WITHIN) -> str:
    body: dict[str, Any] = {"to": [number], "message": "Your code is 4821"}
    if within is not None:
        body["deliver_within"] = within
    code, parsed = harness.send(merchant, body)
    assert code == 200, parsed
    message_id: str = parsed["data"]["message_id"]
    assert harness.dispatch_queued() == {"batchItemFailures": []}
    return message_id


def receipt(harness: Harness, carrier: str, reference: str, status: str) -> None:
    code, parsed, _ = harness.api(
        "receipts",
        "receipts-sandbox",
        None,
        body={"carrier_ref": reference, "status": status, "error_code": None, "done_at": None},
        path=f"/api/v1/lisoloo/sms-api/receipts/{carrier}",
        path_parameters={"carrier": carrier},
        headers={"x-carrier-token": harness.carrier_tokens[carrier]},  # type: ignore[attr-defined]
    )
    assert code == 200, parsed


def after_deliver_by(harness: Harness, fleet: dict[str, ScriptedCarrier]) -> Sweeper:
    return sweeper(harness, fleet)


def at(seconds: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


def counters(harness: Harness, merchant: Merchant, message_id: str) -> tuple[int, int]:
    message = harness.repository().messages.get(merchant.org_id, message_id)
    return message.delivered, message.failed


def status_changes(harness: Harness, message_id: str) -> list[str]:
    """The recipient row's status each time it changed: what the merchant's events follow."""
    changes = []
    for record in stream_records(harness, message_id):
        new, old = record["dynamodb"].get("NewImage", {}), record["dynamodb"].get("OldImage", {})
        status = new.get("status", {}).get("S")
        # Only recipient rows carry a carrier; a change of status is what fires an event.
        if status and status != old.get("status", {}).get("S") and "carrier" in new:
            changes.append(status)
    return changes


def test_no_delivered_in_time_goes_once_more_through_the_next_carrier(
    harness: Harness, fleet: dict[str, ScriptedCarrier]
) -> None:
    # Given a code sent through alpha on a route alpha then beta, with no receipt yet
    set_route(harness, "*", "alpha:1", "beta:0")
    merchant = harness.new_merchant()
    message_id = send_code(harness, merchant, "+254712340101")
    reference = RecipientKey(merchant.org_id, message_id, 0).reference
    assert fleet["alpha"].taken == [reference] and fleet["beta"].asked == []
    sweep = after_deliver_by(harness, fleet)
    # When the sweep runs before the deliver-by time, nothing goes
    assert sweep.sweep(at(WITHIN - 5), lambda: 900.0).fell_back == 0
    assert fleet["beta"].asked == []
    # When it runs after it (twice: a redelivered or overlapping sweep)
    assert sweep.sweep(at(WITHIN + 5), lambda: 900.0).fell_back == 1
    assert sweep.sweep(at(WITHIN + 65), lambda: 900.0).fell_back == 0
    # Then beta got it once, and the row keeps one row with both carriers
    assert fleet["beta"].asked == [reference]
    row = harness.repository().recipients.legs_row(RecipientKey(merchant.org_id, message_id, 0))
    assert (row["status"], row["carrier"], row["fallback_carrier"], row["fallback_ref"]) == (
        "sent",
        "alpha",
        "beta",
        reference,
    )
    assert "due_at" not in row  # out of the due index: never handled again
    # And the operator's view of the message names both carriers
    [shown] = admin(harness, "messages", "show", merchant.org_id, message_id)["recipients"]
    assert (shown["carrier"], shown["fallback_carrier"], shown["fallback_at"] is not None) == ("alpha", "beta", True)


FINALS = [("alpha", "delivered"), ("alpha", "undelivered"), ("beta", "delivered"), ("beta", "undelivered")]


@pytest.mark.parametrize(
    "first_receipt, second_receipt",
    [
        (first, second)
        for first, second in permutations(FINALS, 2)
        if first[0] != second[0]  # one receipt from each carrier, in either order
    ],
)
def test_receipts_from_both_carriers_in_any_order_move_the_row_once(
    harness: Harness,
    fleet: dict[str, ScriptedCarrier],
    first_receipt: tuple[str, str],
    second_receipt: tuple[str, str],
) -> None:
    # Given a code that went through alpha, then at its deliver-by time through beta
    set_route(harness, "*", "alpha:1", "beta:0")
    merchant = harness.new_merchant()
    message_id = send_code(harness, merchant, "+254712340102")
    reference = RecipientKey(merchant.org_id, message_id, 0).reference
    assert after_deliver_by(harness, fleet).sweep(at(WITHIN + 5), lambda: 900.0).fell_back == 1
    # When each carrier reports, in this order (the first one twice: carriers re-send)
    receipt(harness, *first_receipt[:1], reference, first_receipt[1])
    receipt(harness, *first_receipt[:1], reference, first_receipt[1])
    receipt(harness, *second_receipt[:1], reference, second_receipt[1])
    # Then delivered wins if either said it, else the recipient failed: counted once
    delivered = "delivered" in (first_receipt[1], second_receipt[1])
    assert counters(harness, merchant, message_id) == ((1, 0) if delivered else (0, 1))
    row = harness.repository().recipients.get(RecipientKey(merchant.org_id, message_id, 0))
    assert row.status.value == ("delivered" if delivered else "undelivered")
    # and the merchant saw one final status change, after the one hand-off
    changes = status_changes(harness, message_id)
    assert changes[0] == "processing" and changes[-1] == row.status.value
    assert [change for change in changes if change in ("delivered", "undelivered", "failed")] == [row.status.value]


def test_a_failure_before_the_fallback_is_only_noted_until_the_fallback_answers(
    harness: Harness, fleet: dict[str, ScriptedCarrier]
) -> None:
    # Given a code through alpha whose receipt says undelivered before the deliver-by time
    set_route(harness, "*", "alpha:1", "beta:0")
    merchant = harness.new_merchant()
    message_id = send_code(harness, merchant, "+254712340103")
    key = RecipientKey(merchant.org_id, message_id, 0)
    receipt(harness, "alpha", key.reference, "undelivered")
    # Then it is noted, not final: no counter, no event
    assert counters(harness, merchant, message_id) == (0, 0)
    assert harness.repository().recipients.get(key).status.value == "sent"
    # When the deliver-by time comes, beta gets it, and beta delivers
    assert after_deliver_by(harness, fleet).sweep(at(WITHIN + 5), lambda: 900.0).fell_back == 1
    receipt(harness, "beta", key.reference, "delivered")
    # Then it is delivered, counted once
    assert counters(harness, merchant, message_id) == (1, 0)
    assert harness.repository().recipients.get(key).status.value == "delivered"


def test_no_fallback_when_delivered_in_time(harness: Harness, fleet: dict[str, ScriptedCarrier]) -> None:
    set_route(harness, "*", "alpha:1", "beta:0")
    merchant = harness.new_merchant()
    message_id = send_code(harness, merchant, "+254712340104")
    key = RecipientKey(merchant.org_id, message_id, 0)
    # Given alpha delivered before the deliver-by time
    receipt(harness, "alpha", key.reference, "delivered")
    # When the sweep runs after it
    assert after_deliver_by(harness, fleet).sweep(at(WITHIN + 5), lambda: 900.0).fell_back == 0
    # Then beta was never asked
    assert fleet["beta"].asked == []
    assert counters(harness, merchant, message_id) == (1, 0)


def test_no_fallback_without_a_next_carrier(harness: Harness, fleet: dict[str, ScriptedCarrier]) -> None:
    # Given a route of alpha alone
    set_route(harness, "*", "alpha:1")
    merchant = harness.new_merchant()
    message_id = send_code(harness, merchant, "+254712340105")
    key = RecipientKey(merchant.org_id, message_id, 0)
    # When the sweep runs after the deliver-by time
    assert after_deliver_by(harness, fleet).sweep(at(WITHIN + 5), lambda: 900.0).fell_back == 0
    # Then nothing else was asked, and alpha's failure ends the recipient at once
    assert fleet["beta"].asked == [] and len(fleet["alpha"].asked) == 1
    receipt(harness, "alpha", key.reference, "undelivered")
    assert counters(harness, merchant, message_id) == (0, 1)


def test_a_refused_fallback_leaves_the_first_carrier_to_decide(
    harness: Harness, fleet: dict[str, ScriptedCarrier]
) -> None:
    from lisoloo.carriers import SubmitOutcome

    set_route(harness, "*", "alpha:1", "beta:0")
    merchant = harness.new_merchant()
    message_id = send_code(harness, merchant, "+254712340106")
    key = RecipientKey(merchant.org_id, message_id, 0)
    # Given beta refuses (definitely not taken) at the deliver-by time
    fleet["beta"].answer = SubmitOutcome.TRANSIENT
    assert after_deliver_by(harness, fleet).sweep(at(WITHIN + 5), lambda: 900.0).fell_back == 0
    assert fleet["beta"].asked == [key.reference]
    # When alpha then reports a failure
    receipt(harness, "alpha", key.reference, "undelivered")
    # Then the recipient fails now, not at the 24-hour deadline
    assert counters(harness, merchant, message_id) == (0, 1)


def test_without_deliver_within_nothing_is_armed(harness: Harness, fleet: dict[str, ScriptedCarrier]) -> None:
    set_route(harness, "*", "alpha:1", "beta:0")
    merchant = harness.new_merchant()
    message_id = send_code(harness, merchant, "+254712340107", within=None)
    row = harness.repository().recipients.legs_row(RecipientKey(merchant.org_id, message_id, 0))
    assert row["status"] == "sent" and "due_at" not in row
    assert after_deliver_by(harness, fleet).sweep(at(WITHIN + 5), lambda: 900.0).fell_back == 0
    assert fleet["beta"].asked == []


@pytest.mark.parametrize("within", [29, 3601, "60", 1.5])
def test_deliver_within_out_of_range_is_a_400(harness: Harness, within: Any) -> None:
    merchant = harness.new_merchant()
    code, _ = harness.send(merchant, {"to": ["+254712340108"], "message": "x", "deliver_within": within})
    assert code in (400, 422)


def test_deliver_within_on_a_text_of_several_parts_is_a_422_naming_it(harness: Harness) -> None:
    merchant = harness.new_merchant()
    # A text of one part is taken; one of two parts (161 GSM-7 characters) is not, nor is a
    # personal text that only some recipient's values make two parts long
    one_part = {"to": ["+254712340110"], "message": "x" * 160, "deliver_within": 60}
    assert harness.send(merchant, one_part)[0] == 200
    for body in (
        {"to": ["+254712340110"], "message": "x" * 161, "deliver_within": 60},
        {
            "to": [
                {"to": "+254712340110", "vars": {"code": "1"}},
                {"to": "+254712340111", "vars": {"code": "1" * 100}},
            ],
            "message": "x" * 100 + "{{code}}",
            "deliver_within": 60,
        },
    ):
        code, reply = harness.send(merchant, body)
        assert code == 422, reply
        assert reply["detail"][0]["loc"] == ["body", "deliver_within"]


def test_arming_deliver_by_costs_dispatch_no_request(harness: Harness, fleet: dict[str, ScriptedCarrier]) -> None:
    from collections import Counter

    from lisoloo import dependencies

    set_route(harness, "*", "alpha:1", "beta:0")
    merchant = harness.new_merchant()
    calls: Counter[str] = Counter()

    def count(model: Any, **_: Any) -> None:
        calls[model.name] += 1

    client = dependencies.repository().table.client
    client.meta.events.register("before-call.dynamodb.*", count)
    measured: dict[str, dict[str, int]] = {}
    try:
        # Given the same one-number send, without deliver-by (first only to warm the caches), then with it
        for run, within in (("warm", None), ("without", None), ("with", WITHIN)):
            body: dict[str, Any] = {"to": ["+254712340109"], "message": "Code 1"}
            if within is not None:
                body["deliver_within"] = within
            code, parsed = harness.send(merchant, body)
            assert code == 200, parsed
            calls.clear()
            # When dispatch hands it off
            assert harness.dispatch_queued() == {"batchItemFailures": []}
            measured[run] = dict(calls)
    finally:
        client.meta.events.unregister("before-call.dynamodb.*", count)
    # Then arming the deliver-by item (in the hand-off's own write) adds no request of any kind
    assert measured["with"] == measured["without"]
    assert measured["without"].get("UpdateItem", 0) >= 1
