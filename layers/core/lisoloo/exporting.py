"""Exports (DESIGN §11): POST /exports queues one, the export worker writes its file, GET
/exports/{id} hands out a pre-signed link. One row per recipient of every message created in
the range, found through the organization's listing index (never a scan).

The worker streams rows into a temporary file (memory stays flat whatever the size) and uploads
it once; the export item then moves ``pending → done`` once, so a redelivered job rewrites the
same file and changes nothing else.
"""

from __future__ import annotations

import csv
import io
import json
import secrets
import tempfile
from collections.abc import Iterator, Sequence
from datetime import datetime
from itertools import islice
from typing import Any

from lisoloo.entities import MessageRecord
from lisoloo.errors import ExportNotFoundError
from lisoloo.export_files import ExportFiles
from lisoloo.finding_entities import ExportRecord
from lisoloo.finding_models import ExportAccepted, ExportJob, ExportRequest, ExportStatus
from lisoloo.models import format_timestamp
from lisoloo.pricing import Price, amount_text
from lisoloo.queues import JobQueue
from lisoloo.settling import recipient_cost
from lisoloo.status import unclaimed_status
from lisoloo.storage import SmsRepository, keys
from lisoloo.storage.message_index import months_between
from lisoloo.storage.table import timestamp

COLUMNS = ("message_id", "reference", "to", "status", "error_code", "segments", "cost", "created_at", "updated_at")
CONTENT_TYPES = {"csv": "text/csv", "jsonl": "application/x-ndjson"}
_EXPORT_ID_LENGTH = 20  # "exp_" and 16 hex


def request_export(
    repository: SmsRepository, queue: JobQueue, org_id: str, request: ExportRequest, now: datetime
) -> ExportAccepted:
    export = ExportRecord(
        org_id=org_id,
        export_id=f"exp_{secrets.token_hex(8)}",
        created_after=request.created_after,
        created_before=request.created_before,
        format=request.format,
        status="pending",
        created_at=now,
    )
    repository.exports.create(export)
    queue.enqueue([ExportJob(org_id=org_id, export_id=export.export_id)])
    return ExportAccepted(export_id=export.export_id)


def read_export(repository: SmsRepository, files: ExportFiles, org_id: str, export_id: str) -> ExportStatus:
    valid = len(export_id) == _EXPORT_ID_LENGTH and export_id.startswith("exp_")
    export = repository.exports.get(org_id, export_id) if valid else None
    if export is None:
        raise ExportNotFoundError()
    done = export.status == "done" and export.file_key is not None
    return ExportStatus(
        export_id=export.export_id,
        status=export.status,
        format=export.format,
        rows=export.rows,
        url=files.link(export.file_key) if done and export.file_key else None,
    )


def write_export(repository: SmsRepository, files: ExportFiles, job: ExportJob, now: datetime) -> int | None:
    """The export's file, written and recorded; its row count (None: no such export, or done)."""
    export = repository.exports.get(job.org_id, job.export_id)
    if export is None or export.status != "pending":
        return None
    file_key = f"{export.org_id}/{export.export_id}.{export.format}"
    with tempfile.TemporaryFile() as spool:
        text = io.TextIOWrapper(spool, encoding="utf-8", newline="")
        count = _write_rows(text, export.format, export_rows(repository, export))
        text.flush()
        text.detach()  # the spool stays open for the upload
        spool.seek(0)
        files.upload(file_key, spool, CONTENT_TYPES[export.format])
    repository.exports.finish(export.org_id, export.export_id, rows=count, file_key=file_key, now=now)
    return count


def _write_rows(out: io.TextIOWrapper, file_format: str, rows: Iterator[dict[str, Any]]) -> int:
    count = 0
    if file_format == "csv":
        writer = csv.DictWriter(out, fieldnames=COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow(row)
            count += 1
    else:
        for row in rows:
            out.write(json.dumps(row, separators=(",", ":")) + "\n")
            count += 1
    return count


def export_rows(repository: SmsRepository, export: ExportRecord) -> Iterator[dict[str, Any]]:
    """One row per recipient of each message created in the range, newest message first."""
    months = months_between(export.created_after, export.created_before)
    positions = repository.message_index.listed(
        export.org_id, months, timestamp(export.created_after), timestamp(export.created_before), page_size=100
    )
    high = timestamp(export.created_before)
    positions = (position for position in positions if position < high)
    prices = repository.prices.all()
    while batch := list(islice(positions, 100)):
        message_ids = [keys.message_of_find_sk(position) for position in batch]
        messages = repository.messages.get_many(export.org_id, message_ids)
        for message_id in message_ids:
            if message_id in messages:
                yield from _message_rows(repository, messages[message_id], prices)


def _message_rows(
    repository: SmsRepository, message: MessageRecord, prices: Sequence[Price]
) -> Iterator[dict[str, Any]]:
    numbers, rows = repository.recipients.read_all(message.org_id, message.message_id)
    for index, number in enumerate(numbers):
        row = rows.get(index)
        yield {
            "message_id": message.message_id,
            "reference": message.reference,
            "to": number,
            "status": (row.status if row else unclaimed_status(message.released)).value,
            "error_code": row.error_code if row else None,
            "segments": message.segments,
            # What the recipient costs if a carrier took it, at today's prices (DESIGN §10).
            "cost": amount_text(recipient_cost(prices, number, row, message.segments)),
            "created_at": format_timestamp(message.created_at),
            "updated_at": format_timestamp(row.updated_at if row else message.created_at),
        }
