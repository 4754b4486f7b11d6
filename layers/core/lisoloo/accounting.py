"""Money at send (DESIGN §10): the quote, the balance check, and the reservation that goes in
the same transaction as the message.

A deployment with no prices runs as before: every send costs 0.00, and a send that costs
nothing reserves nothing and needs no account. Once prices exist, a send that costs something
needs an account whose available balance (balance + credit limit) covers the estimate.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from lisoloo.errors import DailySpendLimitError, InsufficientBalanceError
from lisoloo.models import SendCost
from lisoloo.money_models import Balance, CountryQuote, LedgerEntryView, LedgerPage, SendQuote
from lisoloo.pricing import ZERO, Price, amount_text, quote_by_country, quote_recipients
from lisoloo.search_rules import decode_cursor, encode_cursor
from lisoloo.storage import SmsRepository, keys
from lisoloo.storage.accounts import Account
from lisoloo.storage.table import parse_timestamp

LEDGER_CURSOR_RULE = "must be the cursor of an earlier page of GET /balance/ledger"


def estimate(prices: Sequence[Price], numbers: Sequence[str], segments: int | Sequence[int]) -> Decimal:
    return sum(quote_recipients(prices, numbers, segments), ZERO) if prices else ZERO


def send_cost(currency: str, amount: Decimal) -> SendCost:
    return SendCost(currency=currency, estimate=amount_text(amount))


def dry_run_quote(
    prices: Sequence[Price], numbers: Sequence[str], segments: Sequence[int], encoding: Any, currency: str
) -> SendQuote:
    countries = quote_by_country(prices, numbers, segments)
    return SendQuote(
        total_recipients=len(numbers),
        encoding=encoding,
        segments=max(segments, default=0),
        cost=send_cost(currency, sum((country.estimate for country in countries), ZERO)),
        countries=[
            CountryQuote(
                country=country.country,
                recipients=country.recipients,
                segments=country.segments,
                estimate=amount_text(country.estimate),
            )
            for country in countries
        ],
    )


def reservation(
    repository: SmsRepository, org_id: str, message_id: str, amount: Decimal, now: datetime
) -> list[dict[str, Any]]:
    """The transaction items that reserve ``amount`` for a message (none when it is free), and
    count it against the daily spend cap (UTC days) when the organization has one.

    The account is read first so the common refusals (InsufficientBalanceError,
    DailySpendLimitError) cost no write and leave nothing behind; the reservation's own
    condition is what stops concurrent sends from overdrawing."""
    if amount <= 0:
        return []
    account = repository.accounts.get(org_id)
    if account is None or account.available < amount:
        raise InsufficientBalanceError()
    day = now.astimezone(UTC).date().isoformat()
    left = account.left_today(day)
    if left is not None and left < amount:
        raise DailySpendLimitError()
    change = repository.accounts.change(org_id, "reserve", message_id, amount, now, message_id=message_id)
    if account.daily_cap is not None:
        change.within_daily_cap(day, account.daily_cap, counting=account.cap_day == day)
    return change.items()


def balance_of(repository: SmsRepository, org_id: str, currency: str) -> Balance:
    account = repository.accounts.get(org_id) or Account(org_id)
    return Balance(
        currency=currency,
        balance=amount_text(account.balance),
        reserved=amount_text(account.reserved),
        credit_limit=amount_text(account.credit_limit),
        available=amount_text(account.available),
    )


def ledger_of(repository: SmsRepository, org_id: str, currency: str, cursor: str | None, limit: int) -> LedgerPage:
    before = decode_cursor(cursor, keys.is_ledger_find_sk, "cursor", LEDGER_CURSOR_RULE) if cursor else None
    entries, last = repository.accounts.ledger_page(org_id, before, limit)
    return LedgerPage(
        currency=currency,
        entries=[
            LedgerEntryView(
                entry_id=entry.entry_id,
                kind=entry.kind,
                amount=amount_text(entry.amount),
                reference=entry.reference,
                message_id=entry.message_id,
                created_at=parse_timestamp(entry.created_at),
            )
            for entry in entries
        ],
        cursor=encode_cursor(last) if last else None,
    )
