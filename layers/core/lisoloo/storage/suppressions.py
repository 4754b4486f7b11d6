"""An organization's suppression list (DESIGN §9): one partition per organization, one item per
number, so dispatch reads a whole chunk's numbers in one BatchGetItem and the API pages the list
in number order. Numbers arrive here already normalised (E.164), as ``to`` is."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from lisoloo.storage import keys
from lisoloo.storage.table import ConditionFailed, Table, from_item, parse_timestamp, timestamp
from lisoloo.two_way import SuppressionRecord, SuppressionSource

# Bounds of every suppression's sort key in the list's partition.
_LOW, _HIGH = keys.suppression_sk(""), keys.suppression_sk("~")


def suppression_item(
    org_id: str, number: str, reason: str | None, source: SuppressionSource, now: datetime
) -> dict[str, Any]:
    return {
        "PK": keys.suppressions_pk(org_id),
        "SK": keys.suppression_sk(number),
        "reason": reason,
        "source": source.value,
        "created_at": timestamp(now),
        "updated_at": timestamp(now),
    }


def suppression_from_values(values: dict[str, Any]) -> SuppressionRecord:
    return SuppressionRecord(
        number=keys.number_of_suppression_sk(values["SK"]),
        reason=values.get("reason"),
        source=SuppressionSource(values["source"]),
        created_at=parse_timestamp(values["created_at"]),
        updated_at=parse_timestamp(values["updated_at"]),
    )


class Suppressions:
    def __init__(self, table: Table) -> None:
        self.table = table

    def add(
        self, org_id: str, number: str, reason: str | None, source: SuppressionSource, now: datetime
    ) -> SuppressionRecord:
        """Suppress ``number`` (again): the reason and source are replaced, ``created_at`` kept
        from the first time. One update, so two at once cannot lose either's effect: the
        number ends suppressed whichever lands last."""
        names = {"#reason": "reason", "#source": "source"}
        values: dict[str, Any] = {":source": source.value, ":now": timestamp(now)}
        update = "SET #source = :source, updated_at = :now, created_at = if_not_exists(created_at, :now)"
        if reason is None:
            update += " REMOVE #reason"
        else:
            update += ", #reason = :reason"
            values[":reason"] = reason
        attributes = self.table.update(
            keys.suppressions_pk(org_id),
            keys.suppression_sk(number),
            update,
            returning="ALL_NEW",
            names=names,
            values=values,
        )
        return suppression_from_values(from_item(attributes))

    def add_many(self, org_id: str, numbers: Iterable[str], reason: str | None, now: datetime) -> None:
        """Suppress many numbers in batch writes (25 an item request): each item written whole,
        so a number already on the list takes this reason and time. Unconditional by design:
        every outcome of a repeat, or of a race with a single PUT, leaves the number suppressed."""
        self.table.batch_put(
            suppression_item(org_id, number, reason, SuppressionSource.BULK, now) for number in numbers
        )

    def remove(self, org_id: str, number: str) -> bool:
        """Lift a suppression; False when the number was not suppressed."""
        try:
            # Only an existing suppression is removed, so the answer says whether there was one.
            self.table.delete(keys.suppressions_pk(org_id), keys.suppression_sk(number), "attribute_exists(PK)")
        except ConditionFailed:
            return False
        return True

    def get(self, org_id: str, number: str) -> SuppressionRecord | None:
        item = self.table.get(keys.suppressions_pk(org_id), keys.suppression_sk(number))
        return suppression_from_values(from_item(item)) if item is not None else None

    def page(self, org_id: str, limit: int, after: str | None) -> tuple[list[SuppressionRecord], bool]:
        """Up to ``limit`` suppressions in number order, after the number ``after``; and whether more follow."""
        items, more = self.table.query_page(
            keys.suppressions_pk(org_id),
            _LOW,
            _HIGH,
            limit=limit,
            after=keys.suppression_sk(after) if after is not None else None,
        )
        return [suppression_from_values(from_item(item)) for item in items], more

    def suppressed(self, org_id: str, numbers: Sequence[str]) -> set[str]:
        """Which of ``numbers`` the organization has suppressed: one BatchGetItem per 100 numbers
        (a dispatch chunk's), each a key-only read. Strongly consistent (1 read unit a number,
        $0.125 per million at list price): a STOP stored a moment before a chunk is dispatched
        must stop it, not the chunk after."""
        if not numbers:
            return set()
        pk = keys.suppressions_pk(org_id)
        wanted = ((pk, keys.suppression_sk(number)) for number in numbers)
        found = self.table.batch_get(wanted, attributes=(), consistent=True)
        return {keys.number_of_suppression_sk(item["SK"]["S"]) for item in found}
