"""The sparse ``due`` index: items that have something to do at a time (DESIGN §4).

An item is in the index while it carries ``due_shard``/``due_at``/``due_kind``; the sweep
reads only what is due, shard by shard, never the table, and leases each item by moving its
due time, so overlapping sweeps never do the same work.
"""

from __future__ import annotations

from contextlib import suppress
from datetime import datetime
from typing import Any

from lisoloo.entities import DueItem, DueKind
from lisoloo.storage import keys
from lisoloo.storage.table import ConditionFailed, Item, Table, timestamp

DUE_INDEX = "due"
# What a write removes to take an item out of the index.
DUE_ATTRIBUTES = "due_shard, due_at, due_kind"


def due_values(pk: str, due_at: datetime, kind: DueKind) -> dict[str, Any]:
    """The attributes that put an item in the index."""
    return {"due_shard": keys.due_shard(pk), "due_at": timestamp(due_at), "due_kind": kind.value}


def due_assignment(pk: str, due_at: datetime, kind: DueKind) -> tuple[str, dict[str, Any]]:
    """The same, as the clause of an update's SET and its values."""
    values = due_values(pk, due_at, kind)
    clause = "due_shard = :shard, due_at = :due, due_kind = :kind"
    return clause, {":shard": values["due_shard"], ":due": values["due_at"], ":kind": values["due_kind"]}


def due_item(item: Item) -> DueItem:
    """An index entry (wire form), with what it names read from its key."""
    pk, sk = item["PK"]["S"], item["SK"]["S"]
    kind = DueKind(item["due_kind"]["S"])
    org_id, message_id = keys.message_of_pk(pk)
    index = keys.index_of_recipient_sk(sk) if org_id and keys.is_recipient_sk(sk) else None
    return DueItem(
        pk=pk,
        sk=sk,
        kind=kind,
        due_at=item["due_at"]["S"],
        org_id=org_id,
        message_id=message_id,
        index=index,
    )


class DueIndex:
    def __init__(self, table: Table) -> None:
        self.table = table

    def find(self, shard: int, now: datetime, limit: int) -> list[DueItem]:
        """Items of one shard due by ``now``, oldest first: one Query, however big the table."""
        items = self.table.query_index(
            DUE_INDEX,
            "due_shard = :shard AND due_at <= :now",
            {":shard": keys.due_shard_key(shard), ":now": timestamp(now)},
            limit,
        )
        return [due_item(item) for item in items]

    def lease(self, item: DueItem, until: datetime) -> DueItem | None:
        """Claim due work by moving its due time to ``until``: only the sweep that saw the old
        time wins, and if it dies the work comes due again when the lease runs out."""
        leased = DueItem(item.pk, item.sk, item.kind, timestamp(until), item.org_id, item.message_id, item.index)
        try:
            self.table.update(
                item.pk,
                item.sk,
                "SET due_at = :until",
                "due_at = :seen",
                values={":until": leased.due_at, ":seen": item.due_at},
            )
        except ConditionFailed:
            return None
        return leased

    def finish(self, item: DueItem, *, next_due: datetime | None = None, kind: DueKind | None = None) -> None:
        """Done with leased work: leave the index, or come due again at ``next_due``."""
        if next_due is None:
            update, values = f"REMOVE {DUE_ATTRIBUTES}", {":lease": item.due_at}
        else:
            update = "SET due_at = :next, due_kind = :kind"
            values = {":lease": item.due_at, ":next": timestamp(next_due), ":kind": (kind or item.kind).value}
        # Still our lease: a transition may already have taken the item out of the index.
        with suppress(ConditionFailed):
            self.table.update(item.pk, item.sk, update, "due_at = :lease", values=values)
