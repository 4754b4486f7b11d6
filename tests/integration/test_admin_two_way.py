"""lisoloo-admin's two-way commands (DESIGN §9): inbound numbers and an organization's own words."""

from __future__ import annotations

import pytest

from lisoloo_admin.target import AdminError
from tests.integration.conftest import Harness, Merchant
from tests.integration.test_admin import admin
from tests.integration.test_inbound import inbound_page, sandbox_mo


def test_numbers_are_assigned_listed_and_released(harness: Harness) -> None:
    # Given an organization
    org = admin(harness, "create-org", "Two-way Ltd")["org_id"]
    # When the operator assigns a dedicated number and a short code keyword
    assert admin(harness, "numbers", "assign", org, "+254 711 000 301")["assigned"]["number"] == "+254711000301"
    shared = admin(harness, "numbers", "assign", org, "--short-code", "22301", "--keyword", "join")["assigned"]
    assert (shared["number"], shared["org_id"], shared["keyword"]) == ("22301", org, "JOIN")
    # Then both are listed, and a reply to each reaches the organization
    assert [(row["number"], row["keyword"]) for row in admin(harness, "numbers", "list", org)] == [
        ("+254711000301", None),
        ("22301", "JOIN"),
    ]
    sandbox_mo(harness, {"from": "+254712345678", "to": "+254711000301", "text": "hi", "id": "adm-1"})
    sandbox_mo(harness, {"from": "+254712345678", "to": "22301", "text": "JOIN hi", "id": "adm-2"})
    merchant = Merchant(org_id=org, app_key="")
    assert len(inbound_page(harness, merchant)[1]["data"]["inbound"]) == 2
    # When the dedicated number is released, replies to it reach nobody
    admin(harness, "numbers", "release", org, "+254711000301")
    assert [row["number"] for row in admin(harness, "numbers", "list", org)] == ["22301"]
    _, body = sandbox_mo(harness, {"from": "+254712345678", "to": "+254711000301", "text": "hi", "id": "adm-3"})
    assert body["data"]["stored"] == 0


def test_a_number_has_one_owner_and_a_short_code_is_nobodys_dedicated_number(harness: Harness) -> None:
    first = admin(harness, "create-org", "First")["org_id"]
    second = admin(harness, "create-org", "Second")["org_id"]
    admin(harness, "numbers", "assign", first, "+254711000302")
    admin(harness, "numbers", "assign", first, "--short-code", "22302", "--keyword", "A")
    with pytest.raises(AdminError, match="assigned already"):
        admin(harness, "numbers", "assign", second, "+254711000302")
    with pytest.raises(AdminError, match="assigned already"):
        admin(harness, "numbers", "assign", second, "--short-code", "22302", "--keyword", "a")
    with pytest.raises(AdminError, match="assigned already"):
        admin(harness, "numbers", "assign", second, "22302")  # dedicated on a shared short code
    admin(harness, "numbers", "assign", first, "22304")  # a dedicated short code takes no keywords
    with pytest.raises(AdminError, match="assigned already"):
        admin(harness, "numbers", "assign", second, "--short-code", "22304", "--keyword", "B")
    with pytest.raises(AdminError, match="does not hold"):
        admin(harness, "numbers", "release", second, "+254711000302")
    assert admin(harness, "numbers", "assign", second, "--short-code", "22302", "--keyword", "B")


@pytest.mark.parametrize(
    "arguments",
    [
        ["+254711000303", "--keyword", "X"],
        ["--short-code", "22303"],
        ["--short-code", "2a303", "--keyword", "X"],
        ["not-a-number"],
        [],
    ],
)
def test_bad_assignments_are_refused(harness: Harness, arguments: list[str]) -> None:
    org = admin(harness, "create-org", "Refused")["org_id"]
    with pytest.raises(AdminError):
        admin(harness, "numbers", "assign", org, *arguments)


def test_own_keywords_and_replies_are_set(harness: Harness) -> None:
    org = admin(harness, "create-org", "Maneno Ltd")["org_id"]
    shown = admin(
        harness, "set-keywords", org, "--stop", "acha", "Sitaki", "--start", "anza", "--help-reply", "Call 0700"
    )
    assert (shown["stop_words"], shown["start_words"], shown["help_reply"]) == (
        ["ACHA", "SITAKI"],
        ["ANZA"],
        "Call 0700",
    )
    with pytest.raises(AdminError, match="only one thing"):
        admin(harness, "set-keywords", org, "--stop", "acha", "--start", "ACHA")
