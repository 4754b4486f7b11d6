"""The table stream's records told apart by the kind of item they changed, so each is read by
its own kind's decoder (``message_change``, ``account_change``, ``stored_inbound``,
``used_link``) and no other."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lisoloo.storage.accounts import is_account_item

# An account item carries no ``kind`` attribute: it is told by its key.
ACCOUNT_KIND = "account"


def changed_kind(stream_record: Mapping[str, Any]) -> str | None:
    """The kind of item a stream record (``eventName`` and ``dynamodb``) left behind: its
    ``kind`` attribute (``message``, ``inbound``, ``optout``), or ``account``; None when the
    change removed the item or the item has no kind."""
    image = stream_record.get("dynamodb", {}).get("NewImage") or {}
    kind = image.get("kind", {}).get("S")
    if kind is None and is_account_item(image):
        return ACCOUNT_KIND
    return kind if isinstance(kind, str) else None
