"""GET /status/{message_id}: the aggregate, the counters and one page of recipients."""

from __future__ import annotations

from lisoloo.entities import MessageRecord, RecipientRecord
from lisoloo.errors import ErrorCode, InvalidCursorError, MessageNotFoundError
from lisoloo.identifiers import is_message_id
from lisoloo.models import MessageStatus, RecipientState
from lisoloo.status import SmsStatus, unclaimed_status
from lisoloo.storage import SmsRepository


def parse_cursor(cursor: str | None) -> int:
    """The position a ``recipients_cursor`` names. Any position is a page: at or past the end
    (an offset stepped past the last page) an empty one with no next cursor, as a list sliced
    past its end is empty."""
    if cursor is None:
        return 0
    # ASCII digits only: str.isdigit() also admits '²' and other digits int() refuses.
    if not (cursor.isascii() and cursor.isdigit()) or len(cursor) > 5:
        raise InvalidCursorError()
    return int(cursor)


def read_message_status(
    repository: SmsRepository, org_id: str, message_id: str, *, limit: int, cursor: str | None, currency: str
) -> MessageStatus:
    # Malformed, unknown and other-tenant ids all end here with the same error and bytes.
    if not is_message_id(message_id):
        raise MessageNotFoundError()
    start = parse_cursor(cursor)
    page = repository.messages.read_status_page(org_id, message_id, start, limit)
    if page is None:
        raise MessageNotFoundError()
    message = page.message
    return MessageStatus.of(
        message,
        currency,
        recipients=[
            recipient_state(number, page.rows.get(index), message)
            for index, number in enumerate(page.numbers, start=page.start)
        ],
        recipients_cursor=str(page.next_index) if page.next_index is not None else None,
    )


def recipient_state(number: str, row: RecipientRecord | None, message: MessageRecord) -> RecipientState:
    """A recipient as the merchant sees it: its row once dispatch has claimed it, before that
    ``pending`` (or ``scheduled``) since the message's creation."""
    if row is None and message.progress.all_terminal:
        # Failed whole without a row: a scheduled occurrence refused at release (1420).
        code = message.failure_code
        return RecipientState(
            to=number,
            status=SmsStatus.FAILED,
            error_code=code,
            error_message=ErrorCode(code).name if code is not None and code in set(ErrorCode) else None,
            updated_at=message.updated_at,
        )
    if row is None:
        return RecipientState(to=number, status=unclaimed_status(message.released), updated_at=message.created_at)
    return RecipientState(
        to=number,
        status=row.status,
        error_code=row.error_code,
        error_message=row.error_message,
        updated_at=row.updated_at,
    )
