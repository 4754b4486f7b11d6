"""Carriers as the receipts endpoint knows them: a name and the hash of its receipt token."""

from __future__ import annotations

from datetime import datetime

from lisoloo.entities import CarrierRecord
from lisoloo.storage import keys
from lisoloo.storage.table import Table, timestamp


class Carriers:
    def __init__(self, table: Table) -> None:
        self.table = table

    def store(self, carrier: CarrierRecord, now: datetime) -> None:
        """Sets (or replaces: a new token retires the previous one) a carrier's token hash."""
        self.table.put(
            {
                "PK": keys.carrier_pk(carrier.name),
                "SK": keys.META,
                "token_hash": carrier.token_hash,
                "updated_at": timestamp(now),
            }
        )

    def find(self, name: str) -> CarrierRecord | None:
        item = self.table.get(keys.carrier_pk(name), keys.META)
        if item is None:
            return None
        return CarrierRecord(name=name, token_hash=item["token_hash"]["S"])
