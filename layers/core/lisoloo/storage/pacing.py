"""Carriers' pacing counters (DESIGN §8): how many submissions each carrier has been given in
each epoch second, across every dispatcher. Taken in blocks: one conditional write per block,
never per recipient."""

from __future__ import annotations

from lisoloo.storage import keys
from lisoloo.storage.table import ConditionFailed, Table, from_item

# A second's counter is useless a minute later; TTL removes it (nothing relies on when).
_KEEP_SECONDS = 3_600


class PaceCounters:
    def __init__(self, table: Table) -> None:
        self.table = table

    def take(self, carrier: str, second: int, wanted: int, limit: int) -> int:
        """Up to ``wanted`` of the ``limit`` submissions ``carrier`` may have in ``second``;
        returns how many were granted (0: that second is full). Two writes at most: the
        block, then, if it did not fit, exactly what is left."""
        block = wanted
        for _ in range(2):
            if block <= 0:
                return 0
            try:
                self.table.update(
                    keys.pace_pk(carrier, second),
                    keys.META,
                    "ADD taken :block SET expires_at = :expires",
                    # Never past the limit: concurrent dispatchers each get a disjoint block.
                    "attribute_not_exists(taken) OR taken <= :room",
                    old_on_failure=True,
                    values={":block": block, ":room": limit - block, ":expires": second + _KEEP_SECONDS},
                )
            except ConditionFailed as failed:
                taken = from_item(failed.item or {}).get("taken", limit)
                block = min(wanted, limit - taken)
                continue
            return block
        return 0
