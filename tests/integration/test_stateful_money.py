"""The lifecycle state machine (``test_stateful_lifecycle``) with money on: prices, a prepaid
balance, top-ups (some repeated), sends the balance cannot cover, and the table stream that
settles final messages, redelivered and crashed at random points; all interleaved with the
lifecycle's sends, dispatch batches, receipts, sweeps, cancellations and crashes.

After every step, for the merchant's account (DESIGN §10):

* ``Σ top-ups + Σ adjustments == balance + reserved + Σ charged``, and ``balance >= -credit_limit``;
* the account agrees with its ledger: each field is the sum of its entries, each entry once;
* a 402 stored nothing and reserved nothing.

At the end (after the lifecycle's own teardown made every message final) the stream is
delivered once more: then nothing is reserved any more, and each settled message's charge is
what its ledger entry says, never more than it reserved.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from hypothesis import strategies as st
from hypothesis.stateful import invariant, rule

from lisoloo.pricing import Price
from lisoloo.storage.accounts import Account
from tests.conftest import lambda_context
from tests.integration.conftest import Harness, drain_queue, load_function
from tests.integration.test_stateful_lifecycle import FAULTS, Lifecycle, run_lifecycle
from tests.integration.test_webhooks import stream_records
from tests.reliability.faults import LambdaCrash

CREDIT_LIMIT = Decimal("5.00")
# A destination priced so high that no balance here covers it: every send to it is a 402.
TOO_DEAR = "+255712345678"


class MoneyLifecycle(Lifecycle):
    def __init__(self) -> None:
        super().__init__()
        now = datetime.now(UTC)
        self.rows.prices.put(Price("KE", Decimal("0.35")), now)
        self.rows.prices.put(Price("*", Decimal("99999")), now)
        self.top_ups: dict[str, Decimal] = {}
        self._top_up("INV-0", Decimal("40.10"))
        self.rows.accounts.set_credit_limit(self.merchant.org_id, CREDIT_LIMIT, now)

    def _top_up(self, reference: str, amount: Decimal) -> None:
        accounts = self.rows.accounts
        change = accounts.change(
            self.merchant.org_id, "top_up", reference, amount, datetime.now(UTC), reference=reference
        )
        applied = accounts.apply(change)
        assert applied == (reference not in self.top_ups), reference
        self.top_ups.setdefault(reference, amount)

    def _account(self) -> Account:
        return self.rows.accounts.get(self.merchant.org_id) or Account(self.merchant.org_id)

    def _fan_out(self, message_id: str, fault: str, after: int) -> None:
        """The stream's records of one message through the webhooks function (which settles)."""
        self._inject(fault if fault.startswith("storage") else "none", after)
        try:
            load_function("webhooks").lambda_handler(
                {"Records": stream_records(self.harness, message_id)}, lambda_context()
            )
        except (LambdaCrash, BatchProcessingError):
            pass  # the stream delivers the records again: a later step, or the teardown
        finally:
            self._stop_faults()

    # --- rules ---------------------------------------------------------------------------------

    @rule(reference=st.sampled_from(["INV-1", "INV-2", "INV-3"]), cents=st.integers(1, 2_000))
    def top_up(self, reference: str, cents: int) -> None:
        """A top-up, sometimes run twice with the same reference (a retried payment script)."""
        self._begin()
        self._top_up(reference, Decimal(cents) / 100)

    @rule()
    def send_beyond_the_balance(self) -> None:
        self._begin()
        before = self._account()
        code, reply = self.harness.send(self.merchant, {"to": [TOO_DEAR], "message": "Hello"})
        # Then 402, and nothing reserved or queued
        assert (code, reply) == (402, {"detail": "Insufficient balance"})
        assert self._account().reserved == before.reserved
        assert all(TOO_DEAR not in job["Body"] for job in self.waiting_jobs)

    @rule(choice=st.integers(0, 50), fault=FAULTS, after=st.integers(0, 4), again=st.booleans())
    def stream(self, choice: int, fault: str, after: int, again: bool) -> None:
        """The table stream reaches the webhooks function (which settles final messages), perhaps
        crashing inside, perhaps delivered twice."""
        self._begin()
        tracked = self._pick(choice)
        self._fan_out(tracked.message_id, fault, after)
        if again:
            self._fan_out(tracked.message_id, "none", 0)

    # --- invariants ----------------------------------------------------------------------------

    def ledger_balances(self) -> None:
        account = self._account()
        assert account.topped_up + account.adjusted == account.balance + account.reserved + account.charged, account
        assert account.balance >= -account.credit_limit, account
        assert account.topped_up == sum(self.top_ups.values(), Decimal(0))
        entries = self.rows.accounts.ledger(self.merchant.org_id)
        assert len({entry.entry_id for entry in entries}) == len(entries)
        total = {
            kind: sum((e.amount for e in entries if e.kind == kind), Decimal(0))
            for kind in ("reserve", "charge", "release")
        }
        assert account.reserved == total["reserve"] - total["charge"] - total["release"], (account, total)
        assert account.charged == total["charge"]

    @invariant()
    def money_never_drifts(self) -> None:
        self.ledger_balances()

    def teardown(self) -> None:
        super().teardown()
        for tracked in self.messages.values():
            self._fan_out(tracked.message_id, "none", 0)
        self.ledger_balances()
        account = self._account()
        assert account.reserved == 0, f"a final message kept its reservation: {account}"
        entries = {entry.entry_id: entry for entry in self.rows.accounts.ledger(self.merchant.org_id)}
        for tracked in self._live():
            reserve = entries.get(f"reserve#{tracked.message_id}")
            record = self.rows.messages.get(self.merchant.org_id, tracked.message_id)
            if reserve is None or record is None:
                continue
            charge = entries[f"charge#{tracked.message_id}"].amount
            assert record.cost_charged == charge <= reserve.amount
            assert charge + entries[f"release#{tracked.message_id}"].amount == reserve.amount


def test_money_never_drifts_through_random_interleavings_crashes_and_redeliveries(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_lifecycle(MoneyLifecycle, harness, monkeypatch)
    # Receipts a crashed step left queued are applied here, not by whichever test runs next
    # (the sweep's deadline rightly waits for queued receipts).
    drain_queue("receipt_apply")
