"""Carriers' receipt tokens: one read of the table for a burst of receipts, a replaced token
honoured at most a cache period, a new one at once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lisoloo.carrier_tokens import CarrierTokens
from lisoloo.credentials import hash_secret
from lisoloo.errors import CarrierNotFoundError, InvalidCarrierTokenError
from lisoloo.organization_entities import CarrierRecord

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


class FakeCarriers:
    def __init__(self) -> None:
        self.tokens = {"sandbox": "lct_old"}
        self.reads = 0

    def find(self, name: str) -> CarrierRecord | None:
        self.reads += 1
        token = self.tokens.get(name)
        return CarrierRecord(name=name, token_hash=hash_secret(token)) if token else None


@pytest.fixture
def carriers() -> FakeCarriers:
    return FakeCarriers()


def test_a_burst_of_receipts_costs_one_read(carriers: FakeCarriers) -> None:
    tokens = CarrierTokens(carriers, MINUTE)  # type: ignore[arg-type]
    for second in range(100):
        tokens.authenticate("sandbox", "lct_old", NOW + timedelta(seconds=second % 50))
    assert carriers.reads == 1
    # Once the cache period is over, the table is read again
    tokens.authenticate("sandbox", "lct_old", NOW + MINUTE)
    assert carriers.reads == 2


def test_a_new_token_works_at_once_and_the_old_one_stops_with_it(carriers: FakeCarriers) -> None:
    tokens = CarrierTokens(carriers, MINUTE)  # type: ignore[arg-type]
    tokens.authenticate("sandbox", "lct_old", NOW)
    carriers.tokens["sandbox"] = "lct_new"  # the operator registers the carrier again
    # The old token still passes from the cache (at most the cache period)...
    tokens.authenticate("sandbox", "lct_old", NOW + timedelta(seconds=10))
    # ...the new one is checked against the table and passes at once...
    tokens.authenticate("sandbox", "lct_new", NOW + timedelta(seconds=11))
    # ...and from then on the old one is refused
    with pytest.raises(InvalidCarrierTokenError):
        tokens.authenticate("sandbox", "lct_old", NOW + timedelta(seconds=12))


def test_wrong_missing_and_unknown(carriers: FakeCarriers) -> None:
    tokens = CarrierTokens(carriers, MINUTE)  # type: ignore[arg-type]
    with pytest.raises(InvalidCarrierTokenError):
        tokens.authenticate("sandbox", "lct_wrong", NOW)
    with pytest.raises(InvalidCarrierTokenError):
        tokens.authenticate("sandbox", None, NOW)
    with pytest.raises(CarrierNotFoundError):
        tokens.authenticate("kannel", "lct_old", NOW)
    with pytest.raises(CarrierNotFoundError):
        tokens.authenticate("kannel", "lct_old", NOW)
    assert carriers.reads == 4  # a wrong token reads again; unknown carriers are never kept
