"""Delivery analytics: counters and latency buckets per group and day (DESIGN §11).

A group is ``(dimension, day, value)``: ``day`` is the day the message was created (UTC), the
dimension one of ``day``, ``country``, ``sender_id``. Each batch adds to each group it touched
with one UpdateItem of ``ADD``s: never a read, never a scan, and a group is a few dozen numbers.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from lisoloo.histograms import GroupFigures
from lisoloo.storage import keys
from lisoloo.storage.table import Table, from_item

GroupKey = tuple[str, str, str]  # (dimension, day, value)
LATENCY_PREFIX = "latency_"


class DeliveryAnalytics:
    def __init__(self, table: Table) -> None:
        self.table = table

    def add(self, org_id: str, groups: Mapping[GroupKey, GroupFigures]) -> None:
        for (dimension, day, value), figures in groups.items():
            if figures.is_empty():
                continue
            counters = {
                "submitted": figures.submitted,
                "delivered": figures.delivered,
                "failed": figures.failed,
                **{f"{LATENCY_PREFIX}{bucket}": count for bucket, count in figures.latency.items() if count},
            }
            counters = {name: count for name, count in counters.items() if count}
            # Unconditional ADD: callers count only moves that were applied (a redelivered batch
            # finds its moves superseded and adds nothing), so no count is added twice.
            self.table.update(
                keys.analytics_pk(org_id),
                keys.analytics_sk(dimension, day, value),
                "ADD " + ", ".join(f"{name} :{name}" for name in counters),
                values={f":{name}": count for name, count in counters.items()},
            )

    def read(self, org_id: str, dimension: str, first_day: str, last_day: str) -> dict[str, GroupFigures]:
        """The dimension's groups over the days ``first_day .. last_day`` (inclusive), summed."""
        groups: dict[str, GroupFigures] = {}
        items = self.table.query_between(
            keys.analytics_pk(org_id),
            keys.analytics_sk(dimension, first_day, ""),
            keys.analytics_sk(dimension, last_day, "~"),
        )
        for item in items:
            values = from_item(item)
            figures = GroupFigures(
                submitted=int(values.get("submitted", 0)),
                delivered=int(values.get("delivered", 0)),
                failed=int(values.get("failed", 0)),
                latency=Counter(
                    {
                        int(name.removeprefix(LATENCY_PREFIX)): int(count)
                        for name, count in values.items()
                        if name.startswith(LATENCY_PREFIX)
                    }
                ),
            )
            value = keys.analytics_value_of_sk(item["SK"]["S"])
            groups[value] = groups.get(value, GroupFigures()) + figures
        return groups
