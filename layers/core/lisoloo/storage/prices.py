"""Prices (DESIGN §10): one ``PRICES`` partition of operator data, read whole (and cached) by
``POST /send``."""

from __future__ import annotations

from contextlib import suppress
from datetime import datetime
from decimal import Decimal

from lisoloo.pricing import Price
from lisoloo.storage import keys
from lisoloo.storage.table import ConditionFailed, Item, Table, timestamp


def price_from_item(item: Item) -> Price:
    # Read from the wire form: ``from_item`` turns numbers into integers, and a price is not one.
    return Price(
        match=item["match"]["S"],
        per_segment=Decimal(item["per_segment"]["N"]),
        carrier=item["carrier"]["S"] if "carrier" in item else None,
    )


class Prices:
    def __init__(self, table: Table) -> None:
        self.table = table

    def put(self, price: Price, now: datetime) -> None:
        """Sets (or replaces) the price of a MATCH for its carrier (or any): the last set wins."""
        self.table.put(
            {
                "PK": keys.PRICES_PK,
                "SK": keys.price_sk(price.carrier, price.match),
                "match": price.match,
                "carrier": price.carrier,
                "per_segment": price.per_segment,
                "updated_at": timestamp(now),
            }
        )

    def all(self) -> list[Price]:
        return [price_from_item(item) for item in self.table.query_between(keys.PRICES_PK, "!", "~")]

    def delete(self, carrier: str | None, match: str) -> bool:
        """False when there was no such price."""
        with suppress(ConditionFailed):
            self.table.delete(keys.PRICES_PK, keys.price_sk(carrier, match), "attribute_exists(PK)")
            return True
        return False
