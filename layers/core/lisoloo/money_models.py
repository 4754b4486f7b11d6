"""The merchant's view of money (DESIGN §10): a dry run's quote and ``GET /balance``. Amounts
are decimal strings in the deployment's currency."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from lisoloo.models import Model, SendCost, Timestamp

Amount = Annotated[str, Field(pattern=r"^-?[0-9]+\.[0-9]{2,4}$", examples=["1.60"])]


class CountryQuote(Model):
    country: Annotated[str, Field(description="ISO 3166 code; ZZ for a number of no country.")]
    recipients: int
    segments: int
    estimate: Amount


class SendQuote(Model):
    """The reply to ``POST /send`` with ``"dry_run": true``: nothing was stored or reserved."""

    dry_run: Literal[True] = True
    total_recipients: int
    encoding: Literal["GSM-7", "UCS-2"]
    segments: int
    cost: SendCost
    countries: list[CountryQuote]


class Balance(Model):
    """``GET /balance``: ``available`` = ``balance`` + ``credit_limit`` is what sends may still
    reserve; ``reserved`` is held for messages not final yet (already out of ``balance``)."""

    currency: str
    balance: Amount
    reserved: Amount
    credit_limit: Amount
    available: Amount


class LedgerEntryView(Model):
    """One change to the account: ``reserve`` at send, ``charge`` and ``release`` when the message
    is final, ``top_up``, ``adjustment`` and ``credit_limit`` by the operator."""

    entry_id: str
    kind: Literal["top_up", "adjustment", "reserve", "charge", "release", "credit_limit"]
    amount: Amount
    reference: str | None = None
    message_id: str | None = None
    created_at: Timestamp


class LedgerPage(Model):
    """``GET /balance/ledger``: the organization's ledger entries, newest first."""

    currency: str
    entries: list[LedgerEntryView]
    cursor: Annotated[str | None, Field(description="Pass as `cursor` for the next page; null on the last.")] = None
