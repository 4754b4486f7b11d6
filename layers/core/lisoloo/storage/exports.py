"""Exports: one item per export, ``pending`` until the worker has written its file (DESIGN §11)."""

from __future__ import annotations

from contextlib import suppress
from datetime import datetime, timedelta

from lisoloo.finding_entities import ExportRecord
from lisoloo.storage import keys
from lisoloo.storage.table import ConditionFailed, Item, Table, epoch_seconds, from_item, parse_timestamp, timestamp

# The file's bucket keeps it 7 days (template.yaml); the item a little longer, so it can say so.
EXPORT_KEPT_FOR = timedelta(days=8)


def export_from_item(item: Item) -> ExportRecord:
    values = from_item(item)
    return ExportRecord(
        org_id=values["org_id"],
        export_id=values["export_id"],
        created_after=parse_timestamp(values["created_after"]),
        created_before=parse_timestamp(values["created_before"]),
        format=values["format"],
        status=values["status"],
        created_at=parse_timestamp(values["created_at"]),
        rows=int(values["rows"]) if "rows" in values else None,
        file_key=values.get("file_key"),
    )


class Exports:
    def __init__(self, table: Table) -> None:
        self.table = table

    def create(self, export: ExportRecord) -> None:
        self.table.put(
            {
                "PK": keys.export_pk(export.org_id, export.export_id),
                "SK": keys.META,
                "org_id": export.org_id,
                "export_id": export.export_id,
                "created_after": timestamp(export.created_after),
                "created_before": timestamp(export.created_before),
                "format": export.format,
                "status": export.status,
                "created_at": timestamp(export.created_at),
                "expires_at": epoch_seconds(export.created_at + EXPORT_KEPT_FOR),
            },
            # Ids are random; this only guards against ever replacing one.
            "attribute_not_exists(PK)",
        )

    def get(self, org_id: str, export_id: str) -> ExportRecord | None:
        item = self.table.get(keys.export_pk(org_id, export_id), keys.META)
        return export_from_item(item) if item else None

    def finish(self, org_id: str, export_id: str, *, rows: int, file_key: str, now: datetime) -> None:
        """``pending → done`` once: a redelivered job that wrote the file again changes nothing."""
        with suppress(ConditionFailed):
            self.table.update(
                keys.export_pk(org_id, export_id),
                keys.META,
                "SET #status = :done, #rows = :rows, file_key = :key, finished_at = :now",
                "#status = :pending",
                names={"#status": "status", "#rows": "rows"},
                values={
                    ":done": "done",
                    ":pending": "pending",
                    ":rows": rows,
                    ":key": file_key,
                    ":now": timestamp(now),
                },
            )
