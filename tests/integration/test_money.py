"""Money (DESIGN §10) against the stack built from template.yaml: prices and balances as the
operator sets them, the ledger, and what a merchant's send reserves."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from lisoloo_admin.cli import run
from lisoloo_admin.target import AdminError
from tests.integration.conftest import Harness


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
