"""Settling a final message's money when its table-stream record fails for good (DESIGN §10):
the sweep finds the message still holding its reservation and settles it, with the same ledger
ids, so a late stream retry and the repair never both charge.

Time moves by handing the sweep a later ``now``; the stream's retries are calls of the webhooks
function with the same records (a dead-lettered record is one never called again)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from lisoloo.entities import RecipientKey
from lisoloo.settings import get_settings
from lisoloo.storage.accounts import Accounts
from lisoloo.storage.keys import DUE_SHARDS
from lisoloo.sweeping import Sweeper
from tests.conftest import lambda_context
from tests.integration.conftest import Harness, Merchant, load_function, purge_receipts_queue
from tests.integration.test_money import admin, ledger_holds
from tests.integration.test_webhooks import fan_out, stream_records


def check_after() -> timedelta:
    return timedelta(seconds=get_settings().time.settle_check_seconds)


@pytest.fixture
def merchant(harness: Harness) -> Iterator[Merchant]:
    """Kenya at 0.80 and a merchant with 10.00, in a table of this test's items only (the sweep
    moves time forward)."""
    from lisoloo_admin.provisioning import register_carrier

    harness.wipe_table()
    purge_receipts_queue()
    harness.carrier_token = register_carrier(harness.repository(), "sandbox")
    admin(harness, "prices", "set", "KE", "0.80")
    merchant = harness.new_merchant()
    admin(harness, "balance", "top-up", merchant.org_id, "10", "--reference", "INV-1")
    yield merchant


@pytest.fixture
def sweeper(harness: Harness) -> Sweeper:
    return harness.sweeper()


def handed_off(harness: Harness, merchant: Merchant) -> str:
    """A one-number send (reserving 0.80) that the carrier took."""
    code, body = harness.send(merchant, {"to": ["+254712345678"], "message": "Settle"})
    assert code == 200, body
    assert harness.dispatch_queued() == {"batchItemFailures": []}
    message_id: str = body["data"]["message_id"]
    return message_id


def delivered(harness: Harness, merchant: Merchant) -> str:
    message_id = handed_off(harness, merchant)
    harness.receipt(RecipientKey(merchant.org_id, message_id, 0).reference, "delivered")
    return message_id


def stream_fails_at_settling(harness: Harness, message_id: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every try of the stream's records dies at the settlement's transaction, until Lambda
    gives up and dead-letters them."""

    def unavailable(*args: Any, **kwargs: Any) -> bool:
        raise ConnectionError("DynamoDB unavailable")

    with monkeypatch.context() as patch:
        patch.setattr(Accounts, "settle", unavailable)
        for _ in range(3):
            response = load_function("webhooks").lambda_handler(
                {"Records": stream_records(harness, message_id)}, lambda_context()
            )
            assert response["batchItemFailures"], "the final change must fail"


def still_due(harness: Harness, message_id: str) -> bool:
    """Whether the message is anywhere in the sweep's due index, however far ahead."""
    due, far = harness.repository().due, datetime.now(UTC) + timedelta(days=400)
    return any(item.message_id == message_id for shard in range(DUE_SHARDS) for item in due.find(shard, far, 50))


def money(harness: Harness, merchant: Merchant) -> tuple[str, str, str]:
    shown = admin(harness, "balance", "show", merchant.org_id)
    return shown["balance"], shown["reserved"], shown["charged"]


def ledger_kinds(harness: Harness, merchant: Merchant) -> list[str]:
    return sorted(row["kind"] for row in admin(harness, "balance", "ledger", merchant.org_id))


def test_a_dead_lettered_settlement_is_settled_by_the_sweep_once(
    harness: Harness, merchant: Merchant, sweeper: Sweeper, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a delivered message whose final stream record fails until it is dead-lettered
    message_id = delivered(harness, merchant)
    stream_fails_at_settling(harness, message_id, monkeypatch)
    failed_at = datetime.now(UTC)
    # Then its reservation is still held
    assert money(harness, merchant) == ("9.20", "0.80", "0.00")
    # When the sweep runs before the check is due, it leaves it to the stream
    assert sweeper.sweep(failed_at + check_after() / 2, lambda: 900.0).settled == 0
    assert money(harness, merchant)[1] == "0.80"
    # When it runs after
    summary = sweeper.sweep(failed_at + check_after() + timedelta(seconds=5), lambda: 900.0)
    # Then it settles the message: what the carrier took is charged, and nothing is held
    assert summary.settled == 1
    assert money(harness, merchant) == ("9.20", "0.00", "0.80")
    assert harness.status(merchant, message_id)[1]["data"]["cost"] == {"currency": "KES", "charged": "0.80"}
    ledger_holds(harness, merchant.org_id)
    # And the message has left the due index
    assert not still_due(harness, message_id)
    # When the stream's record is retried late after all (and the repair's own change with it)
    fan_out(harness, message_id)
    # Then nothing is charged twice
    assert money(harness, merchant) == ("9.20", "0.00", "0.80")
    assert ledger_kinds(harness, merchant) == ["charge", "release", "reserve", "top_up"]


def test_a_settled_message_leaves_nothing_for_the_sweep(harness: Harness, merchant: Merchant) -> None:
    # Given a delivered message, due at its receipt deadline
    message_id = delivered(harness, merchant)
    assert still_due(harness, message_id)
    # When the stream settles it, as a rule
    fan_out(harness, message_id)
    # Then it is settled and has left the due index: no sweep needs to look at it again
    assert money(harness, merchant) == ("9.20", "0.00", "0.80")
    assert not still_due(harness, message_id)


@pytest.mark.parametrize("first", ["sweep", "stream"])
def test_the_stream_and_the_sweep_settling_at_once_charge_once(
    harness: Harness, merchant: Merchant, sweeper: Sweeper, monkeypatch: pytest.MonkeyPatch, first: str
) -> None:
    # Given a delivered message whose stream record failed once at settling
    message_id = delivered(harness, merchant)
    stream_fails_at_settling(harness, message_id, monkeypatch)
    check = datetime.now(UTC) + check_after() + timedelta(seconds=5)
    settle = Accounts.settle
    outcomes: list[tuple[str, bool]] = []

    def sweep() -> None:
        sweeper.sweep(check, lambda: 900.0)

    def stream() -> None:
        load_function("webhooks").lambda_handler({"Records": stream_records(harness, message_id)}, lambda_context())

    paths: dict[str, Callable[[], None]] = {"sweep": sweep, "stream": stream}
    second = "stream" if first == "sweep" else "sweep"

    def interleaved(accounts: Accounts, *args: Any) -> bool:
        # The second path has read what it charges; the first settles before it writes.
        if not outcomes:
            outcomes.append((first, False))
            paths[first]()
        applied = settle(accounts, *args)
        outcomes.append(("committed", applied))
        return applied

    monkeypatch.setattr(Accounts, "settle", interleaved)
    # When the stream retries the record while the sweep repairs it (either reaching the
    # ledger first)
    paths[second]()
    # Then both settled it, but one of them changed the account: charged once
    assert outcomes == [(first, False), ("committed", True), ("committed", False)]
    assert money(harness, merchant) == ("9.20", "0.00", "0.80")
    assert ledger_kinds(harness, merchant) == ["charge", "release", "reserve", "top_up"]
    ledger_holds(harness, merchant.org_id)


def test_a_message_the_deadline_made_final_is_settled_by_a_later_look(
    harness: Harness, merchant: Merchant, sweeper: Sweeper, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a message the carrier took that never gets a receipt
    message_id = handed_off(harness, merchant)
    # When its deadline passes, the sweep fails it with 1503 (final), and the stream's record of
    # that fails for good
    deadline = datetime.now(UTC) + timedelta(seconds=get_settings().time.delivery_timeout_seconds + 60)
    assert sweeper.sweep(deadline, lambda: 900.0).timed_out == 1
    stream_fails_at_settling(harness, message_id, monkeypatch)
    assert money(harness, merchant)[1] == "0.80"
    # Then the sweep's next look settles it: the carrier took it, so it is charged
    assert sweeper.sweep(deadline + check_after() + timedelta(seconds=5), lambda: 900.0).settled == 1
    assert money(harness, merchant) == ("9.20", "0.00", "0.80")
    ledger_holds(harness, merchant.org_id)
    assert Decimal(harness.status(merchant, message_id)[1]["data"]["cost"]["charged"]) == Decimal("0.80")
