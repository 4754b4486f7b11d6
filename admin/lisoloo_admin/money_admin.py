"""``lisoloo-admin prices|balance``: the deployment's prices and each organization's account
(DESIGN §10). Amounts are read from text as Decimal and printed as strings: never a float."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from lisoloo.errors import InsufficientBalanceError
from lisoloo.pricing import AmountError, Price, amount_text, check_price, parse_amount
from lisoloo.routing import is_carrier_name
from lisoloo.storage import SmsRepository
from lisoloo.storage.accounts import Account
from lisoloo_admin.target import AdminError

# POST /send reads the prices on every send (one Query of a small partition): no delay.
PRICE_DELAY_NOTE = "the next send uses it"


def _amount(text: str, *, allow_negative: bool = False) -> Any:
    try:
        return parse_amount(text, allow_negative=allow_negative)
    except AmountError as error:
        raise AdminError(str(error)) from None


def _match(match: str) -> str:
    return match.upper() if len(match) == 2 else match


def account_row(account: Account, currency: str) -> dict[str, Any]:
    return {
        "org_id": account.org_id,
        "currency": currency,
        "balance": amount_text(account.balance),
        "reserved": amount_text(account.reserved),
        "available": amount_text(account.available),
        "credit_limit": amount_text(account.credit_limit),
        "charged": amount_text(account.charged),
        "topped_up": amount_text(account.topped_up),
        "adjusted": amount_text(account.adjusted),
        "daily_cap": amount_text(account.daily_cap) if account.daily_cap is not None else None,
        "low_threshold": amount_text(account.low_threshold) if account.low_threshold is not None else None,
    }


class MoneyAdmin:
    def __init__(self, repository: SmsRepository, now: datetime, currency: str) -> None:
        self.repository = repository
        self.now = now
        self.currency = currency

    # --- prices ---------------------------------------------------------------------------------

    def set_price(self, match: str, per_segment: str, carrier: str | None) -> dict[str, Any]:
        if carrier is not None and not is_carrier_name(carrier):
            raise AdminError(f"{carrier!r} is not a carrier name (lower-case letters, digits, - and _)")
        price = Price(_match(match), _amount(per_segment), carrier)
        try:
            check_price(price)
        except ValueError as error:
            raise AdminError(str(error)) from None
        self.repository.prices.put(price, self.now)
        return {**self._price_row(price), "note": PRICE_DELAY_NOTE}

    def list_prices(self) -> list[dict[str, Any]]:
        return [self._price_row(price) for price in self.repository.prices.all()]

    def delete_price(self, match: str, carrier: str | None) -> dict[str, Any]:
        match = _match(match)
        if not self.repository.prices.delete(carrier, match):
            raise AdminError(f"no price for {match}" + (f" on {carrier}" if carrier else ""))
        return {"match": match, "carrier": carrier, "deleted": True, "note": PRICE_DELAY_NOTE}

    def _price_row(self, price: Price) -> dict[str, Any]:
        return {
            "match": price.match,
            "carrier": price.carrier,
            "per_segment": amount_text(price.per_segment),
            "currency": self.currency,
        }

    # --- balances -------------------------------------------------------------------------------

    def _organization(self, org_id: str) -> None:
        if self.repository.organizations.get(org_id) is None:
            raise AdminError(f"no organization {org_id}")

    def top_up(self, org_id: str, amount: str, reference: str) -> dict[str, Any]:
        """Money in; the reference (an invoice, a payment id) is the entry's id, so running the
        same top-up twice adds it once."""
        self._organization(org_id)
        value = _amount(amount)
        if value == 0:
            raise AdminError("a top-up is above zero")
        change = self.repository.accounts.change(org_id, "top_up", reference, value, self.now, reference=reference)
        applied = self.repository.accounts.apply(change)
        return {**self.show(org_id), "applied": applied, "entry_id": change.entry.entry_id}

    def adjust(self, org_id: str, amount: str, reference: str) -> dict[str, Any]:
        """A correction, either way; refused when it would take the balance below the limit."""
        self._organization(org_id)
        value = _amount(amount, allow_negative=True)
        change = self.repository.accounts.change(org_id, "adjustment", reference, value, self.now, reference=reference)
        try:
            applied = self.repository.accounts.apply(change)
        except InsufficientBalanceError:
            raise AdminError("refused: the balance would fall below -credit_limit") from None
        return {**self.show(org_id), "applied": applied, "entry_id": change.entry.entry_id}

    def set_credit_limit(self, org_id: str, limit: str) -> dict[str, Any]:
        self._organization(org_id)
        try:
            account = self.repository.accounts.set_credit_limit(org_id, _amount(limit), self.now)
        except InsufficientBalanceError:
            raise AdminError("refused: the balance is already below the new limit") from None
        return account_row(account, self.currency)

    def set_daily_cap(self, org_id: str, cap: str) -> dict[str, Any]:
        """The most its sends may reserve in a UTC day (``none``: no cap); the day's count
        starts again from the new cap."""
        self._organization(org_id)
        value = None if cap.lower() == "none" else _amount(cap)
        return account_row(self.repository.accounts.set_daily_cap(org_id, value, self.now), self.currency)

    def set_low_threshold(self, org_id: str, threshold: str) -> dict[str, Any]:
        """account.balance_low fires once each time ``available`` falls below it (``none``:
        never); setting it above what is available now fires it once at once."""
        self._organization(org_id)
        value = None if threshold.lower() == "none" else _amount(threshold)
        return account_row(self.repository.accounts.set_low_threshold(org_id, value, self.now), self.currency)

    def show(self, org_id: str) -> dict[str, Any]:
        self._organization(org_id)
        return account_row(self.repository.accounts.get(org_id) or Account(org_id), self.currency)

    def ledger(self, org_id: str) -> list[dict[str, Any]]:
        self._organization(org_id)
        return [
            {
                "entry_id": entry.entry_id,
                "kind": entry.kind,
                "amount": amount_text(entry.amount),
                "reference": entry.reference,
                "message_id": entry.message_id,
                "created_at": entry.created_at,
            }
            for entry in self.repository.accounts.ledger(org_id)
        ]
