"""What GET /messages asks for and which messages answer it (pure: no I/O; DESIGN §11).

A page walks an index newest first and keeps the messages every filter accepts. Its cursor is
the index position (``{created_at}#{message_id}``) of the last message the page looked at,
encoded so it reads as one opaque token: the next page starts strictly below it. A position
never moves, so however many messages arrive meanwhile (they sort above the first page), no
message listed when a walk began is skipped or shown twice.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from lisoloo.entities import MessageRecord
from lisoloo.errors import InvalidCursorError
from lisoloo.status import SmsStatus, aggregate_status

CURSOR_RULE = "must be the cursor of an earlier page of GET /messages"
MAX_CURSOR_LENGTH = 200


@dataclass(frozen=True, slots=True)
class MessageQuery:
    """The filters of one GET /messages request; ``recipient`` already in E.164."""

    status: SmsStatus | None = None
    created_after: datetime | None = None  # inclusive
    created_before: datetime | None = None  # exclusive, so consecutive ranges tile
    reference: str | None = None
    sender_id: str | None = None
    recipient: str | None = None
    limit: int = 50

    def matches(self, message: MessageRecord) -> bool:
        """Whether ``message`` answers every filter (the index walked already holds only the
        messages of its own key: a number, a reference, or the organization)."""
        if self.status is not None and aggregate_status(message.progress) is not self.status:
            return False
        if self.reference is not None and message.reference != self.reference:
            return False
        if self.sender_id is not None and message.sender_id != self.sender_id:
            return False
        if self.created_after is not None and message.created_at < self.created_after:
            return False
        return self.created_before is None or message.created_at < self.created_before

    @property
    def filters_beyond_index(self) -> bool:
        """Whether a page may have to skip entries of the index it walks (so reads more of them)."""
        return (
            self.status is not None
            or self.sender_id is not None
            or (self.recipient is not None and self.reference is not None)
        )


def encode_cursor(position: str) -> str:
    return base64.urlsafe_b64encode(position.encode()).decode().rstrip("=")


def decode_cursor(
    cursor: str, is_position: Callable[[str], bool], parameter: str = "cursor", rule: str = CURSOR_RULE
) -> str:
    """The position a cursor names; InvalidCursorError for anything a page did not give out.
    ``is_position`` checks the decoded text (``storage.keys.is_find_sk``)."""
    if len(cursor) > MAX_CURSOR_LENGTH or not cursor.isascii():
        raise InvalidCursorError(parameter, rule)
    try:
        position = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, ValueError):
        raise InvalidCursorError(parameter, rule) from None
    if not is_position(position):
        raise InvalidCursorError(parameter, rule)
    return position
