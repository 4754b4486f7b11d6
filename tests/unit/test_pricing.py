"""Prices and quotes (DESIGN §10): exact decimals, the match precedence of routes."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lisoloo.pricing import (
    AmountError,
    CountryQuote,
    Price,
    amount_text,
    check_price,
    parse_amount,
    price_for,
    quote_by_country,
    quote_recipients,
)

PRICES = [
    Price("*", Decimal("1.00")),
    Price("KE", Decimal("0.80")),
    Price("+25471", Decimal("0.70")),
    Price("+254712", Decimal("0.65")),
    Price("KE", Decimal("0.50"), carrier="kannel-b"),
]


@pytest.mark.parametrize(
    ("number", "carrier", "expected"),
    [
        ("+254712345678", None, "0.65"),  # the longer prefix wins
        ("+254713345678", None, "0.70"),  # the prefix wins over the country
        ("+254733345678", None, "0.80"),  # the country wins over *
        ("+255712345678", None, "1.00"),  # only * applies
        ("+254733345678", "kannel-b", "0.50"),  # the carrier's own price
        ("+255712345678", "kannel-b", "1.00"),  # the carrier has none here: the general one
    ],
)
def test_a_number_costs_its_most_specific_price(number: str, carrier: str | None, expected: str) -> None:
    assert price_for(PRICES, number, carrier) == Decimal(expected)


def test_a_destination_no_price_covers_costs_nothing() -> None:
    assert price_for([Price("KE", Decimal("0.80"))], "+255712345678") == 0


def test_amounts_add_exactly() -> None:
    # Given prices of 0.1 and 0.2 (a float sum is 0.30000000000000004)
    prices = [Price("+2547", Decimal(parse_amount("0.1"))), Price("+2557", parse_amount("0.2"))]
    # When one recipient of each is quoted
    total = sum(quote_recipients(prices, ["+254712345678", "+255712345678"], 1), Decimal(0))
    # Then the sum is exactly 0.3, and shown as such
    assert total == Decimal("0.3")
    assert amount_text(total) == "0.30"


@pytest.mark.parametrize("text", ["abc", "1e3", "NaN", "Infinity", "0.00001", "-1", "1000000000000"])
def test_amounts_we_refuse(text: str) -> None:
    with pytest.raises(AmountError):
        parse_amount(text)


@pytest.mark.parametrize(
    ("amount", "text"), [("1.6", "1.60"), ("0", "0.00"), ("0.125", "0.125"), ("12", "12.00"), ("-3.5", "-3.50")]
)
def test_amount_text(amount: str, text: str) -> None:
    assert amount_text(Decimal(amount)) == text


def test_a_price_needs_a_match_and_four_places_at_most() -> None:
    with pytest.raises(ValueError, match="E\\.164"):
        check_price(Price("Kenya", Decimal(1)))
    with pytest.raises(ValueError, match="4 decimal"):
        check_price(Price("KE", Decimal("0.00001")))


def test_a_dry_run_quote_is_per_country() -> None:
    numbers = ["+254712345678", "+254733345678", "+255712345678"]
    assert quote_by_country(PRICES, numbers, 2) == [
        CountryQuote("KE", 2, 4, Decimal("2.90")),
        CountryQuote("TZ", 1, 2, Decimal("2.00")),
    ]


@given(
    st.lists(st.decimals(min_value=0, max_value=100, places=4, allow_nan=False, allow_infinity=False), max_size=30),
    st.integers(min_value=1, max_value=10),
)
def test_a_quote_is_segments_times_price_exactly(prices: list[Decimal], segments: int) -> None:
    # Given one price per recipient (each under its own prefix)
    table = [Price(f"+25470{index:04d}", price) for index, price in enumerate(prices)]
    numbers = [f"+25470{index:04d}123" for index in range(len(prices))]
    # Then each recipient costs segments x its price, with nothing rounded away
    assert quote_recipients(table, numbers, segments) == [price * segments for price in prices]
