"""Route quality: counters and latency buckets per carrier, time bucket and country (DESIGN §8).

Each batch of hand-offs or receipts adds to each (carrier, bucket, country) it touched with one
UpdateItem of ``ADD``s: never a read, never a scan. A carrier's window is one Query.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import datetime

from lisoloo.quality_rules import RouteFigures
from lisoloo.storage import keys
from lisoloo.storage.table import Table, epoch_seconds, from_item

QualityKey = tuple[str, str, str]  # (carrier, bucket start, country)
_LATENCY_PREFIX = "latency_"


def _figures(values: Mapping[str, object]) -> RouteFigures:
    def count(name: str) -> int:
        value = values.get(name, 0)
        return int(value) if isinstance(value, int | float | str) else 0

    return RouteFigures(
        refused=count("refused"),
        submitted=count("submitted"),
        delivered=count("delivered"),
        failed=count("failed"),
        no_final=count("no_final"),
        fast=count("fast"),
        latency=Counter(
            {
                int(name.removeprefix(_LATENCY_PREFIX)): count(name)
                for name in values
                if name.startswith(_LATENCY_PREFIX)
            }
        ),
    )


class RouteQuality:
    def __init__(self, table: Table) -> None:
        self.table = table

    def add(self, groups: Mapping[QualityKey, RouteFigures], expires_at: datetime) -> None:
        for (carrier, bucket, country), figures in groups.items():
            counters = figures.counters()
            if not counters:
                continue
            # Unconditional ADD: callers count only hand-offs recorded and moves applied once (a
            # redelivered batch finds its moves superseded and adds nothing), so nothing counts
            # twice. The expiry lets TTL remove buckets long past any window.
            self.table.update(
                keys.route_quality_pk(carrier),
                keys.route_quality_sk(bucket, country),
                "ADD " + ", ".join(f"{name} :{name}" for name in counters) + " SET expires_at = :expires",
                values={
                    **{f":{name}": count for name, count in counters.items()},
                    ":expires": epoch_seconds(expires_at),
                },
            )

    def read(self, carrier: str, first_bucket: str) -> dict[tuple[str, str], RouteFigures]:
        """The carrier's figures by (bucket, country), from ``first_bucket`` on."""
        items = self.table.query_between(
            keys.route_quality_pk(carrier), keys.route_quality_sk(first_bucket, ""), keys.route_quality_sk("~", "")
        )
        return {keys.route_quality_of_sk(item["SK"]["S"]): _figures(from_item(item)) for item in items}
