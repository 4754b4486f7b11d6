"""Money on the running local stack (DESIGN §10), over HTTP and lisoloo-admin as an operator
and merchants use them: concurrent sends cannot overdraw, and no organization reads or moves
another's balance.

Prices here cover one prefix no other test sends to, so the rest of the session (which sends
with no balance) is unaffected: a destination no price covers costs nothing.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest
import requests

from tests.e2e.conftest import LocalStack, admin
from tests.reliability.tenants import Tenant, new_tenant

pytestmark = pytest.mark.e2e

PRICED_PREFIX = "+2547999"


@pytest.fixture
def priced(local_stack: LocalStack) -> Iterator[None]:
    admin(local_stack, "prices", "set", PRICED_PREFIX, "1.50")
    yield
    admin(local_stack, "prices", "delete", PRICED_PREFIX)


def balance(local_stack: LocalStack, tenant: Tenant) -> requests.Response:
    return requests.get(f"{local_stack.base_url}/balance", headers={"app-key": tenant.app_key}, timeout=10)


def test_twenty_concurrent_sends_of_thirty_percent_each_never_overdraw(local_stack: LocalStack, priced: None) -> None:
    # Given a merchant with 10.00 and sends that each cost 3.00 (two numbers at 1.50): 30 %
    tenant = new_tenant(local_stack.moto_url, rate_limit=200, burst_limit=400)
    admin(local_stack, "balance", "top-up", tenant.org_id, "10.00", "--reference", "INV-E2E")
    # Numbers the sandbox delivers: their money is charged, not released, while the race runs.
    body = {"to": [f"{PRICED_PREFIX}01234", f"{PRICED_PREFIX}05678"], "message": "race"}

    def one_send(_: int) -> requests.Response:
        return requests.post(f"{local_stack.base_url}/send", json=body, headers={"app-key": tenant.app_key}, timeout=30)

    # When 20 go at once
    with ThreadPoolExecutor(max_workers=20) as pool:
        replies = list(pool.map(one_send, range(20)))
    # Then at most 3 are accepted, each quoted 3.00, and every other one is a 402
    accepted = [reply for reply in replies if reply.status_code == 200]
    assert 1 <= len(accepted) <= 3, [reply.text for reply in replies]
    assert {reply.json()["data"]["cost"]["estimate"] for reply in accepted} == {"3.00"}
    refused = [reply for reply in replies if reply.status_code != 200]
    assert {(reply.status_code, reply.text) for reply in refused} <= {(402, '{"detail":"Insufficient balance"}')}
    # And the ledger is exact: what came in is what is left, held and charged
    shown = admin(local_stack, "balance", "show", tenant.org_id)
    held = Decimal(shown["reserved"]) + Decimal(shown["charged"])
    assert Decimal(shown["balance"]) + held == Decimal(shown["topped_up"]) == Decimal("10.00")
    assert Decimal(shown["balance"]) >= 0
    reserves = [row for row in admin(local_stack, "balance", "ledger", tenant.org_id) if row["kind"] == "reserve"]
    assert len(reserves) == len(accepted) and {row["amount"] for row in reserves} == {"3.00"}
    # When the sandbox has delivered them all, the stream settles each: all charged, none held
    deadline = time.monotonic() + 30
    while balance(local_stack, tenant).json()["data"]["reserved"] != "0.00" and time.monotonic() < deadline:
        time.sleep(0.3)
    shown = admin(local_stack, "balance", "show", tenant.org_id)
    assert (shown["reserved"], Decimal(shown["charged"])) == ("0.00", Decimal("3.00") * len(accepted))


def test_no_organization_reads_or_moves_another_organizations_balance(local_stack: LocalStack, priced: None) -> None:
    # Given an owner with money and a stranger with none
    owner = new_tenant(local_stack.moto_url)
    stranger = new_tenant(local_stack.moto_url)
    admin(local_stack, "balance", "top-up", owner.org_id, "7.00", "--reference", "INV-OWNER")
    # When the stranger reads its balance, and sends to a priced number
    read = balance(local_stack, stranger)
    sent = requests.post(
        f"{local_stack.base_url}/send",
        json={"to": [f"{PRICED_PREFIX}07777"], "message": "on someone else's money?"},
        headers={"app-key": stranger.app_key},
        timeout=30,
    )
    # Then it sees only its own empty account, and its send cannot spend the owner's money
    assert read.status_code == 200 and read.json()["data"]["balance"] == "0.00"
    assert "7.00" not in read.text
    assert (sent.status_code, sent.json()) == (402, {"detail": "Insufficient balance"})
    assert balance(local_stack, owner).json()["data"]["available"] == "7.00"


def low_balance_events(local_stack: LocalStack, tenant: Tenant, count: int) -> list[dict[str, Any]]:
    """The tenant's account.balance_low events once there are ``count`` (the stream poller logs
    them a moment after the change), or what there is after a few seconds."""
    deadline = time.monotonic() + 10
    while True:
        events = requests.get(
            f"{local_stack.base_url}/events",
            params={"type": "account.balance_low"},
            headers={"app-key": tenant.app_key},
            timeout=10,
        ).json()["data"]["events"]
        if len(events) >= count or time.monotonic() > deadline:
            return list(events)
        time.sleep(0.2)


def test_balance_low_reaches_the_log_through_the_stacks_own_stream_filter(local_stack: LocalStack) -> None:
    # Given a merchant with 5.00
    tenant = new_tenant(local_stack.moto_url)
    admin(local_stack, "balance", "top-up", tenant.org_id, "5.00", "--reference", "INV-LOW-1")
    # When the operator sets a threshold of 10.00 (above what is available)
    admin(local_stack, "balance", "threshold", tenant.org_id, "10.00")
    # Then the stream (filtered as the template says) logs one account.balance_low
    first = low_balance_events(local_stack, tenant, 1)
    assert [event["body"]["data"] for event in first] == [
        {"available": "5.00", "threshold": "10.00", "currency": "KES"}
    ]
    # When a top-up takes it above, then an adjustment takes it below again
    admin(local_stack, "balance", "top-up", tenant.org_id, "20.00", "--reference", "INV-LOW-2")
    admin(local_stack, "balance", "adjust", tenant.org_id, "-18.00", "--reference", "ADJ-LOW-1")
    # Then exactly one more is logged, for the second crossing
    both = low_balance_events(local_stack, tenant, 2)
    assert [event["body"]["data"]["available"] for event in both] == ["5.00", "7.00"]
    time.sleep(1)
    assert len(low_balance_events(local_stack, tenant, 3)) == 2
