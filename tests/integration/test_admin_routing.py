"""lisoloo-admin carriers, routes and messages show (DESIGN §8) against the stack built from
template.yaml: what an operator types, and what the receipts endpoint and dispatch then see."""

from __future__ import annotations

from typing import Any

import pytest

from lisoloo import dependencies
from lisoloo_admin.cli import run
from lisoloo_admin.target import AdminError
from tests.integration.conftest import Harness
from tests.integration.test_carrier_receipts import receipts_call


def admin(harness: Harness, *arguments: str) -> Any:
    return run(["--table", harness.table_name, *arguments], environ={})


def test_a_carrier_added_by_the_operator_is_listed_disabled_and_enabled(harness: Harness) -> None:
    # When an operator adds a second Kannel link with a pace
    added = admin(
        harness,
        "carriers",
        "add",
        "kannel-b",
        "--type",
        "kannel",
        "--url",
        "http://k:13013/cgi-bin/sendsms",
        "--username",
        "lisoloo",
        "--smsc",
        "safaricom",
        "--tps",
        "50",
    )
    # Then it is stored with its settings, and its receipt token is shown once
    assert (added["name"], added["type"], added["smsc"], added["tps"], added["enabled"]) == (
        "kannel-b",
        "kannel",
        "safaricom",
        50,
        True,
    )
    assert added["receipt_token"].startswith("lct_")
    listed = {row["name"]: row for row in admin(harness, "carriers", "list")}
    assert "receipt_token" not in listed["kannel-b"]
    # Adding the same name again is refused, not a silent replacement
    with pytest.raises(AdminError, match="exists already"):
        admin(harness, "carriers", "add", "kannel-b", "--type", "jasmin")
    # When disabled: listed so, and the dispatcher's directory no longer offers it (receipts still work)
    admin(harness, "carriers", "disable", "kannel-b")
    assert {row["name"]: row["enabled"] for row in admin(harness, "carriers", "list")}["kannel-b"] is False
    dependencies.carrier_directory.cache_clear()
    assert dependencies.usable_carrier("kannel-b") is None
    assert dependencies.carrier_connector("kannel-b").name == "kannel-b"
    admin(harness, "carriers", "enable", "kannel-b")
    dependencies.carrier_directory.cache_clear()
    assert dependencies.usable_carrier("kannel-b") is not None
    with pytest.raises(AdminError, match="no carrier"):
        admin(harness, "carriers", "disable", "nope")


def test_receipts_work_per_carrier_name_for_a_carrier_added_as_data(harness: Harness) -> None:
    # Given a second sandbox added by the operator, with its own token
    added = admin(harness, "carriers", "add", "sandbox-x", "--type", "sandbox", "--url", "http://127.0.0.1:9")
    dependencies.carrier_directory.cache_clear()
    body = '{"carrier_ref": "org_0000000000000000.000000000000000000000000.0", "status": "delivered"}'
    # When it posts a receipt with its token, and with the other carrier's
    own = receipts_call("sandbox-x", method="POST", query={"token": added["receipt_token"]}, body=body)
    other = receipts_call("sandbox-x", method="POST", query={"token": harness.carrier_token}, body=body)
    unknown = receipts_call("sandbox-y", method="POST", query={"token": added["receipt_token"]}, body=body)
    # Then its own token is accepted, the other refused, an unknown name is 404
    assert (own["statusCode"], other["statusCode"], unknown["statusCode"]) == (200, 401, 404)


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [
        (["routes", "set", "2547", "sandbox"], "not an E.164 prefix"),
        (["routes", "set", "*", "sandbox:x"], "weight"),
        (["routes", "set", "*", "sandbox", "sandbox"], "twice"),
        (["routes", "set", "*", "sandbox:0"], "above 0"),
        (["routes", "set", "KE", "sandbox", "--org", "org_0000000000000000"], "no organization"),
        (["routes", "delete", "+999"], "no route"),
    ],
)
def test_routes_that_cannot_work_are_refused(harness: Harness, arguments: list[str], problem: str) -> None:
    with pytest.raises(AdminError, match=problem):
        admin(harness, *arguments)


def test_routes_are_set_listed_and_deleted(harness: Harness) -> None:
    merchant = harness.new_merchant()
    # When the operator sets a global route, a country route and an organization's route
    admin(harness, "routes", "set", "*", "sandbox:3", "sandbox-b:1")
    admin(harness, "routes", "set", "ke", "sandbox")
    admin(harness, "routes", "set", "+2547", "sandbox-b", "--org", merchant.org_id)
    # Then the listing shows them (countries upper-cased), the org's only with --org
    everything = {(row["match"], row["org_id"]): row["carriers"] for row in admin(harness, "routes", "list")}
    assert everything == {
        ("*", None): ["sandbox:3", "sandbox-b:1"],
        ("KE", None): ["sandbox:1"],
        ("+2547", merchant.org_id): ["sandbox-b:1"],
    }
    other = harness.new_merchant()
    assert len(admin(harness, "routes", "list", "--org", other.org_id)) == 2
    # When one is deleted, it is gone
    admin(harness, "routes", "delete", "KE")
    assert ("KE", None) not in {(row["match"], row["org_id"]) for row in admin(harness, "routes", "list")}


def test_messages_show_gives_each_recipients_carrier_and_attempts(harness: Harness) -> None:
    merchant = harness.new_merchant()
    _, body = harness.send(merchant, {"to": ["+254712345678", "+254712340006"], "message": "hi"})
    message_id = body["data"]["message_id"]
    harness.dispatch_queued()
    shown = admin(harness, "messages", "show", merchant.org_id, message_id)
    recipients = {row["to"]: row for row in shown["recipients"]}
    # Then the delivered one went through the sandbox on its first attempt; the failing one waits
    assert (recipients["+254712345678"]["carrier"], recipients["+254712345678"]["status"]) == ("sandbox", "sent")
    assert recipients["+254712345678"]["handed_off_at"] is not None
    assert (recipients["+254712340006"]["attempts"], recipients["+254712340006"]["next_attempt_at"] is not None) == (
        2,
        True,
    )
    # And the merchant's own status never names a carrier
    _, status = harness.status(merchant, message_id)
    assert "sandbox" not in str(status)
    with pytest.raises(AdminError, match="no message"):
        admin(harness, "messages", "show", harness.new_merchant().org_id, message_id)
