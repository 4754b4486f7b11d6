"""``LISOLOO_LOCAL_STATE=DIR``: the local stack's durable state kept across restarts.

What is kept is what AWS keeps: the items of the template's DynamoDB tables (organizations,
key and token hashes, messages, recipients, schedules, idempotency records), read with Scan at
a clean stop and written back with BatchWriteItem at the next start, before the gateway or
any poller runs; plus what only this machine knows: the demo tenants' plain keys, token and
secret (the table holds their hashes only) and the webhook inspector's port (webhook URLs in
the table name it). Through the AWS APIs, not moto's Python objects: those change shape
between moto versions, the API does not.

Not kept, on purpose: queued jobs, the sandbox's pending receipts, the inspector's log. A
dispatch job lost this way is re-queued by the sweep (a released message that never started
is due again); a receipt or webhook delivery lost this way is not redone (the recipient ends
``failed`` 1503 at its delivery deadline). The file is written whole to a temporary name and
renamed, so a stack killed mid-save keeps the previous state.
"""

from __future__ import annotations

import base64
import json
import logging
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from local.bootstrap import DemoTenants

logger = logging.getLogger("local.state")

STATE_FILE = "state.json"
# Bumped when the file's shape changes; an unknown version is refused, never overwritten.
FORMAT = 1
_BATCH = 25  # BatchWriteItem's limit


class UnreadableStateError(RuntimeError):
    pass


@dataclass(frozen=True)
class SavedState:
    demo: DemoTenants
    inspector_port: int
    # Items per table logical id, in DynamoDB's attribute-value form.
    tables: Mapping[str, list[dict[str, Any]]]

    @property
    def item_count(self) -> int:
        return sum(len(items) for items in self.tables.values())


def load_state(directory: Path) -> SavedState | None:
    """The state saved in ``directory``; None when there is none yet (a first start)."""
    path = directory / STATE_FILE
    if not path.exists():
        return None
    try:
        document = json.loads(path.read_text())
        if document.get("format") != FORMAT:
            raise ValueError(f"format {document.get('format')!r}, this stack reads {FORMAT}")
        return SavedState(
            demo=DemoTenants(**document["demo"]),
            inspector_port=int(document["inspector_port"]),
            tables={logical_id: [_decode(item) for item in items] for logical_id, items in document["tables"].items()},
        )
    except (OSError, ValueError, KeyError, TypeError) as error:
        # Starting empty would overwrite it at the next stop: refuse instead, and say where.
        raise UnreadableStateError(f"{path} cannot be read ({error}); move it away to start afresh") from error


def save_state(directory: Path, state: SavedState) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    document = {
        "format": FORMAT,
        "saved_at": datetime.now(UTC).isoformat(),
        "demo": asdict(state.demo),
        "inspector_port": state.inspector_port,
        "tables": {logical_id: [_encode(item) for item in items] for logical_id, items in sorted(state.tables.items())},
    }
    temporary = directory / f".{STATE_FILE}.{os.getpid()}"
    with temporary.open("w") as file:
        json.dump(document, file)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, directory / STATE_FILE)


def scan_tables(client: Any, tables: Mapping[str, str]) -> dict[str, list[dict[str, Any]]]:
    """Every item of each table (logical id → physical name), read consistently."""
    scanned: dict[str, list[dict[str, Any]]] = {}
    for logical_id, table_name in tables.items():
        items: list[dict[str, Any]] = []
        for page in client.get_paginator("scan").paginate(TableName=table_name, ConsistentRead=True):
            items.extend(page["Items"])
        scanned[logical_id] = items
    return scanned


def restore_tables(client: Any, tables: Mapping[str, str], saved: Mapping[str, list[dict[str, Any]]]) -> None:
    for logical_id, items in saved.items():
        table_name = tables.get(logical_id)
        if table_name is None:
            logger.warning("the saved state has a table %s the template no longer declares; skipped", logical_id)
            continue
        for start in range(0, len(items), _BATCH):
            requests: dict[str, Any] = {
                table_name: [{"PutRequest": {"Item": item}} for item in items[start : start + _BATCH]]
            }
            while requests:
                requests = client.batch_write_item(RequestItems=requests).get("UnprocessedItems") or {}


# JSON has no bytes: binary attribute values (B, BS, and inside M and L) travel as base64 text.


def _encode(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _encode_value(value) for name, value in item.items()}


def _decode(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _decode_value(value) for name, value in item.items()}


def _encode_value(value: Mapping[str, Any]) -> dict[str, Any]:
    ((tag, content),) = value.items()
    if tag == "B":
        return {tag: base64.b64encode(content).decode()}
    if tag == "BS":
        return {tag: [base64.b64encode(member).decode() for member in content]}
    if tag == "M":
        return {tag: _encode(content)}
    if tag == "L":
        return {tag: [_encode_value(member) for member in content]}
    return dict(value)


def _decode_value(value: Mapping[str, Any]) -> dict[str, Any]:
    ((tag, content),) = value.items()
    if tag == "B":
        return {tag: base64.b64decode(content)}
    if tag == "BS":
        return {tag: [base64.b64decode(member) for member in content]}
    if tag == "M":
        return {tag: _decode(content)}
    if tag == "L":
        return {tag: [_decode_value(member) for member in content]}
    return dict(value)
