"""Prices and quotes (DESIGN §10). Pure: no I/O.

Amounts are ``Decimal`` from the operator's text to the table and back (DynamoDB numbers are
exact decimals); a float never holds one. One rule rounds them: :data:`QUANTUM`, four places,
and a price may not be finer, so segments times price and every sum of them are exact and never
rounded at all. On the wire an amount is a string (``"1.60"``).

A price applies to a MATCH as a route does (``routing.resolve``: a prefix over a country over
``*``, a longer prefix over a shorter), optionally for one carrier. A destination no price
covers costs nothing: an operator who prices only some countries does not block the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from lisoloo.routing import Route, country_of, match_kind, resolve

QUANTUM = Decimal("0.0001")
ZERO = Decimal(0)
# Large enough for any balance, small enough that DynamoDB's 38 digits never round it.
MAX_AMOUNT = Decimal("1000000000000")
# The leading characters of an E.164 number that decide its country (``+44 7781`` is Guernsey).
_COUNTRY_DIGITS = 10


class AmountError(ValueError):
    """Text that is not an amount we accept."""


def parse_amount(text: str, *, allow_negative: bool = False) -> Decimal:
    """``"500.00"`` → Decimal; at most 4 decimal places, below :data:`MAX_AMOUNT`; AmountError
    otherwise (an exponent, NaN, infinity, too many places)."""
    try:
        amount = Decimal(text.strip())
    except InvalidOperation:
        raise AmountError(f"{text!r} is not an amount (digits, an optional . and up to 4 places)") from None
    if not amount.is_finite() or "e" in text.lower():
        raise AmountError(f"{text!r} is not an amount (digits, an optional . and up to 4 places)")
    if amount != amount.quantize(QUANTUM):
        raise AmountError(f"{text!r} has more than 4 decimal places")
    if abs(amount) >= MAX_AMOUNT:
        raise AmountError(f"{text!r} is too large")
    if amount < 0 and not allow_negative:
        raise AmountError(f"{text!r} is below zero")
    return amount.quantize(QUANTUM)


def amount_text(amount: Decimal) -> str:
    """An amount on the wire: two places at least (``"1.60"``), more only when it has them."""
    places = amount.quantize(Decimal("0.01"))
    return f"{places:f}" if places == amount else f"{amount.normalize():f}"


@dataclass(frozen=True, slots=True)
class Price:
    match: str
    per_segment: Decimal
    carrier: str | None = None  # None: whichever carrier takes it


def check_price(price: Price) -> None:
    if match_kind(price.match) is None:
        raise ValueError(f"{price.match!r} is not an E.164 prefix (+2547), an ISO country (KE) or *")
    if price.per_segment < 0 or price.per_segment != price.per_segment.quantize(QUANTUM):
        raise ValueError("a price is zero or more, with at most 4 decimal places")


def price_for(prices: Sequence[Price], number: str, carrier: str | None = None) -> Decimal:
    """The price per segment of ``number``: the carrier's own price when it has one that
    applies, else the general one; zero when none applies."""
    for scope in ([carrier] if carrier else []) + [None]:
        scoped = {price.match: price for price in prices if price.carrier == scope}
        # Routes carry the match precedence; a price is looked up as a route with no carriers.
        found = resolve((Route(match, ()) for match in scoped), "", number)
        if found is not None:
            return scoped[found.match].per_segment
    return ZERO


def each_recipients_segments(segments: int | Sequence[int], count: int) -> Sequence[int]:
    """One text's parts for every recipient, or (personal texts) each recipient's own."""
    return [segments] * count if isinstance(segments, int) else segments


def quote_recipients(prices: Sequence[Price], numbers: Sequence[str], segments: int | Sequence[int]) -> list[Decimal]:
    """What each recipient is estimated to cost: its segments times its general price."""
    cache: dict[str, Decimal] = {}
    # Numbers that agree on their first digits share a price (the longest priced prefix, and
    # enough digits to fix a country), so 10,000 lookups become a few.
    key_length = max([_COUNTRY_DIGITS, *(len(price.match) for price in prices)])
    costs = []
    for number, parts in zip(numbers, each_recipients_segments(segments, len(numbers)), strict=True):
        key = number[:key_length]
        if key not in cache:
            cache[key] = price_for(prices, number)
        costs.append(cache[key] * parts)
    return costs


@dataclass(frozen=True, slots=True)
class CountryQuote:
    country: str  # ISO code, or "ZZ" for a number of no country
    recipients: int
    segments: int
    estimate: Decimal


def quote_by_country(
    prices: Sequence[Price], numbers: Sequence[str], segments: int | Sequence[int]
) -> list[CountryQuote]:
    """A dry run's quote: per destination country, recipients, segments and their cost."""
    each = each_recipients_segments(segments, len(numbers))
    totals: dict[str, tuple[int, int, Decimal]] = {}
    for number, parts, cost in zip(numbers, each, quote_recipients(prices, numbers, each), strict=True):
        country = country_of(number) or "ZZ"
        count, counted, amount = totals.get(country, (0, 0, ZERO))
        totals[country] = (count + 1, counted + parts, amount + cost)
    return [
        CountryQuote(country, count, counted, amount) for country, (count, counted, amount) in sorted(totals.items())
    ]
